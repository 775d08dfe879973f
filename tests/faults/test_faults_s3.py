"""An S3 store failing under a build (moto in server mode, a real S3 endpoint): a missing
bucket is found before any run(); an endpoint that dies mid-build stops the build from
starting new tasks, and the error says the store stopped answering and to build again."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import cairn

RAN: list[int] = []
_ran_lock = threading.Lock()
KILL_AT: dict[int, object] = {}


class Piece(cairn.Task):
    n = cairn.IntParameter()

    def run(self):
        with _ran_lock:
            RAN.append(self.n)
        hook = KILL_AT.get(self.n)
        if hook is not None:
            hook()
        time.sleep(0.2)
        return self.n


@pytest.fixture
def own_moto(tmp_path: Path) -> Iterator[object]:
    """A moto server of this test's own (it gets killed)."""
    from _servers import MotoServer

    server = MotoServer(tmp_path)
    try:
        yield server
    finally:
        if server.proc.poll() is None:
            server.stop()


def test_a_missing_bucket_is_found_before_any_run(moto_s3):
    RAN.clear()
    with pytest.raises(cairn.StoreError) as info:
        cairn.build(
            [Piece(n=i) for i in range(3)],
            workspace=f"s3://no-such-bucket-{uuid.uuid4().hex[:8]}/ws",
            storage_options=moto_s3.storage_options,
        )
    assert "nothing was run" in str(info.value)
    assert "Create it" in str(info.value)
    assert RAN == []


@pytest.mark.parametrize("executor", ["inline", "threads"])
def test_an_endpoint_dying_mid_build_stops_new_tasks_and_says_so(own_moto, executor):
    bucket = own_moto.new_bucket()
    workspace = f"s3://{bucket}/ws"
    options = {
        **own_moto.storage_options,
        "config_kwargs": {"retries": {"max_attempts": 1}, "connect_timeout": 1},
    }
    tasks = [Piece(n=i) for i in range(12)]
    assert cairn.build(tasks[:2], workspace=workspace, storage_options=options) == [0, 1]
    RAN.clear()
    killed: list[float] = []

    def kill() -> None:
        own_moto.proc.kill()
        own_moto.proc.wait()
        killed.append(time.monotonic())

    KILL_AT.clear()
    KILL_AT[4] = kill
    try:
        with pytest.raises(cairn.StoreUnreachableError) as info:
            cairn.build(
                tasks, workspace=workspace, storage_options=options, executor=executor, workers=2
            )
    finally:
        KILL_AT.clear()
    message = str(info.value)
    assert "stopped answering" in message
    assert "build again to resume" in message
    assert "not started" in message
    assert isinstance(info.value, cairn.StoreError)
    # once the store failed, no new task started: at most the ones already running
    started_after = RAN[RAN.index(4) + 1 :]
    assert len(started_after) <= 2, RAN
    assert len(RAN) < len(tasks) - 2
