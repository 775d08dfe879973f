"""Build events: the listener protocol, its no-op base class, and the fan-out to listeners.

The scheduling loop reports what happens to each task, and the build reports its start and
its end; hooks, progress displays and users' own listeners receive it. Every event is
declared in :class:`Listener` and has a no-op default in :class:`BaseListener`, so a listener
overrides only what it needs and :class:`Broadcast` calls each method directly.

A plain object that is not a :class:`BaseListener` (documented: "any object with some of
the methods") is adapted once, where it enters a build (:func:`as_listener`). Keyword
events (``build_finished``) are called with only the keywords the method declares, unless it
takes ``**kwargs``, so a listener written before a keyword was added keeps working.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from cairn.model.task import Task
from cairn.planning.plan import Plan

__all__ = [
    "EVENTS",
    "BaseListener",
    "Broadcast",
    "Listener",
    "Outcome",
    "as_listener",
    "call_with_keywords",
]

log = logging.getLogger("cairn")


@dataclass
class Outcome:
    """What a build did (public as ``cairn.BuildOutcome``): the tasks that ran, were
    reused, failed (with their errors), were skipped below a failure or cancelled, their run
    records, attempts and the seconds it took."""

    ran: list[Task[Any]] = field(default_factory=list)
    reused: list[Task[Any]] = field(default_factory=list)
    failed: dict[Task[Any], BaseException] = field(default_factory=dict)
    skipped: list[Task[Any]] = field(default_factory=list)
    records: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    seconds: float = 0.0
    #: How many times each task that ran was started (by task id).
    attempts: dict[str, int] = field(default_factory=dict)
    interrupted: bool = False
    #: Tasks running at Ctrl-C that were cancelled instead of waited for (a thread cannot be
    #: stopped: its task goes on to the end, unreported).
    cancelled: list[Task[Any]] = field(default_factory=list)
    #: Tasks that would have run but were not started because of Ctrl-C.
    not_started: list[Task[Any]] = field(default_factory=list)


class Listener(Protocol):
    """Receives build events (hooks, progress displays and the run history implement it).

    ``build_finished`` comes once at the end of every build whose settings were valid: after
    success, failed tasks (before ``BuildError`` is raised), Ctrl-C, or an error of the
    store or the lock service; ``error`` is the exception the build is about to raise
    (None on success).
    """

    def build_started(self, plan: Plan) -> None:
        """The plan is made; what will run is about to."""

    def task_started(self, task: Task[Any]) -> None:
        """``task`` is about to run (each attempt)."""

    def task_succeeded(self, task: Task[Any], record: dict[str, Any] | None) -> None:
        """``task`` finished; ``record`` is its run record, when known."""

    def task_failed(self, task: Task[Any], error: BaseException) -> None:
        """``task`` failed for good (no retries left)."""

    def task_reused(self, task: Task[Any]) -> None:
        """``task`` was found complete once its lock was taken (another runner made it)."""

    def task_retrying(
        self, task: Task[Any], error: BaseException, attempt: int, delay: float
    ) -> None:
        """``task`` failed on ``attempt`` and runs again after ``delay`` seconds."""

    def build_interrupted(self, running: list[Task[Any]], waiting: bool) -> None:
        """Ctrl-C: ``running`` tasks are waited for (``waiting``) or cancelled."""

    def build_finished(
        self, *, plan: Plan, outcome: Outcome, workspace: str, error: BaseException | None
    ) -> None:
        """The build is over, whatever ended it."""


#: The names of the events, in the order a build sends them.
EVENTS = (
    "build_started",
    "task_started",
    "task_succeeded",
    "task_failed",
    "task_reused",
    "task_retrying",
    "build_interrupted",
    "build_finished",
)


class BaseListener:
    """Every event of :class:`Listener` as a method that does nothing: override what you need."""

    def build_started(self, plan: Plan) -> None:
        """The plan is made; what will run is about to."""

    def task_started(self, task: Task[Any]) -> None:
        """``task`` is about to run (each attempt)."""

    def task_succeeded(self, task: Task[Any], record: dict[str, Any] | None) -> None:
        """``task`` finished; ``record`` is its run record, when known."""

    def task_failed(self, task: Task[Any], error: BaseException) -> None:
        """``task`` failed for good (no retries left)."""

    def task_reused(self, task: Task[Any]) -> None:
        """``task`` was found complete once its lock was taken (another runner made it)."""

    def task_retrying(
        self, task: Task[Any], error: BaseException, attempt: int, delay: float
    ) -> None:
        """``task`` failed on ``attempt`` and runs again after ``delay`` seconds."""

    def build_interrupted(self, running: list[Task[Any]], waiting: bool) -> None:
        """Ctrl-C: ``running`` tasks are waited for (``waiting``) or cancelled."""

    def build_finished(
        self, *, plan: Plan, outcome: Outcome, workspace: str, error: BaseException | None
    ) -> None:
        """The build is over, whatever ended it."""


@functools.lru_cache(maxsize=1024)
def _declared(func: Callable[..., Any]) -> frozenset[str] | None:
    """The keywords ``func`` accepts; None when it takes ``**kwargs`` (or cannot be read)."""
    import inspect

    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return None
    params = signature.parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    kinds = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return frozenset(p.name for p in params if p.kind in kinds)


def call_with_keywords(method: Callable[..., Any], **kwargs: Any) -> Any:
    """Call ``method`` with the keyword arguments it declares (all, when it takes
    ``**kwargs``): a callback written before a keyword was added keeps working."""
    func = getattr(method, "__func__", method)  # a bound method: its function (cached)
    try:
        accepted = _declared(func)
    except TypeError:  # an unhashable callable object
        accepted = None
    if accepted is not None:
        kwargs = {name: value for name, value in kwargs.items() if name in accepted}
    return method(**kwargs)


class _Adapted(BaseListener):
    """A plain listener object: the events it has methods for go to it, the others nowhere.

    Its methods are looked up once, here, where the object enters a build.
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self._methods: dict[str, Callable[..., Any]] = {}
        for name in EVENTS:
            method = getattr(inner, name, None)
            if callable(method):
                self._methods[name] = method

    def __repr__(self) -> str:
        return repr(self.inner)

    def _send(self, name: str, *args: Any) -> None:
        method = self._methods.get(name)
        if method is not None:
            method(*args)

    def build_started(self, plan: Plan) -> None:
        self._send("build_started", plan)

    def task_started(self, task: Task[Any]) -> None:
        self._send("task_started", task)

    def task_succeeded(self, task: Task[Any], record: dict[str, Any] | None) -> None:
        self._send("task_succeeded", task, record)

    def task_failed(self, task: Task[Any], error: BaseException) -> None:
        self._send("task_failed", task, error)

    def task_reused(self, task: Task[Any]) -> None:
        self._send("task_reused", task)

    def task_retrying(
        self, task: Task[Any], error: BaseException, attempt: int, delay: float
    ) -> None:
        self._send("task_retrying", task, error, attempt, delay)

    def build_interrupted(self, running: list[Task[Any]], waiting: bool) -> None:
        self._send("build_interrupted", running, waiting)

    def build_finished(
        self, *, plan: Plan, outcome: Outcome, workspace: str, error: BaseException | None
    ) -> None:
        method = self._methods.get("build_finished")
        if method is not None:
            call_with_keywords(method, plan=plan, outcome=outcome, workspace=workspace, error=error)


