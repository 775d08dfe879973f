"""The Dask executor on a real ``distributed`` cluster: the ways to name one, dead workers."""

from __future__ import annotations

import os
import signal
import sys

import pytest

import cairn
from cairn.executors import get_executor


class WhereAmI(cairn.Task[int]):
    n = cairn.IntParameter()

    def run(self) -> int:
        return os.getpid()


class Pair(cairn.Task[list]):
    def requires(self) -> list[WhereAmI]:
        return [WhereAmI(n=1), WhereAmI(n=2)]

    def run(self) -> list:
        return self.load()


class KillsItsWorker(cairn.Task[int]):
    def run(self) -> int:
        os.kill(os.getpid(), signal.SIGKILL)
        return 0


def test_builds_on_a_scheduler_address(workspace: str, dask_cluster) -> None:
    pids = cairn.build(Pair(), executor="dask", dask_address=dask_cluster.scheduler_address)
    assert os.getpid() not in pids


def test_builds_on_a_client_passed_as_the_executor(workspace: str, dask_client) -> None:
    pids = cairn.build(Pair(), executor=dask_client)
    assert os.getpid() not in pids


def test_builds_on_a_client_passed_as_the_address(workspace: str, dask_client) -> None:
    pids = cairn.build(Pair(), executor="dask", dask_address=dask_client)
    assert os.getpid() not in pids


def test_starts_and_stops_a_local_cluster_sized_by_workers(workspace: str) -> None:
    with get_executor("dask", workers=1) as executor:
        assert executor.capacity == 1
        assert len(executor.client.nthreads()) == 1
        cairn.build(Pair(), executor=executor)
        cluster = executor._cluster
    assert cluster is None or cluster.status.name == "closed"


def test_a_killed_worker_fails_its_task_with_a_clear_error(workspace: str, dask_client) -> None:
    with pytest.raises(cairn.BuildError) as caught:
        cairn.build([KillsItsWorker(), WhereAmI(n=7)], executor=dask_client)
    error = caught.value
    assert list(error.failures) == [KillsItsWorker()]
    lost = error.failures[KillsItsWorker()]
    assert isinstance(lost, cairn.WorkerLostError)
    assert "KillsItsWorker()" in str(lost) and "died" in str(lost)
    assert error.succeeded == [WhereAmI(n=7)]
    # the nanny restarts it for later tests; a new worker process takes over a minute to come
    # up on a loaded 2-core machine
    dask_client.wait_for_workers(2, timeout=240)


def test_dask_address_without_the_dask_executor_is_a_config_error(workspace: str) -> None:
    with pytest.raises(cairn.ConfigError, match="executor='dask'"):
        cairn.build(Pair(), executor="threads", dask_address="tcp://127.0.0.1:1")


def test_without_distributed_installed_the_error_names_the_extra(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed now fails
    with pytest.raises(cairn.MissingExtraError, match=r"cairn\[dask\]"):
        get_executor("dask")


def test_builds_on_a_dask_url(workspace: str, dask_cluster) -> None:
    address = dask_cluster.scheduler_address.replace("tcp://", "dask://")
    pids = cairn.build(Pair(), executor=address)
    assert os.getpid() not in pids


def test_dask_reaches_the_scheduler_dasks_own_setting_names(
    workspace: str, dask_cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", dask_cluster.scheduler_address)
    import dask

    dask.config.refresh()
    try:
        pids = cairn.build(Pair(), executor="dask")
    finally:
        monkeypatch.delenv("DASK_SCHEDULER_ADDRESS")
        dask.config.refresh()
    assert os.getpid() not in pids


@pytest.mark.parametrize("spec", ["dask://", "dask:///"])
def test_a_bad_executor_url_says_what_to_write(spec: str) -> None:
    with pytest.raises(cairn.ConfigError, match="dask://"):
        get_executor(spec)


class Counted(cairn.Task[int]):
    def run(self) -> int:
        raise AssertionError("run() must not start when the workers cannot see the workspace")


def test_workers_that_cannot_see_the_workspace_fail_before_any_run(dask_cluster) -> None:
    # a memory:// store lives in this process only: the worker processes cannot read it
    with pytest.raises(cairn.ConfigError, match="workspace"):
        cairn.build(
            Counted(),
            workspace="memory://invisible",
            executor="dask",
            dask_address=dask_cluster.scheduler_address,
        )
