"""A small task package that the cluster suite installs twice: one copy for the clients,
one for the workers, each on its own ``PYTHONPATH`` (as when workers run elsewhere).

Every ``run()`` counts itself in Redis (``$CAIRN_TEST_REDIS``): ``INCR runs:{salt}:{task id}``,
and notes ``{task id} {pid}`` on the list ``started:{salt}``, so a test can count how often each
task really ran, on any machine, and find the process running one. ``salt`` keeps the tasks
of one test apart from every other test's.
"""

from __future__ import annotations

import os
import time
from typing import Any

import cairn


def _redis() -> Any:
    import redis

    return redis.Redis.from_url(os.environ["CAIRN_TEST_REDIS"])


def ran(task: cairn.Task[Any], salt: str) -> None:
    """Count one run of ``task`` and say which process runs it."""
    client = _redis()
    try:
        client.incr(f"runs:{salt}:{task.task_id}")
        client.rpush(f"started:{salt}", f"{task.task_id} {os.getpid()}")
    finally:
        client.close()


class Leaf(cairn.Task[int]):
    salt = cairn.Parameter()
    i = cairn.IntParameter()
    seconds = cairn.FloatParameter(default=0.0)

    def run(self) -> int:
        ran(self, self.salt)
        time.sleep(self.seconds)
        return self.i * self.i


class Mid(cairn.Task[int]):
    salt = cairn.Parameter()
    k = cairn.IntParameter()
    seconds = cairn.FloatParameter(default=0.0)

    def requires(self) -> list[Leaf]:
        return [
            Leaf(salt=self.salt, i=(3 * self.k + j) % 12, seconds=self.seconds) for j in range(5)
        ]

    def run(self) -> int:
        ran(self, self.salt)
        return sum(self.load())


class Root(cairn.Task[dict[str, int]]):
    """4 mids over 12 overlapping leaves: 17 tasks."""

    salt = cairn.Parameter()
    seconds = cairn.FloatParameter(default=0.0)

    def requires(self) -> dict[str, Mid]:
        return {f"m{k}": Mid(salt=self.salt, k=k, seconds=self.seconds) for k in range(4)}

    def run(self) -> dict[str, int]:
        ran(self, self.salt)
        return dict(sorted(self.load().items()))


class Fan(cairn.Task[list[int]]):
    """``n`` leaves of ``seconds`` each, gathered."""

    salt = cairn.Parameter()
    n = cairn.IntParameter()
    seconds = cairn.FloatParameter(default=0.0)

    def requires(self) -> list[Leaf]:
        return [Leaf(salt=self.salt, i=i, seconds=self.seconds) for i in range(self.n)]

    def run(self) -> list[int]:
        ran(self, self.salt)
        return list(self.load())


class Dynamic(cairn.Task[int]):
    """Finds its requirements while running: the leaves ``first .. first + n - 1``."""

    salt = cairn.Parameter()
    first = cairn.IntParameter()
    n = cairn.IntParameter(default=4)

    def run(self) -> int:
        parts = self.require([Leaf(salt=self.salt, i=self.first + j) for j in range(self.n)])
        ran(self, self.salt)
        return sum(parts)


class Dynamics(cairn.Task[list[int]]):
    """Three dynamic tasks whose leaves overlap."""

    salt = cairn.Parameter()

    def requires(self) -> list[Dynamic]:
        return [Dynamic(salt=self.salt, first=2 * j) for j in range(3)]

    def run(self) -> list[int]:
        ran(self, self.salt)
        return list(self.load())
