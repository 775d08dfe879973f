"""The state of every task in a graph: complete, will run, failed, running elsewhere, not
needed.

:func:`status` walks the whole graph from some roots (below complete tasks too), iteratively,
and returns a :class:`Status` that prints as a tree in a terminal (shared subtrees once) and
renders as HTML in Jupyter.
"""

from __future__ import annotations

import contextlib
import html
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from cairn._errors import MissingExtraError
from cairn._render import STATE_COLOURS, STATE_STYLES, to_text
from cairn._settings import ConfigArg, resolve
from cairn.locks import get_lock, lock_key
from cairn.model.task import Task
from cairn.pipeline import Pipeline
from cairn.planning.plan import as_roots, is_complete, make_plan, read_record
from cairn.running.failures import read_task_failure
from cairn.storage.failures import FailureRecord
from cairn.storage.store import Store, open_store

__all__ = ["Status", "TaskStatus", "status", "walk"]

NOT_NEEDED = "its output is missing, but every task that needs it is complete"


def _names_of(task: Task[Any]) -> set[str]:
    """What ``ignore_task_names`` may call a task: its class name, qualified name, family."""
    cls = type(task)
    return {cls.__name__, cls.__qualname__, cls.family}


def walk(roots: Sequence[Task[Any]], ignore: Collection[str] = ()) -> list[Task[Any]]:
    """Every task reachable from ``roots`` (below complete tasks too), dependencies first;
    tasks named in ``ignore`` (class name or family) are left out, with what only they need.
    """
    ignored = set(ignore)
    order: list[Task[Any]] = []
    seen: set[str] = set()
    stack: list[tuple[Task[Any], bool]] = [(root, False) for root in reversed(roots)]
    while stack:
        task, expanded = stack.pop()
        if expanded:
            order.append(task)
            continue
        tid = task.task_id
        if tid in seen or (ignored and _names_of(task) & ignored):
            continue
        seen.add(tid)
        stack.append((task, True))
        stack.extend((dep, False) for dep in reversed(task._dependencies()))
    return order


@dataclass(frozen=True)
class TaskStatus:
    """One task's state: ``complete``, ``will run``, ``failed`` (its last attempt failed:
    ``failure`` says how), ``running elsewhere`` or ``not needed``."""

    task: Task[Any]
    state: str
    reason: str | None
    dependencies: tuple[str, ...]
    holder: str | None = None
    failure: FailureRecord | None = None

    @property
    def task_id(self) -> str:
        """The task's id."""
        return self.task.task_id


