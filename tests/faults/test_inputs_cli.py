"""Bad command-line input exits 2 with a one-line message naming the cause (the real CLI)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from _processes import run_cairn

TESTS = Path(__file__).resolve().parent.parent


def cairn_cli(workspace: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PYTHONPATH": str(TESTS), "CAIRN_WORKSPACE": workspace, "CAIRN_CONFIG": None}
    return run_cairn(*args, cwd=cwd, env=env)


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """A workspace with cli_pipeline:Load built once, and its ``status`` output."""
    base = tmp_path_factory.mktemp("cli")
    ws = str(base / "ws")
    done = cairn_cli(ws, base, "run", "cli_pipeline:Load")
    assert done.returncode == 0, done.stderr
    return ws, base


def _still_complete(ws: str, cwd: Path) -> None:
    again = cairn_cli(ws, cwd, "run", "cli_pipeline:Load")
    assert again.returncode == 0, again.stderr
    assert "all 1 task(s) reused in " in again.stdout  # nothing ran: the store is intact


@pytest.mark.parametrize("name", ["g.html", "g.dot", "g.mmd"])
def test_graph_output_in_a_missing_directory_is_bad_input(stored, name):
    ws, base = stored
    target = base / "no-such-dir" / "deeper" / name
    result = cairn_cli(ws, base, "graph", "cli_pipeline:Load", "-o", str(target))
    assert result.returncode == 2, result.stderr
    assert "cannot write the picture" in result.stderr
    assert "No such file or directory" in result.stderr
    assert "unexpected" not in result.stderr and "Traceback" not in result.stderr
    assert not target.exists()
    _still_complete(ws, base)


@pytest.mark.parametrize(
    "content",
    [b"\xff\xfe\x00\x01binary", b"\x89PNG\r\n\x1a\n\x00\x00", bytes(range(128, 256))],
)
@pytest.mark.parametrize("command", ["run", "plan", "status"])
def test_a_binary_config_file_is_bad_input(stored, tmp_path, content, command):
    ws, base = stored
    config = tmp_path / "cairn.toml"
    config.write_bytes(content)
    result = cairn_cli(ws, base, "--config", str(config), command, "cli_pipeline:Load")
    assert result.returncode == 2, result.stderr
    assert "not a text file" in result.stderr
    assert "unexpected" not in result.stderr and "Traceback" not in result.stderr
    _still_complete(ws, base)


@pytest.mark.parametrize("command", ["ls", "status", "plan", "run"])
def test_a_workspace_that_is_a_file_is_bad_input(stored, tmp_path, command):
    ws, base = stored
    afile = tmp_path / "hostname"
    afile.write_text("not a workspace\n")
    args = [command] if command == "ls" else [command, "cli_pipeline:Load"]
    result = cairn_cli(ws, base, *args, "-w", str(afile))
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "is a file, not a directory" in result.stderr
    assert "task(s)" not in result.stdout
    assert afile.read_text() == "not a workspace\n"
    _still_complete(ws, base)