def as_listener(obj: Any) -> BaseListener:
    """``obj`` as a listener: itself when it is a :class:`BaseListener`, else adapted."""
    return obj if isinstance(obj, BaseListener) else _Adapted(obj)


class Broadcast(BaseListener):
    """Passes each event to every listener, in order.

    A listener that raises is logged and otherwise ignored: a display never breaks a build.
    """

    def __init__(self, listeners: Iterable[Any] = ()) -> None:
        self.listeners = [as_listener(x) for x in listeners if x is not None]

    def _failed(self, name: str) -> None:
        log.exception("a build listener failed on %s", name)

    def build_started(self, plan: Plan) -> None:
        for listener in self.listeners:
            try:
                listener.build_started(plan)
            except Exception:
                self._failed("build_started")

    def task_started(self, task: Task[Any]) -> None:
        for listener in self.listeners:
            try:
                listener.task_started(task)
            except Exception:
                self._failed("task_started")

    def task_succeeded(self, task: Task[Any], record: dict[str, Any] | None) -> None:
        for listener in self.listeners:
            try:
                listener.task_succeeded(task, record)
            except Exception:
                self._failed("task_succeeded")

    def task_failed(self, task: Task[Any], error: BaseException) -> None:
        for listener in self.listeners:
            try:
                listener.task_failed(task, error)
            except Exception:
                self._failed("task_failed")

    def task_reused(self, task: Task[Any]) -> None:
        for listener in self.listeners:
            try:
                listener.task_reused(task)
            except Exception:
                self._failed("task_reused")

    def task_retrying(
        self, task: Task[Any], error: BaseException, attempt: int, delay: float
    ) -> None:
        for listener in self.listeners:
            try:
                listener.task_retrying(task, error, attempt, delay)
            except Exception:
                self._failed("task_retrying")

    def build_interrupted(self, running: list[Task[Any]], waiting: bool) -> None:
        for listener in self.listeners:
            try:
                listener.build_interrupted(running, waiting)
            except Exception:
                self._failed("build_interrupted")

    def build_finished(
        self, *, plan: Plan, outcome: Outcome, workspace: str, error: BaseException | None
    ) -> None:
        for listener in self.listeners:
            try:
                call_with_keywords(
                    listener.build_finished,
                    plan=plan,
                    outcome=outcome,
                    workspace=workspace,
                    error=error,
                )
            except Exception:
                self._failed("build_finished")
