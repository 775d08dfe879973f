"""Shared fixtures: a temporary workspace, and programs some tests need."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
def moto_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """moto's S3 in server mode on 127.0.0.1, for the whole session."""
    from _servers import MotoServer

    server = MotoServer(tmp_path_factory.mktemp("moto"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A private redis-server on a free port, for the whole session (never killed)."""
    from _servers import RedisServer

    server = RedisServer(require_program("redis-server"), tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture(params=["local", "memory", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """``workspace`` and ``storage_options`` for ``build()``, one per kind of store: a local
    directory, ``memory://`` and S3 (moto in server mode)."""
    if request.param == "local":
        return {"workspace": str(tmp_path / "ws"), "storage_options": None}
    if request.param == "memory":
        return {"workspace": f"memory://cairn-{uuid.uuid4().hex[:8]}/ws", "storage_options": None}
    moto = request.getfixturevalue("moto_s3")
    return {
        "workspace": f"s3://{moto.new_bucket()}/ws",
        "storage_options": moto.storage_options,
    }


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