class Status(Sequence[TaskStatus]):
    """The state of every task reachable from some roots, dependencies first.

    Index it by position, or by task or task id: ``status[task].state``.
    """

    def __init__(
        self,
        entries: list[TaskStatus],
        roots: list[Task[Any]],
        workspace: str,
        store: Store | None = None,
        *,
        abbr: bool = True,
    ) -> None:
        self.abbr = abbr
        self.entries = entries
        self.roots = roots
        self.workspace = workspace
        self.by_id = {e.task_id: e for e in entries}
        self._store = store

    def to_frame(self) -> Any:
        """A pandas DataFrame with a row per task (gokart's ``make_task_info_as_table``).

        Columns: ``name`` (family), ``task`` (short label), ``task_id``, ``state``,
        ``complete``, ``outputs`` (workspace-relative paths), ``parameters``,
        ``duration_s`` and ``log`` (the captured log lines, from the run record; None when
        not complete), ``requirements`` (task ids).

        Raises:
            MissingExtraError: when pandas is not installed.
        """
        try:
            import pandas as pd
        except ImportError:
            raise MissingExtraError.for_module("pandas", "pandas", "Status.to_frame()") from None
        rows = []
        for entry in self.entries:
            task = entry.task
            cls = type(task)
            duration = log = None
            if entry.state == "complete" and self._store is not None and cls._kind.keeps_record:
                with contextlib.suppress(OSError, ValueError):
                    record = read_record(task, self._store)
                    duration, log = record.get("duration_s"), record.get("log")
            rows.append(
                {
                    "name": cls.family,
                    "task": task.label(),
                    "task_id": entry.task_id,
                    "state": entry.state,
                    "complete": entry.state == "complete",
                    "outputs": [t.path for t in task._outputs().values()],
                    "parameters": dict(task._serialized()),
                    "duration_s": duration,
                    "log": log,
                    "requirements": list(entry.dependencies),
                }
            )
        return pd.DataFrame(rows)

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[TaskStatus]:
        return iter(self.entries)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, Task):
            key = key.task_id
        if isinstance(key, str):
            return self.by_id[key]
        return self.entries[key]

    def counts(self) -> dict[str, int]:
        """How many tasks are in each state."""
        out: dict[str, int] = {}
        for entry in self.entries:
            out[entry.state] = out.get(entry.state, 0) + 1
        return out

    def summary(self) -> str:
        """``'3 tasks: 2 complete, 1 will run'``."""
        parts = ", ".join(f"{n} {state}" for state, n in self.counts().items())
        return f"{len(self.entries)} task(s): {parts}"

    def lines(self) -> Iterator[tuple[int, TaskStatus, bool]]:
        """The tree, depth first from each root: ``(depth, entry, shown_above)``.

        A task reached a second time is yielded once more with ``shown_above=True`` and
        its subtree is not repeated.
        """
        shown: set[str] = set()
        stack = [(0, root.task_id) for root in reversed(self.roots)]
        while stack:
            depth, tid = stack.pop()
            entry = self.by_id[tid]
            if tid in shown:
                yield depth, entry, True
                continue
            shown.add(tid)
            yield depth, entry, False
            stack.extend(
                (depth + 1, dep) for dep in reversed(entry.dependencies) if dep in self.by_id
            )

    #: Deeper levels are not drawn (a terminal cannot indent them); a note counts them.
    MAX_DEPTH = 24

    def _shown_lines(self) -> tuple[list[tuple[int, TaskStatus, bool]], int]:
        shown, hidden = [], set()
        for depth, entry, above in self.lines():
            if depth > self.MAX_DEPTH:
                hidden.add(entry.task_id)
            else:
                shown.append((depth, entry, above))
        drawn = {entry.task_id for _, entry, _ in shown}
        return shown, len(hidden - drawn)

    def _hidden_note(self, hidden: int) -> str:
        return (
            f"({hidden} task(s) more than {self.MAX_DEPTH} levels deep not drawn; "
            "the plan lists every task)"
        )

    def __rich__(self) -> Any:
        from rich.console import Group
        from rich.text import Text
        from rich.tree import Tree

        trees: list[Any] = []
        parents: list[Any] = []
        shown, hidden = self._shown_lines()
        for depth, entry, above in shown:
            label = _status_label(entry, above, self.abbr)
            if depth == 0:
                tree = Tree(label, guide_style="dim")
                trees.append(tree)
                parents = [tree]
            else:
                del parents[depth:]
                parents.append(parents[depth - 1].add(label))
        if hidden:
            trees.append(Text(self._hidden_note(hidden), style="dim"))
        return Group(*trees, Text(self.summary(), style="bold"))

    def __str__(self) -> str:
        return to_text(self)

    def __repr__(self) -> str:
        return f"<Status: {self.summary()}>"

    def _repr_html_(self) -> str:
        out = ['<div style="font-family:monospace;font-size:13px">']
        shown, hidden = self._shown_lines()
        for depth, entry, above in shown:
            colour = STATE_COLOURS.get(entry.state, "#fff")
            text = _name(entry.task, self.abbr) + (" (shown above)" if above else "")
            reason = f" - {entry.reason}" if entry.reason and not above else ""
            out.append(
                f'<div style="margin-left:{depth * 1.5}em"><span style="background:{colour};'
                f'padding:0 4px">{html.escape(entry.state)}</span> {html.escape(text)} '
                f'<span style="color:#888">#{entry.task_id[:8]}{html.escape(reason)}</span></div>'
            )
        if hidden:
            out.append(f"<div>{html.escape(self._hidden_note(hidden))}</div>")
        out.append(f"<div><b>{html.escape(self.summary())}</b></div></div>")
        return "".join(out)


