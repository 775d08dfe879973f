"""Redis lock URLs: secrets never reach messages, and cairn's URL options are checked."""

from __future__ import annotations

import socket

import pytest

import cairn

pytest.importorskip("redis", reason="the Redis lock needs the redis extra")

RUNS: list[str] = []


class Step(cairn.Task):
    name = cairn.Parameter(default="a")

    def run(self):
        RUNS.append(self.name)
        return self.name


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(
    "query",
    [
        "password=hunter2secret",
        "ttl=5&password=hunter2secret",
        "Password=hunter2secret",
        "auth_token=hunter2secret",
        "passwd=hunter2secret",
    ],
)
def test_password_in_the_query_is_masked_in_lock_errors(workspace, query):
    stored = Step(name="stored")
    assert cairn.build(stored) == "stored"
    RUNS.clear()
    url = f"redis://127.0.0.1:{_closed_port()}/0?{query}"
    with pytest.raises(cairn.LockError, match="cannot use the Redis lock server") as info:
        cairn.build(Step(name="new"), lock=url)
    assert "hunter2secret" not in str(info.value)
    assert "***" in str(info.value)
    assert RUNS == []
    assert cairn.build(stored) == "stored"


@pytest.mark.parametrize("userinfo", [":hunter2secret@", "user:hunter2secret@"])
def test_password_in_the_user_part_is_masked(workspace, userinfo):
    url = f"redis://{userinfo}127.0.0.1:{_closed_port()}/0"
    with pytest.raises(cairn.LockError) as info:
        cairn.build(Step(name="new"), lock=url)
    assert "hunter2secret" not in str(info.value)


@pytest.mark.parametrize("ttl", ["0", "-1", "0.0"])
def test_a_zero_or_negative_ttl_in_the_url_is_refused(workspace, ttl):
    stored = Step(name="stored")
    assert cairn.build(stored) == "stored"
    RUNS.clear()
    url = f"redis://127.0.0.1:{_closed_port()}/0?ttl={ttl}"
    with pytest.raises(cairn.LockError, match="time-to-live must be positive"):
        cairn.build(Step(name="new"), lock=url)
    assert RUNS == []
    assert cairn.build(stored) == "stored"
