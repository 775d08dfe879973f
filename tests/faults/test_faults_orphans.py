"""The process executor's workers end with the build that started them: a parent killed
with SIGKILL (it can run no cleanup) leaves no worker running a task, or idle, behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

PIPELINE = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    import cairn

    class Sleeps(cairn.Task):
        n = cairn.IntParameter()

        def run(self):
            Path(sys.argv[2], f"{os.getpid()}.started").write_text(str(self.n))
            time.sleep(120)
            return self.n

    if __name__ == "__main__":
        cairn.build([Sleeps(n=i) for i in range(2)], workspace=sys.argv[1],
                    executor="processes", workers=3, progress=False)
    """
)


def _marked(mark: str) -> list[int]:
    """Pids of live processes whose environment carries ``mark`` (the build and its
    children: forkserver, workers, resource tracker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if f"CAIRN_ORPHAN_MARK={mark}".encode() in environ.split(b"\0") and state != "Z":
            found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc (Linux)")
@pytest.mark.parametrize("round_", range(8))
def test_killing_the_parent_ends_every_worker(tmp_path, round_):
    script = tmp_path / "orphans.py"
    script.write_text(PIPELINE)
    started = tmp_path / "started"
    started.mkdir()
    mark = uuid.uuid4().hex
    env = {**os.environ, "CAIRN_ORPHAN_MARK": mark}
    parent = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "ws"), str(started)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while len(list(started.iterdir())) < 2:
            assert time.monotonic() < deadline, "the tasks did not start"
            assert parent.poll() is None, "the build ended early"
            time.sleep(0.05)
        workers = [int(p.name.partition(".")[0]) for p in started.iterdir()]
        before = set(_marked(mark)) - {parent.pid}
        assert set(workers) <= before
        assert len(before) >= 4  # two busy workers, one idle, forkserver (and more)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=30)
        deadline = time.monotonic() + 20
        while _marked(mark) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = _marked(mark)
        assert left == [], f"processes left running after the parent died: {left}"
    finally:
        if parent.poll() is None:
            parent.kill()
        for pid in _marked(mark):
            os.kill(pid, signal.SIGKILL)
    # nothing reads as complete; a killed task's partial writes are only temporary files
    assert not list((tmp_path / "ws").rglob("*.run.json"))
