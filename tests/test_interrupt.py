"""Ctrl-C during a build, for real: a build in a subprocess, SIGINT sent to its process group.

The build has three quick tasks, two slow ones (started once the quick ones are complete)
caught in the middle of writing their output when the signal comes, and a root that needs
them all. The tests wait for events (files the tasks create, lines the build prints), never
for a length of time. Whatever the executor, the build stops scheduling, raises
KeyboardInterrupt after saying what finished, and leaves nothing partial: no run record for
a task that did not finish, no temporary file.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SCRIPT = '''
import os, sys, time
import cairn

flags, executor, address = sys.argv[1], sys.argv[2], sys.argv[3] or None


class Stall:
    """Pickled as an output: its pickling blocks until released (or 20 s pass)."""

    def __init__(self, n):
        self.n = n

    def __reduce__(self):
        open(os.path.join(flags, f"writing-{self.n}"), "w").close()
        deadline = time.time() + 20
        while time.time() < deadline and not os.path.exists(os.path.join(flags, "release")):
            time.sleep(0.02)
        return (int, (self.n,))


class Quick(cairn.Task):
    n = cairn.IntParameter()

    def run(self):
        return self.n


class Slow(cairn.Task):
    """Starts only once the three quick tasks are complete (their records written), so when
    both slow tasks are caught writing, the quick ones have finished, whatever the load."""

    n = cairn.IntParameter()

    def requires(self):
        return [Quick(n=0), Quick(n=1), Quick(n=2)]

    def run(self):
        self.dump(Stall(self.n))


class Root(cairn.Task):
    def requires(self):
        return [Quick(n=0), Quick(n=1), Quick(n=2), Slow(n=0), Slow(n=1)]

    def run(self):
        return sum(self.load())


if __name__ == "__main__":
    try:
        cairn.build(Root(), executor=executor, workers=2, dask_address=address)
    except KeyboardInterrupt as stop:
        print("KeyboardInterrupt:", stop, flush=True)
        sys.exit(130)
    print("finished without an interrupt", flush=True)
'''


def _wait_for(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.02)


def _records(workspace: Path) -> dict[str, int]:
    """How many run records there are per task class."""
    found: dict[str, int] = {}
    for path in workspace.rglob("*.run.json"):
        family = json.loads(path.read_text())["family"].rpartition(".")[2]
        found[family] = found.get(family, 0) + 1
    return found


def _interrupt(tmp_path: Path, executor: str, address: str = "", *, slow_running: int = 2):
    flags = tmp_path / "flags"
    flags.mkdir()
    script = tmp_path / "pipeline.py"
    script.write_text(SCRIPT)
    workspace = tmp_path / "ws"
    proc = subprocess.Popen(
        [sys.executable, str(script), str(flags), executor, address],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "CAIRN_WORKSPACE": str(workspace)},
        start_new_session=True,  # its own process group, like a job in a terminal
    )
    try:
        _wait_for(lambda: len(list(flags.glob("writing-*"))) == slow_running)
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        return proc, flags, workspace
    except BaseException:
        proc.kill()
        proc.communicate()
        raise


def _finish(proc: subprocess.Popen) -> tuple[str, str]:
    try:
        out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    assert proc.returncode == 130, err
    return out, err


def _no_temporary_files(workspace: Path) -> None:
    assert [p.name for p in workspace.rglob("*.tmp")] == []


@pytest.mark.timeout(120)
@pytest.mark.parametrize("executor", ["inline", "processes"])
def test_ctrl_c_stops_running_tasks_and_writes_nothing_partial(tmp_path, executor) -> None:
    running = 1 if executor == "inline" else 2
    proc, _, workspace = _interrupt(tmp_path, executor, slow_running=running)
    out, err = _finish(proc)  # returns without the stalls being released
    assert "KeyboardInterrupt: build interrupted" in out
    assert _records(workspace) == {"Quick": 3}
    _no_temporary_files(workspace)
    assert f"{running} cancelled while running" in err
    assert "finished before the interrupt" in err and "Quick(n=2)" in err


@pytest.mark.timeout(120)
def _read_until(stream, text: str) -> str:
    """Read lines of ``stream`` until one contains ``text``; return what was read."""
    seen = ""
    for line in iter(stream.readline, ""):
        seen += line
        if text in line:
            return seen
    raise AssertionError(f"the build ended without printing {text!r}:\n{seen}")


def test_ctrl_c_lets_running_threads_finish(tmp_path) -> None:
    proc, flags, workspace = _interrupt(tmp_path, "threads")
    before = _read_until(proc.stderr, "waiting for 2 running task(s) to finish")
    assert proc.poll() is None  # still waiting for the two slow tasks
    (flags / "release").touch()
    out, err = _finish(proc)
    err = before + err
    assert "KeyboardInterrupt: build interrupted" in out
    assert _records(workspace) == {"Quick": 3, "Slow": 2}  # they finished; Root never started
    _no_temporary_files(workspace)
    assert "0 cancelled while running, 1 not started" in err


@pytest.mark.timeout(120)
def test_a_second_ctrl_c_stops_waiting_for_threads(tmp_path) -> None:
    proc, flags, workspace = _interrupt(tmp_path, "threads")
    _read_until(proc.stderr, "waiting for 2 running task(s) to finish")  # the first was seen
    os.killpg(proc.pid, signal.SIGINT)
    line = proc.stdout.readline()  # the build raised; the interpreter waits for its threads
    assert line.startswith("KeyboardInterrupt: build interrupted"), line
    assert "2 cancelled while running" in line
    (flags / "release").touch()  # a thread cannot be stopped: let the two tasks end
    _finish(proc)
    assert "Root" not in _records(workspace)
    _no_temporary_files(workspace)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("cluster", ["running", "local"])
def test_ctrl_c_stops_tasks_on_dask_workers(tmp_path, cluster, request) -> None:
    """On a running cluster (given by address) and on a LocalCluster the build starts."""
    address = (
        request.getfixturevalue("dask_cluster").scheduler_address if cluster == "running" else ""
    )
    proc, flags, workspace = _interrupt(tmp_path, "dask", address)
    try:
        out, err = _finish(proc)
    finally:
        (flags / "release").touch()  # should a stall outlive the build, end it
    assert "KeyboardInterrupt: build interrupted" in out
    assert "2 cancelled while running" in err
    assert _records(workspace) == {"Quick": 3}  # the two stopped on their workers
    _no_temporary_files(workspace)
