"""Shared fixtures: a temporary workspace, and programs some tests need."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

REQUIRE_ALL_TOOLS = os.environ.get("CAIRN_REQUIRE_ALL_TOOLS") == "1"


def require_program(name: str) -> str:
    """Return the path of program ``name``; skip the test (fail in CI) when it is missing."""
    path = shutil.which(name)
    if path is None:
        reason = f"{name} is not installed (on Debian: apt-get install the package providing it)"
        if REQUIRE_ALL_TOOLS:
            pytest.fail(f"{reason}; CI must install it (see .ci/run)")
        print(f"SKIP: {reason}")
        pytest.skip(reason)
    return path


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh local workspace, also set as ``CAIRN_WORKSPACE``."""
    ws = tmp_path / "ws"
    monkeypatch.setenv("CAIRN_WORKSPACE", str(ws))
    yield str(ws)


@pytest.fixture(scope="session")
def dask_cluster() -> Iterator[object]:
    """A real ``distributed.LocalCluster``: two single-threaded worker processes.

    Shared by the whole session (starting one takes seconds). ``allowed-failures`` is 0 so
    a task that kills its worker fails at once instead of being tried on three more
    workers (Dask's default), which would only make the test slower.
    """
    import dask
    import distributed

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        )
    try:
        yield cluster
    finally:
        cluster.close()


@pytest.fixture(scope="session")
def dask_client(dask_cluster: object) -> Iterator[object]:
    """A client of :func:`dask_cluster`."""
    import distributed

    client = distributed.Client(dask_cluster)
    try:
        yield client
    finally:
        client.close()
