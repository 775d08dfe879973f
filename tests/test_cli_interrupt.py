"""Ctrl-C in the real `cairn run`: the first says at once that no new task starts and that
running tasks are awaited; the second stops them and exits now; the exit code is 130."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

PIPELINE = """
import os
import time

import cairn


class Sleepy(cairn.Task):
    n = cairn.IntParameter(default=0)

    def run(self):
        open(f"started-{self.n}", "w").close()
        time.sleep(60)
        return self.n
"""


def wait_for(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_two_ctrl_c_say_what_happens_then_exit_130_at_once(tmp_path: Path) -> None:
    (tmp_path / "sleepy.py").write_text(PIPELINE)
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "CAIRN_WORKSPACE": str(tmp_path / "ws")}
    err = open(tmp_path / "stderr.txt", "w")
    out = open(tmp_path / "stdout.txt", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "cairn", "run", "sleepy:Sleepy", "-e", "threads"],
        cwd=tmp_path,
        env=env,
        stdout=out,
        stderr=err,
    )
    try:
        wait_for((tmp_path / "started-0").exists)
        proc.send_signal(signal.SIGINT)
        said = tmp_path / "stdout.txt"
        wait_for(lambda: "no new task starts; waiting for 1 running" in said.read_text(), 5)
        assert proc.poll() is None  # waiting for the running task
        first = time.monotonic()
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=10)
        assert time.monotonic() - first < 10  # not the 60 s the task sleeps
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        err.close()
        out.close()
    assert code == 130
    assert "stopping 1 running task(s)" in (tmp_path / "stdout.txt").read_text()
    assert "interrupted" in (tmp_path / "stderr.txt").read_text()
