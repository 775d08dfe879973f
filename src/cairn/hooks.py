"""Build hooks and notifications.

Subclass :class:`BuildHook` and override what you need; every method takes keyword-only
arguments and gets read-only views (:class:`TaskView`, :class:`BuildSummary`, records as
read-only mappings all the way down), so cairn's internals can change without breaking your
callbacks, and no hook can change a plan or a record. A method is called with only the
keywords it declares (all of them if it takes ``**kwargs``), so a hook written before a
keyword was added keeps working::

    class Report(cairn.hooks.BuildHook):
        def on_task_failure(self, *, task, error):
            print(f"{task.name} failed: {error}")

    cairn.build(task, hooks=[Report()])

:meth:`BuildHook.on_build_end` is called once at the end of every build, whatever ended it:
success, failed tasks, Ctrl-C, or an error of the store or the lock service. An exception
raised by a hook is logged (logger ``cairn.hooks``) and never fails the build.
:class:`SlackNotifier` posts a summary of each build to a Slack incoming webhook.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

from cairn._config import Config
from cairn._errors import BuildError, CairnError, ConfigError
from cairn.model.task import Task
from cairn.running.events import BaseListener, call_with_keywords

__all__ = ["BuildHook", "BuildSummary", "SlackNotifier", "TaskView"]

log = logging.getLogger("cairn.hooks")


@dataclass(frozen=True)
class TaskView:
    """A read-only view of a task."""

    task_id: str
    family: str
    name: str
    label: str
    params: Mapping[str, Any]

    @classmethod
    def of(cls, task: Task[Any]) -> TaskView:
        """The view of ``task``."""
        params = {name: p.serialize(task._values[name]) for name, p in type(task)._params.items()}
        return cls(
            task_id=task.task_id,
            family=type(task).family,
            name=type(task).__name__,
            label=task.label(),
            params=_read_only(params),
        )


def _read_only(value: Any) -> Any:
    """``value`` with every mapping made a read-only mapping and every list a tuple, all the
    way down (a copy: changing the original later does not show through either)."""
    if isinstance(value, Mapping):
        return MappingProxyType({key: _read_only(item) for key, item in value.items()})
    if isinstance(value, list | tuple):
        return tuple(_read_only(item) for item in value)
    if isinstance(value, set | frozenset):
        return frozenset(_read_only(item) for item in value)
    return value


def _outcome_of(error: BaseException | None) -> str:
    """``"succeeded"`` (no error), ``"failed"`` (tasks failed: ``BuildError``),
    ``"interrupted"`` (Ctrl-C) or ``"error"`` (anything else stopped the build: the store,
    the lock service, a task's output that could not be loaded)."""
    if error is None:
        return "succeeded"
    if isinstance(error, BuildError):
        return "failed"
    if isinstance(error, KeyboardInterrupt):
        return "interrupted"
    return "error"


@dataclass(frozen=True)
class BuildSummary:
    """What a build did, for :meth:`BuildHook.on_build_end`.

    ``ok`` is True only for a build that succeeded; ``outcome`` says how it ended
    (``"succeeded"``, ``"failed"``, ``"interrupted"`` or ``"error"``) and ``error`` is the
    exception that ended it as ``"Type: message"`` (None on success).
    """

    ok: bool
    workspace: str
    roots: tuple[TaskView, ...]
    total: int
    ran: tuple[TaskView, ...]
    reused: int
    failed: tuple[tuple[TaskView, str], ...]
    skipped: tuple[TaskView, ...]
    seconds: float
    #: the dependency tree, one task a line with what happened to it (``ran``, ``reused``,
    #: ``FAILED``, ``skipped``), shared subtrees once, as ``cairn status`` draws it
    tree: str = ""
    outcome: str = "succeeded"
    error: str | None = None

    def text(self) -> str:
        """A short plain-text summary (a few lines)."""
        roots = ", ".join(r.label for r in self.roots[:3])
        if len(self.roots) > 3:
            roots += f" and {len(self.roots) - 3} more"
        head = {"succeeded": "succeeded", "interrupted": "INTERRUPTED"}.get(self.outcome, "FAILED")
        lines = [
            f"cairn build {head}: {roots}",
            f"{self.total} task(s): {len(self.ran)} ran, {self.reused} reused, "
            f"{len(self.failed)} failed, {len(self.skipped)} skipped in {self.seconds:.1f}s "
            f"(workspace {self.workspace})",
        ]
        for view, error in self.failed[:10]:
            lines.append(f"- {view.label} #{view.task_id[:8]}: {error}")
        if len(self.failed) > 10:
            lines.append(f"- ... and {len(self.failed) - 10} more")
        if self.outcome in ("interrupted", "error") and self.error:
            lines.append(f"stopped by {self.error}")
        return "\n".join(lines)


class BuildHook(BaseListener):
    """Base class of build hooks: override the ``on_*`` methods you need.

    A hook is passed to ``cairn.build(..., hooks=[hook])`` or ``Pipeline.run(hooks=[...])``.
    Its methods run in the process that called ``build`` (not in workers), one event at a
    time, and are called with only the keywords they declare.
    """

    def on_task_start(self, *, task: TaskView) -> None:
        """A task is about to run."""

    def on_task_success(self, *, task: TaskView, record: Mapping[str, Any] | None) -> None:
        """A task finished; ``record`` is its run record (read-only), when known."""

    def on_task_failure(self, *, task: TaskView, error: BaseException) -> None:
        """A task raised ``error``."""

    def on_build_end(self, *, summary: BuildSummary, error: BaseException | None) -> None:
        """The build is over, whatever ended it: also when tasks failed (before
        ``BuildError`` is raised), on Ctrl-C, and when the store or the lock service failed.
        ``error`` is the exception the build raises next (None on success)."""

    # --- the build's listener events, translated to the hooks above -----------------------
    def _call(self, method: Any, **kwargs: Any) -> None:
        try:
            call_with_keywords(method, **kwargs)
        except Exception:
            log.exception("build hook %s.%s failed", type(self).__name__, method.__name__)

    def task_started(self, task: Task[Any]) -> None:
        self._call(self.on_task_start, task=TaskView.of(task))

    def task_succeeded(self, task: Task[Any], record: dict[str, Any] | None) -> None:
        view = _read_only(record) if record is not None else None
        self._call(self.on_task_success, task=TaskView.of(task), record=view)

    def task_failed(self, task: Task[Any], error: BaseException) -> None:
        self._call(self.on_task_failure, task=TaskView.of(task), error=error)

    def build_finished(
        self, *, plan: Any, outcome: Any, workspace: str, error: BaseException | None = None
    ) -> None:
        result = _outcome_of(error)
        summary = BuildSummary(
            ok=result == "succeeded",
            workspace=workspace,
            roots=_views(plan.roots),
            total=len(plan),
            ran=tuple(TaskView.of(t) for t in outcome.ran),
            reused=len(plan) - len(plan.to_run) + len(outcome.reused),
            failed=tuple(
                (TaskView.of(t), f"{type(e).__name__}: {e}") for t, e in outcome.failed.items()
            ),
            skipped=tuple(TaskView.of(t) for t in outcome.skipped),
            seconds=outcome.seconds,
            tree=_tree(plan, outcome),
            outcome=result,
            error=None if error is None else f"{type(error).__name__}: {error}",
        )
        self._call(self.on_build_end, summary=summary, error=error)


def _views(tasks: Any) -> tuple[TaskView, ...]:
    """Views of ``tasks``, leaving out one whose id cannot be computed (the build failed
    making ids, and the end of the build is reported all the same)."""
    out = []
    for task in tasks:
        try:
            out.append(TaskView.of(task))
        except CairnError:
            continue
    return tuple(out)


#: at most this many lines of the tree go into a summary (a Slack message stays readable)
TREE_LINES = 60


def _tree(plan: Any, outcome: Any) -> str:
    """The dependency tree of the build's roots, each task with what happened to it."""
    failed = {t.task_id for t in outcome.failed}
    ran = {t.task_id for t in outcome.ran}
    skipped = {t.task_id for t in outcome.skipped}
    by_id = {e.task.task_id: e.task for e in plan}

    def state(tid: str) -> str:
        if tid in failed:
            return "FAILED"
        if tid in ran:
            return "ran"
        if tid in skipped:
            return "skipped"
        return "reused"

    lines: list[str] = []
    if not by_id:  # planning itself failed: no tree to draw
        return ""
    shown: set[str] = set()
    stack = [(0, root.task_id) for root in reversed(plan.roots)]
    while stack and len(lines) < TREE_LINES:
        depth, tid = stack.pop()
        task = by_id.get(tid)
        if task is None:
            continue
        prefix = "  " * depth + ("└─ " if depth else "")
        if tid in shown:
            lines.append(f"{prefix}{task.label()} (shown above)")
            continue
        shown.add(tid)
        lines.append(f"{prefix}{state(tid):<7} {task.label()} #{tid[:8]}")
        stack.extend((depth + 1, d.task_id) for d in reversed(task._dependencies()))
    if stack:
        lines.append(f"... ({len(by_id)} tasks in all; cairn status draws the whole tree)")
    return "\n".join(lines)


SLACK_ENV = "CAIRN_SLACK_WEBHOOK_URL"


class SlackNotifier(BuildHook):
    """Posts a summary of each build to a Slack incoming webhook.

    Args:
        webhook_url: the webhook; default ``$CAIRN_SLACK_WEBHOOK_URL``.
        on: ``"always"`` (default) or ``"failure"`` (only builds with failed tasks).
        timeout: seconds to wait for Slack.

    A failure to notify (network, HTTP error) is logged and never fails the build.

    Raises:
        ConfigError: when no webhook URL is given or set, or ``on`` is not valid.
    """

    def __init__(
        self,
        webhook_url: str | None = None,
        *,
        on: Literal["always", "failure"] = "always",
        timeout: float = 10.0,
    ) -> None:
        url = webhook_url or os.environ.get(SLACK_ENV)
        if not url:
            raise ConfigError(
                f"no Slack webhook URL: pass webhook_url=, set {SLACK_ENV}, or set "
                "webhook_url under [notify.slack] in cairn.toml"
            )
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise ConfigError(f"the Slack webhook URL must start with https://, not {url[:12]!r}")
        if on not in ("always", "failure"):
            raise ConfigError(f"SlackNotifier on= must be 'always' or 'failure', not {on!r}")
        self.webhook_url = url
        self.on = on
        self.timeout = timeout

    @classmethod
    def from_config(cls, config: Config) -> SlackNotifier | None:
        """The notifier ``[notify.slack]`` of ``config`` asks for, or None.

        ``$CAIRN_SLACK_WEBHOOK_URL`` wins over the file's ``webhook_url``.
        """
        table = config.notify.get("slack")
        if table is None and not os.environ.get(SLACK_ENV):
            return None
        table = table if isinstance(table, Mapping) else {}
        unknown = set(table) - {"webhook_url", "on", "timeout"}
        if unknown:
            raise ConfigError(
                f"{config.source}: [notify.slack] has unknown key(s) {sorted(unknown)}; "
                "known: webhook_url, on, timeout"
            )
        return cls(
            os.environ.get(SLACK_ENV) or table.get("webhook_url"),
            on=table.get("on", "always"),
            timeout=float(table.get("timeout", 10.0)),
        )

    def __repr__(self) -> str:  # never show the secret part of the URL
        host = urllib.parse.urlsplit(self.webhook_url).netloc
        return f"SlackNotifier(host={host!r}, on={self.on!r})"

    def payload(self, summary: BuildSummary) -> dict[str, Any]:
        """The JSON body posted for ``summary``."""
        icon = ":white_check_mark:" if summary.ok else ":x:"
        text = f"{icon} {summary.text()}"
        if summary.tree:
            text += f"\n```\n{summary.tree}\n```"
        return {"text": text}

    def on_build_end(self, *, summary: BuildSummary, error: BaseException | None = None) -> None:
        if self.on == "failure" and summary.ok:
            return
        body = json.dumps(self.payload(summary)).encode()
        request = urllib.request.Request(
            self.webhook_url,
            data=body,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        host = urllib.parse.urlsplit(self.webhook_url).netloc
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            log.warning("could not notify Slack (%s): HTTP %s %s", host, exc.code, exc.reason)
        except (OSError, ValueError) as exc:
            log.warning("could not notify Slack (%s): %s", host, exc)
