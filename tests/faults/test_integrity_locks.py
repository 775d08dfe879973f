"""Lock keys follow the workspace's real path; the file lock's folder cannot be planted."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

import cairn

SCRIPT = textwrap.dedent(
    """
    import os, sys, time
    import cairn

    class Slow(cairn.Task):
        i = cairn.IntParameter()

        def run(self):
            with open(os.environ["RUN_LOG"], "a") as log:
                log.write(f"{self.i}\\n")
            time.sleep(0.02)
            return self.i

    class Root(cairn.Task):
        def requires(self):
            return [Slow(i=i) for i in range(24)]

        def run(self):
            return sum(self.load())

    if __name__ == "__main__":
        print(cairn.build(Root(), workspace=sys.argv[1], lock="file"))
    """
)


def test_runners_through_a_symlinked_workspace_share_the_file_lock(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    script = tmp_path / "runner.py"
    script.write_text(SCRIPT)
    log = tmp_path / "runs.log"
    env = {**os.environ, "RUN_LOG": str(log), "TMPDIR": str(tmp_path / "tmp")}
    (tmp_path / "tmp").mkdir()
    runners = [
        subprocess.Popen(
            [sys.executable, str(script), str(real if n % 2 else link)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        for n in range(4)
    ]
    outs = [r.communicate(timeout=240) for r in runners]
    for runner, (out, err) in zip(runners, outs, strict=True):
        assert runner.returncode == 0, err
        assert out.strip() == str(sum(range(24)))
    ran = log.read_text().split()
    assert sorted(ran, key=int) == [str(i) for i in range(24)], "a task ran twice"


@pytest.mark.parametrize("plant", ["symlink", "file", "world_writable"])
def test_a_planted_lock_folder_is_refused(workspace, tmp_path, monkeypatch, plant):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    target = tmp_path / f"cairn-{os.getuid()}"
    elsewhere = tmp_path / "attacker"
    elsewhere.mkdir()
    if plant == "symlink":
        target.symlink_to(elsewhere, target_is_directory=True)
    elif plant == "file":
        target.write_text("")
    else:
        target.mkdir()
        target.chmod(0o777)

    class Once(cairn.Task):
        def run(self):
            return "v"

    with pytest.raises(cairn.LockError, match="lock folder") as caught:
        cairn.build(Once(), lock="file")
    assert str(target) in str(caught.value)
    assert list(elsewhere.iterdir()) == []
    assert cairn.build(Once()) == "v"  # nothing stored was lost, and no lock still works


def test_the_lock_folder_is_private(workspace, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    class Twice(cairn.Task):
        def run(self):
            return 2

    assert cairn.build(Twice(), lock="file") == 2
    folder = Path(tmp_path / f"cairn-{os.getuid()}")
    assert folder.is_dir() and not folder.is_symlink()
    assert folder.stat().st_mode & 0o777 == 0o700
