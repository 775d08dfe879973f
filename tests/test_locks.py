"""Lock contract: the same behaviour with no lock, the file lock and the Redis lock.

"Another runner" is a second build in a thread of this process with its own lock object: the
file lock (one open file per lease) and the Redis lock (one connection per lock object) keep
two builds in one process apart exactly as they keep two processes apart.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

import cairn
from _gated import FAIL_WITH, GATES, STARTED, Gated, Runner, UsesGated, gate_fixture  # noqa: F401
from _shared_graph import Leaf, graph60, runs_by_task


@pytest.fixture(params=["null", "file", "redis"])
def lock(request: pytest.FixtureRequest) -> str | None:
    """The ``lock=`` argument of ``build()`` for each kind of lock."""
    if request.param == "null":
        return None
    if request.param == "file":
        return "file"
    server = request.getfixturevalue("redis_server")
    return str(server.url)


@pytest.fixture(params=["file", "redis"])
def exclusive_lock(request: pytest.FixtureRequest) -> str:
    """The locks that keep other runners out."""
    if request.param == "file":
        return "file"
    return str(request.getfixturevalue("redis_server").url)


@pytest.fixture
def counts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "counts"
    path.mkdir()
    monkeypatch.setenv("CAIRN_TEST_COUNTS", str(path))
    return path


def test_build_returns_the_same_result_with_every_lock(lock: str | None, tmp_path: Path) -> None:
    expected = cairn.build(graph60(), workspace=str(tmp_path / "plain"))
    got = cairn.build(
        graph60(), workspace=str(tmp_path / "ws"), lock=lock, executor="threads", workers=4
    )
    assert got == expected


def test_task_held_elsewhere_is_loaded_not_rerun_while_other_tasks_run(
    exclusive_lock: str, tmp_path: Path, counts: Path, gate: str
) -> None:
    ws = str(tmp_path / "ws")
    holder = Runner(Gated(name=gate), workspace=ws, lock=exclusive_lock)
    assert STARTED[gate].wait(30)
    waiter = Runner(UsesGated(name=gate), workspace=ws, lock=exclusive_lock, executor="threads")
    leaves = {Leaf(i=i).task_id for i in range(6)}
    deadline = time.monotonic() + 30
    while not leaves <= set(runs_by_task(counts)) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert leaves <= set(runs_by_task(counts)), "other tasks did not run while one was held"
    assert waiter.is_alive()
    GATES[gate].set()
    assert holder.outcome() == f"gated {gate}"
    result = waiter.outcome()
    assert result[0] == f"gated {gate}"
    assert runs_by_task(counts)[Gated(name=gate).task_id] == 1


def test_lock_wait_ends_in_lock_error_naming_task_and_holder(
    exclusive_lock: str, tmp_path: Path, gate: str
) -> None:
    ws = str(tmp_path / "ws")
    holder = Runner(Gated(name=gate), workspace=ws, lock=exclusive_lock)
    assert STARTED[gate].wait(30)
    with pytest.raises(cairn.BuildError) as caught:
        cairn.build(UsesGated(name=gate), workspace=ws, lock=exclusive_lock, lock_wait=0.3)
    error = caught.value.failures[Gated(name=gate)]
    assert isinstance(error, cairn.LockError)
    message = str(error)
    assert f"Gated(name={gate!r})" in message and "0.3s" in message
    if exclusive_lock == "file":
        assert "lock file" in message
    else:
        assert f"pid {os.getpid()}" in message
    assert len(caught.value.succeeded) == 6  # the leaves ran meanwhile
    GATES[gate].set()
    holder.outcome()


@pytest.mark.parametrize("ending", ["success", "failure", "interruption"])
def test_lock_is_released_after_success_failure_and_interruption(
    lock: str | None, tmp_path: Path, gate: str, ending: str
) -> None:
    ws = str(tmp_path / "ws")
    GATES[gate].set()
    task = Gated(name=gate)
    if ending == "success":
        cairn.build(task, workspace=ws, lock=lock)
    elif ending == "failure":
        FAIL_WITH[gate] = ValueError("task failed")
        with pytest.raises(cairn.BuildError, match="task failed"):
            cairn.build(task, workspace=ws, lock=lock)
    else:
        FAIL_WITH[gate] = KeyboardInterrupt()
        with pytest.raises(KeyboardInterrupt):
            cairn.build(task, workspace=ws, lock=lock)
    FAIL_WITH.pop(gate, None)
    # another runner takes the same task's lock at once
    assert cairn.build(task, workspace=ws, lock=lock, rerun=True, lock_wait=0) == f"gated {gate}"


def test_unknown_lock_spec_raises_lock_error(tmp_path: Path) -> None:
    with pytest.raises(cairn.LockError, match="unknown lock 'zookeeper://x'"):
        cairn.build(Leaf(i=1), workspace=str(tmp_path), lock="zookeeper://x")
    with pytest.raises(cairn.LockError, match="Lock object"):
        cairn.build(Leaf(i=1), workspace=str(tmp_path), lock=42)  # type: ignore[arg-type]
