"""Every entry point resolves its settings the same way, seen through what it does.

For the same environment variables and the same configuration file, ``cairn.build``,
``Pipeline.run`` and ``cairn run`` (in a child process) run on the same executor (the thread
a task ran on), write to the same workspace (where the records are) and take the same lock
(lock files appearing, a held lock seen by ``status``); ``cairn.plan``, ``Pipeline.plan``,
``Task.from_id``, ``status``, ``show``, ``ls``, ``gc``, ``graph``, ``verify`` and the same
commands of the command line read that workspace.

Precedence: explicit argument > ``CAIRN_*`` environment > configuration file (``$CAIRN_CONFIG``,
else ``cairn.toml``) > default.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

import cairn
from _parity_tasks import PIPELINE, Holds, Top, Where
from _processes import run_cairn

TESTS = Path(__file__).resolve().parent
#: Every workspace a scenario may resolve to.
CANDIDATES = ("ws_file", "ws_env", "ws_named", "workspace", "ws_given")
SETTINGS_ENV = ("CAIRN_CONFIG", "CAIRN_WORKSPACE", "CAIRN_EXECUTOR", "CAIRN_WORKERS", "CAIRN_LOCK")


def toml(workspace: str, executor: str, lock: str | bool) -> str:
    lock_text = json.dumps(lock) if isinstance(lock, str) else str(lock).lower()
    return f'workspace = "{workspace}"\nexecutor = "{executor}"\nlock = {lock_text}\n'


@dataclass(frozen=True)
class Scenario:
    """Files and environment variables, and the settings they must resolve to."""

    files: dict[str, str]
    env: dict[str, str]
    workspace: str  # relative to the project
    threads: bool  # tasks run on a worker thread (executor "threads"), not the main thread
    locked: bool  # a file lock is taken


SCENARIOS = {
    "cairn.toml": Scenario(
        {"cairn.toml": toml("ws_file", "threads", "file")}, {}, "ws_file", True, True
    ),
    "environment over cairn.toml": Scenario(
        {"cairn.toml": toml("ws_file", "threads", "file")},
        {"CAIRN_WORKSPACE": "ws_env", "CAIRN_EXECUTOR": "inline", "CAIRN_LOCK": "none"},
        "ws_env",
        False,
        False,
    ),
    "environment over defaults": Scenario(
        {},
        {"CAIRN_WORKSPACE": "ws_env", "CAIRN_EXECUTOR": "threads", "CAIRN_LOCK": "file"},
        "ws_env",
        True,
        True,
    ),
    "CAIRN_CONFIG over cairn.toml": Scenario(
        {
            "cairn.toml": toml("ws_file", "inline", False),
            "conf/other.toml": toml("ws_named", "threads", "file"),
        },
        {"CAIRN_CONFIG": "conf/other.toml"},
        "ws_named",
        True,
        True,
    ),
    "defaults": Scenario({}, {}, "workspace", False, False),
}


class Project:
    """A working directory set up for one scenario, in this process and for child ones."""

    def __init__(self, root: Path, scenario: Scenario, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = root
        self.scenario = scenario
        self.tmp = root / "tmp"  # lock files go here (the system temp directory)
        self.tmp.mkdir()
        for name in SETTINGS_ENV:
            monkeypatch.delenv(name, raising=False)
        for name, text in scenario.files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text)
        for name, value in scenario.env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.chdir(root)
        monkeypatch.setattr(tempfile, "tempdir", str(self.tmp))

    @property
    def workspace(self) -> Path:
        return self.root / self.scenario.workspace

    def child_env(self) -> dict[str, str | None]:
        env: dict[str, str | None] = dict.fromkeys(SETTINGS_ENV)
        env.update(self.scenario.env)
        env.update({"PYTHONPATH": str(TESTS), "TMPDIR": str(self.tmp), "COLUMNS": "200"})
        return env

    def cairn(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = run_cairn(*args, cwd=self.root, env=self.child_env())
        assert result.returncode == 0, result.stdout + result.stderr
        return result

    def lock_files(self) -> list[Path]:
        return list(self.tmp.rglob("*.lock"))

    def workspaces(self) -> set[str]:
        """The candidate workspaces that hold run records."""
        return {n for n in CANDIDATES if any((self.root / n).rglob("Where_*.json"))}

    def check_ran_here(self, result: dict[str, object], *, pid: int | None = None) -> None:
        """A task's output says it ran on the executor, in the workspace, under the lock
        that the scenario resolves to."""
        if pid is not None:
            assert result["pid"] == pid
        on_worker = result["thread"] != "MainThread"
        assert on_worker == self.scenario.threads, result
        assert self.workspaces() == {self.scenario.workspace}
        assert bool(self.lock_files()) == self.scenario.locked


@pytest.fixture(params=list(SCENARIOS), ids=list(SCENARIOS))
def project(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    return Project(tmp_path, SCENARIOS[request.param], monkeypatch)


# --- the entry points that build ----------------------------------------------------------
def test_build_runs_with_the_resolved_executor_workspace_and_lock(project):
    project.check_ran_here(cairn.build(Where(), progress=False), pid=os.getpid())


def test_pipeline_run_runs_with_the_resolved_executor_workspace_and_lock(project):
    out = PIPELINE.run(progress=False)["where"]
    assert out["tag"] == "pipe" and out["pid"] == os.getpid()
    assert (out["thread"] != "MainThread") == project.scenario.threads
    assert bool(project.lock_files()) == project.scenario.locked
    assert list(project.workspace.rglob("*.json")), "the pipeline's records are elsewhere"
    others = set(CANDIDATES) - {project.scenario.workspace}
    assert not any((project.root / name).exists() for name in others)


def test_cli_run_runs_with_the_resolved_executor_workspace_and_lock(project):
    shown = project.cairn("run", "_parity_tasks:Where").stdout
    assert str(project.workspace) in shown
    # the output the command line made is in the workspace this process resolves to too:
    # built again here it is reused, so it still says the child process made it
    made = cairn.build(Where(), executor="inline", lock=False, progress=False)
    assert made["pid"] != os.getpid()
    project.check_ran_here(made)


# --- the entry points that read -----------------------------------------------------------
def test_every_python_reader_reads_the_workspace_the_build_wrote(project):
    cairn.build(Top(), progress=False)
    PIPELINE.run(progress=False)
    top, where = Top(), Where()
    assert [(e.task, e.will_run) for e in cairn.plan(top)] == [(top, False)]
    assert [e.will_run for e in PIPELINE.plan()] == [False]
    assert cairn.Task.from_id(top.task_id) == top
    assert Where.from_id(where.task_id) == where
    status = cairn.status(top)
    assert [e.state for e in status] == ["complete", "complete"]
    assert cairn.show(where.task_id)["task_id"] == where.task_id
    listing = cairn.ls()
    assert {top.task_id, where.task_id} <= {e.task_id for e in listing}
    verified = cairn.verify()
    assert verified.clean and verified.checked == len(listing) == 3
    gc = cairn.gc(top, dry_run=True)
    assert gc.kept_tasks == 2 and len(gc) > 0  # the pipeline's outputs are not needed by top
    assert [n.state for n in cairn.graph(top).nodes] == ["complete", "complete"]
    for result in (status, listing, verified, gc):
        assert Path(result.workspace).resolve() == project.workspace.resolve()


def test_every_cli_reader_reads_the_workspace_the_build_wrote(project):
    cairn.build(Top(), progress=False)
    top, where = Top(), Where()
    target = "_parity_tasks:Top"
    plan = project.cairn("plan", target).stdout
    assert "complete  Top(tag='a')" in plan and "nothing will run" in plan
    status = project.cairn("status", target).stdout
    assert "2 task(s): 2 complete" in status
    assert where.task_id in project.cairn("show", where.task_id, "--json").stdout
    listing = project.cairn("ls", "--json").stdout
    assert {json.loads(line)["task_id"] for line in listing.splitlines()} == {
        top.task_id,
        where.task_id,
    }
    verified = project.cairn("verify").stdout
    assert f"checked 2 run record(s) in {project.workspace}" in verified and "clean" in verified
    gc = project.cairn("gc", target, "--dry-run").stdout
    assert "would delete 0 file(s)" in gc and "kept 2 task(s)" in gc
    graph = project.cairn("graph", target, "-f", "mermaid").stdout
    assert "class t0 complete" in graph and "class t1 complete" in graph


# --- the lock, seen by status while another process holds it ------------------------------
def test_status_sees_a_task_held_by_a_running_build_exactly_when_a_lock_is_configured(
    project,
):
    flags = project.root / "flags"
    flags.mkdir()
    child = subprocess.Popen(
        [sys.executable, "-m", "cairn", "run", "_parity_tasks:Holds", "--flags", str(flags)],
        cwd=project.root,
        env={k: v for k, v in {**os.environ, **project.child_env()}.items() if v is not None},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not (flags / "started").exists():
            assert child.poll() is None, child.communicate()[0]
            assert time.monotonic() < deadline, "the child build never started its task"
            time.sleep(0.02)
        held = Holds(flags=str(flags))
        expected = "running elsewhere" if project.scenario.locked else "will run"
        assert cairn.status(held)[held].state == expected
        shown = project.cairn("status", "_parity_tasks:Holds", "--flags", str(flags)).stdout
        assert (expected in shown) and (project.scenario.locked or "elsewhere" not in shown)
    finally:
        (flags / "release").touch()
        output = child.communicate(timeout=60)[0]
    assert child.returncode == 0, output


# --- explicit arguments win over everything -----------------------------------------------
def test_explicit_arguments_win_over_environment_and_file_at_every_entry_point(project):
    explicit = project.root / "explicit"
    options = {"workspace": str(explicit), "executor": "inline", "lock": False}
    made = cairn.build(Where(tag="x"), progress=False, **options)
    assert made["thread"] == "MainThread"
    out = PIPELINE.run(progress=False, **options)["where"]
    assert out["thread"] == "MainThread"
    shown = project.cairn(
        "run",
        "_parity_tasks:Top",
        "--tag",
        "x",
        "-w",
        str(explicit),
        "-e",
        "inline",
        "--lock",
        "none",
    ).stdout
    assert str(explicit) in shown
    assert not project.lock_files()
    assert not cairn.plan(Top(tag="x"), workspace=str(explicit)).to_run
    assert cairn.Task.from_id(Top(tag="x").task_id, workspace=str(explicit)) == Top(tag="x")
    assert len(cairn.ls(workspace=str(explicit))) == 3


def test_a_settings_error_from_the_environment_is_reported_by_every_entry_point(project):
    bad = {"CAIRN_WORKERS": "many"}
    for name, value in bad.items():
        os.environ[name] = value
    try:
        for call in (
            lambda: cairn.build(Where(), progress=False),
            lambda: PIPELINE.run(progress=False),
        ):
            with pytest.raises(cairn.ConfigError, match="CAIRN_WORKERS must be a positive integer"):
                call()
    finally:
        for name in bad:
            del os.environ[name]
    result = run_cairn(
        "run", "_parity_tasks:Where", cwd=project.root, env={**project.child_env(), **bad}
    )
    assert result.returncode == 2 and "CAIRN_WORKERS must be a positive integer" in result.stderr


def test_a_configuration_passed_as_a_path_is_read_as_the_command_line_reads_config(project):
    (project.root / "given.toml").write_text(toml("ws_given", "threads", "file"))
    env = project.scenario.env  # the environment still wins over the file given
    workspace = env.get("CAIRN_WORKSPACE", "ws_given")
    threads = env.get("CAIRN_EXECUTOR", "threads") == "threads"
    made = cairn.build(Where(tag="g"), config="given.toml", progress=False)
    assert (made["thread"] != "MainThread") == threads
    assert list((project.root / workspace).rglob("Where_*.json"))
    shown = project.cairn("--config", "given.toml", "run", "_parity_tasks:Where", "--tag", "g2")
    assert f"(workspace {project.root / workspace})" in shown.stdout
    assert Where.from_id(Where(tag="g2").task_id, config="given.toml") == Where(tag="g2")


# --- the fingerprint settings follow the same file ------------------------------------------
def test_the_config_option_sets_fingerprint_settings_as_cairn_config_does(tmp_path):
    """``fingerprint = false`` (ids from parameters only) in the file ``--config`` names
    changes ids exactly as naming it with ``CAIRN_CONFIG`` does."""
    (tmp_path / "conf.toml").write_text("fingerprint = false\n")
    env: dict[str, str | None] = dict.fromkeys((*SETTINGS_ENV, "CAIRN_FINGERPRINT"))
    env.update({"PYTHONPATH": str(TESTS), "CAIRN_WORKSPACE": str(tmp_path / "ws")})

    def task_id(*args: str, **more: str) -> str:
        result = run_cairn(*args, "status", "_parity_tasks:Where", cwd=tmp_path, env=env | more)
        assert result.returncode == 0, result.stderr
        return re.search(r"Where\(tag='a'\)\s+#([0-9a-f]{8})", result.stdout)[1]

    by_option = task_id("--config", "conf.toml")
    assert by_option == task_id(CAIRN_CONFIG="conf.toml")
    assert by_option != task_id()


# --- storage options from the file ----------------------------------------------------------
def test_storage_options_from_the_file_reach_every_entry_point(tmp_path, monkeypatch):
    """The workspace is a store that opens only with the token the file gives."""
    workspace = f"cairn-test-token://parity-{uuid.uuid4().hex[:8]}"
    (tmp_path / "cairn.toml").write_text(
        f'workspace = "{workspace}"\n[storage_options]\ntoken = "from-config"\n'
    )
    for name in SETTINGS_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    top, where = Top(tag="s"), Where(tag="s")
    assert cairn.build(top, progress=False)["below"]["pid"] == os.getpid()
    assert PIPELINE.run(progress=False)["where"]["tag"] == "pipe"
    assert not cairn.plan(top).to_run and not PIPELINE.plan().to_run
    assert cairn.Task.from_id(top.task_id) == top
    assert [e.state for e in cairn.status(top)] == ["complete", "complete"]
    assert cairn.show(where.task_id)["task_id"] == where.task_id
    assert len(cairn.ls()) == 3 and cairn.verify().clean
    assert cairn.gc(top, dry_run=True).workspace == workspace
    assert cairn.graph(top).nodes[0].state == "complete"
    with pytest.raises(cairn.StoreError, match="refused"):  # the argument wins over the file
        cairn.plan(top, storage_options={"token": "wrong"})
    env = {**dict.fromkeys(SETTINGS_ENV), "PYTHONPATH": str(TESTS)}
    ran = run_cairn("run", "_parity_tasks:Top", cwd=tmp_path, env=env)  # its own memory
    assert ran.returncode == 0 and f"(workspace {workspace})" in ran.stdout, ran.stderr
    status = run_cairn("status", "_parity_tasks:Top", cwd=tmp_path, env=env)
    assert status.returncode == 0 and "2 task(s): 2 will run" in status.stdout, status.stderr
