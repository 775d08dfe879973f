"""Build events: the listener protocol, and the fan-out that delivers events to listeners.

The scheduling loop reports what happens to each task; hooks, progress displays and users'
own listeners receive it; each listener gets the events it has a method for.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from cairn.model.task import Task
from cairn.planning.plan import Plan

__all__ = ["Broadcast", "Listener"]

log = logging.getLogger("cairn")


class Listener(Protocol):
    """Receives scheduling events (hooks and progress displays implement this).

    The type names these three; at run time every method is optional (called when
    present), and a listener may also define ``build_started(plan)``, ``task_reused(task)``,
    ``task_retrying(task, error, attempt, delay)`` and ``build_interrupted(running,
    waiting)``; ``build()`` calls ``build_finished(*, plan, outcome, workspace)`` at the end.
    """

    def task_started(self, task: Task[Any]) -> None: ...

    def task_succeeded(self, task: Task[Any], record: dict[str, Any] | None) -> None: ...

    def task_failed(self, task: Task[Any], error: BaseException) -> None: ...


_EVENTS = (
    "build_started",
    "task_started",
    "task_succeeded",
    "task_failed",
    "task_reused",
    "task_retrying",
    "build_interrupted",
)


class Broadcast:
    """Passes each event to every listener that has a method for it.

    A listener that raises is logged and otherwise ignored: a display never breaks a build.
    """

    def __init__(self, listeners: list[Any]) -> None:
        self._calls: dict[str, list[Callable[..., Any]]] = {
            name: [m for lst in listeners if callable(m := getattr(lst, name, None))]
            for name in _EVENTS
        }

    def _emit(self, name: str, *args: Any) -> None:
        for method in self._calls[name]:
            try:
                method(*args)
            except Exception:
                log.exception("a build listener failed on %s", name)

    def build_started(self, plan: Plan) -> None:
        self._emit("build_started", plan)

    def task_started(self, task: Task[Any]) -> None:
        self._emit("task_started", task)

    def task_succeeded(self, task: Task[Any], record: dict[str, Any] | None) -> None:
        self._emit("task_succeeded", task, record)

    def task_failed(self, task: Task[Any], error: BaseException) -> None:
        self._emit("task_failed", task, error)

    def task_reused(self, task: Task[Any]) -> None:
        self._emit("task_reused", task)

    def task_retrying(
        self, task: Task[Any], error: BaseException, attempt: int, delay: float
    ) -> None:
        self._emit("task_retrying", task, error, attempt, delay)

    def build_interrupted(self, running: list[Task[Any]], waiting: bool) -> None:
        self._emit("build_interrupted", running, waiting)