def _name(task: Task[Any], abbr: bool) -> str:
    """A task's name in the tree: upstream tasks as ``Name#id8``, or in full (``abbr=False``)."""
    return task.label() if abbr else str(task)


def _status_label(entry: TaskStatus, above: bool, abbr: bool = True) -> Any:
    from rich.text import Text

    text = Text()
    text.append(f"{entry.state:<9}", style=STATE_STYLES.get(entry.state, ""))
    text.append(" ")
    text.append(_name(entry.task, abbr), style="dim" if above else "bold")
    text.append(f"  #{entry.task_id[:8]}", style="dim")
    if above:
        text.append("  (shown above)", style="dim")
    elif entry.holder:
        text.append(f"  held by {entry.holder}", style="dim")
    elif entry.reason and entry.state in ("will run", "failed"):
        text.append(f"  {entry.reason}", style="dim")
    return text


def status(
    tasks: Any,
    *,
    workspace: str | None = None,
    lock: Any = None,
    storage_options: dict[str, Any] | None = None,
    config: ConfigArg = None,
    ignore_task_names: Collection[str] | None = None,
    abbr: bool = True,
) -> Status:
    """The dependency tree of ``tasks`` (a task, a list of tasks, or a
    :class:`cairn.Pipeline`: from the nodes whose outputs no other node reads) with each
    task's state.

    ``ignore_task_names`` leaves out tasks by class name or family (and what only they
    need), as gokart's ``make_tree_info``; ``abbr=False`` shows every task with all its
    parameters in full instead of upstream tasks as ``Name#id8``.

    States: ``complete``; ``will run`` (with the reason); ``running elsewhere`` when its
    lock is held by another runner (needs a lock: ``lock="file"`` or a Redis URL, or one
    from the environment or ``config``); ``not needed`` when its output is missing but
    everything that needs it is complete. Settings resolve as in :func:`cairn.build`.
    """
    if isinstance(tasks, Pipeline):  # one tree from the nodes nothing else reads
        tasks = tasks.final_tasks()
    roots, _ = as_roots(tasks)
    settings = resolve(config, workspace=workspace, lock=lock, storage_options=storage_options)
    store = open_store(settings.workspace, settings.storage_options)
    planned = {e.task.task_id: e for e in make_plan(roots, store)}
    the_lock = get_lock(settings.lock, store.url)
    check_locks = the_lock.exclusive
    entries: list[TaskStatus] = []
    try:
        for task in walk(roots, ignore_task_names or ()):
            tid = task.task_id
            deps = tuple(d.task_id for d in task._dependencies())
            entry = planned.get(tid)
            holder = None
            if entry is None:
                done = is_complete(task, store)
                state, reason = ("complete", None) if done else ("not needed", NOT_NEEDED)
            else:
                state, reason = entry.state, entry.reason
            if state == "will run" and check_locks:
                key = lock_key(store.url, tid)
                lease = the_lock.acquire(key)
                if lease is None:
                    state, holder = "running elsewhere", the_lock.holder(key) or "another runner"
                else:
                    lease.release()
            failure = None
            if state == "will run":
                failure = read_task_failure(store, task)
                if failure is not None:
                    state, reason = "failed", failure.summary
            entries.append(TaskStatus(task, state, reason, deps, holder, failure))
    finally:
        if the_lock is not settings.lock:
            the_lock.close()
    shown = {e.task_id for e in entries}
    kept = [r for r in roots if r.task_id in shown]
    return Status(entries, kept, store.url, store, abbr=abbr)
