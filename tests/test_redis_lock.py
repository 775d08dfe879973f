"""The Redis lock against real redis-server processes: URLs, TLS, passwords, leases."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import cairn
from _gated import GATES, STARTED, Gated, Runner, gate_fixture  # noqa: F401 - the gate fixture
from _servers import RedisServer, free_port, make_tls_certificate
from _shared_graph import Leaf
from cairn.locks import RedisLock
from conftest import require_program


@pytest.fixture(scope="module")
def tls_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A private redis-server speaking only TLS, with a password."""
    work = tmp_path_factory.mktemp("redis-tls")
    server = RedisServer(
        require_program("redis-server"),
        work,
        password="s3cret-pw",
        tls_dir=make_tls_certificate(work / "tls"),
    )
    yield server
    server.stop()


def lock_keys(server: Any, workspace: str) -> dict[str, str]:
    """The lock keys of ``workspace`` in ``server`` and their values."""
    client = server.client()
    try:
        keys = client.keys(f"cairn:lock:{workspace}::*")
        return {k.decode(): client.get(k).decode() for k in keys}
    finally:
        client.close()


def test_unreachable_redis_raises_lock_error_saying_where_it_tried(tmp_path: Path) -> None:
    port = free_port()
    with pytest.raises(cairn.LockError) as caught:
        cairn.build(Leaf(i=1), workspace=str(tmp_path), lock=f"redis://:pw123@127.0.0.1:{port}/0")
    message = str(caught.value)
    assert f"127.0.0.1:{port}" in message
    assert "pw123" not in message and ":***@" in message
    assert "Start Redis there" in message


def test_rediss_url_with_password_builds_over_tls(tls_redis: RedisServer, tmp_path: Path) -> None:
    assert tls_redis.url.startswith("rediss://:s3cret-pw@")
    assert cairn.build(Leaf(i=3), workspace=str(tmp_path), lock=tls_redis.url)[0] == 3


def test_wrong_password_raises_lock_error(tls_redis: RedisServer, tmp_path: Path) -> None:
    url = tls_redis.url.replace("s3cret-pw", "wrong")
    with pytest.raises(cairn.LockError) as caught:
        cairn.build(Leaf(i=3), workspace=str(tmp_path), lock=url)
    assert "wrong" not in str(caught.value)
    assert f"127.0.0.1:{tls_redis.port}" in str(caught.value)


def test_plain_redis_url_to_a_tls_port_raises_lock_error(
    tls_redis: RedisServer, tmp_path: Path
) -> None:
    url = f"redis://:s3cret-pw@127.0.0.1:{tls_redis.port}/0?socket_timeout=1"
    with pytest.raises(cairn.LockError, match="Start Redis there, or fix the lock URL"):
        cairn.build(Leaf(i=3), workspace=str(tmp_path), lock=url)


def test_bad_ttl_option_raises_lock_error(redis_server: RedisServer, tmp_path: Path) -> None:
    with pytest.raises(cairn.LockError, match="ttl='soon'"):
        cairn.build(Leaf(i=1), workspace=str(tmp_path), lock=f"{redis_server.url}?ttl=soon")


def test_lease_is_renewed_while_the_task_runs_and_names_workspace_task_and_holder(
    redis_server: RedisServer, tmp_path: Path, gate: str
) -> None:
    ws = str(tmp_path / "ws")
    runner = Runner(Gated(name=gate), workspace=ws, lock=f"{redis_server.url}?ttl=0.5")
    assert STARTED[gate].wait(30)
    time.sleep(1.5)  # three time-to-lives: the lease lives on only if it is renewed
    keys = lock_keys(redis_server, ws)
    assert list(keys) == [f"cairn:lock:{ws}::{Gated(name=gate).task_id}"]
    (value,) = keys.values()
    assert f"pid {os.getpid()} on {socket.gethostname()}" in value
    GATES[gate].set()
    assert runner.outcome() == f"gated {gate}"
    assert lock_keys(redis_server, ws) == {}


def test_redis_lock_object_can_be_passed_to_build(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    lock = RedisLock(redis_server.url, ttl=5)
    try:
        assert lock.ttl == 5
        assert cairn.build(Leaf(i=2), workspace=str(tmp_path), lock=lock)[0] == 2
        assert cairn.build(Leaf(i=4), workspace=str(tmp_path), lock=lock)[0] == 4
    finally:
        lock.close()
    assert not any(t.name == "cairn-redis-lease" for t in threading.enumerate())
