"""A Redis lock server that stops answering (SIGSTOP: the connection stays open, nothing
comes back) for longer than a lease: the build does not hang for the whole pause (every
call to Redis has a timeout), it stops with a LockError saying to build again, nothing
stored is lost, and no warning claims that a lease expired because its task ran too long.

Each test starts its own redis-server (skipped, with the reason printed, when it is not
installed) and always resumes it.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import cairn
from conftest import require_program

TTL = 1.0
PAUSE = 6.0


@pytest.fixture
def paused_redis(tmp_path: Path) -> Iterator[object]:
    from _servers import RedisServer

    data = tmp_path / "redis-data"
    data.mkdir()
    server = RedisServer(require_program("redis-server"), data)
    try:
        yield server
    finally:
        if server.proc is not None and server.proc.poll() is None:
            os.kill(server.proc.pid, signal.SIGCONT)
        server.stop()


def _pause(server, seconds: float) -> threading.Timer:
    os.kill(server.proc.pid, signal.SIGSTOP)
    resume = threading.Timer(seconds, os.kill, (server.proc.pid, signal.SIGCONT))
    resume.daemon = True
    resume.start()
    return resume


class Step(cairn.Task):
    n = cairn.IntParameter()
    sleep = cairn.FloatParameter(default=0.3, significant=False)

    def requires(self):
        return Step(n=self.n - 1, sleep=self.sleep) if self.n else []

    def run(self):
        hook = PAUSE_AT.get(self.n)
        if hook is not None:
            hook()
        time.sleep(self.sleep)
        return self.n + (self.load() if self.n else 0)


PAUSE_AT: dict[int, object] = {}

_FALSE_EXPIRY = "expired while its task ran"


@pytest.mark.parametrize("executor", ["inline", "threads"])
def test_a_paused_redis_fails_the_build_fast_and_a_rebuild_resumes(
    workspace, paused_redis, executor, caplog
):
    url = f"{paused_redis.url}?ttl={TTL:g}"
    assert cairn.build(Step(n=1), lock=url) == 1
    stopped: list[float] = []

    def pause() -> None:
        stopped.append(time.monotonic())
        _pause(paused_redis, PAUSE)

    PAUSE_AT.clear()
    PAUSE_AT[3] = pause
    try:
        with caplog.at_level(logging.WARNING, logger="cairn"):
            with pytest.raises(cairn.LockError) as info:
                cairn.build(Step(n=6), lock=url, executor=executor)
        waited = time.monotonic() - stopped[0]
    finally:
        PAUSE_AT.clear()
    assert waited < PAUSE * 0.75, f"the build waited {waited:.1f}s of a {PAUSE:g}s pause"
    message = str(info.value)
    assert "Redis lock server" in message and "build again to resume" in message
    assert not [r for r in caplog.records if _FALSE_EXPIRY in r.getMessage()]
    # what finished is stored; once Redis answers again a build resumes and is right
    assert cairn.status(Step(n=2))[Step(n=2)].state == "complete"
    time.sleep(max(0.0, PAUSE - waited) + 0.5)
    assert cairn.build(Step(n=6), lock=url, executor=executor) == sum(range(7))


def test_a_pause_while_a_task_runs_does_not_claim_its_task_ran_too_long(
    workspace, paused_redis, caplog
):
    url = f"{paused_redis.url}?ttl={TTL:g}"
    PAUSE_AT.clear()
    PAUSE_AT[0] = lambda: _pause(paused_redis, 2.5 * TTL)
    try:
        with caplog.at_level(logging.WARNING, logger="cairn"):
            started = time.monotonic()
            result = cairn.build(Step(n=0, sleep=4 * TTL), lock=url)
            took = time.monotonic() - started
    finally:
        PAUSE_AT.clear()
    assert result == 0
    assert took < 4 * TTL + 3.0
    messages = [r.getMessage() for r in caplog.records]
    assert not [m for m in messages if _FALSE_EXPIRY in m], messages
    assert any("could not renew leases" in m for m in messages), messages
    assert cairn.status(Step(n=0))[Step(n=0)].state == "complete"
