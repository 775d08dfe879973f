"""The plan: which tasks a build needs, which are complete, and why the others will run.

A task is complete when its run record is in the store (:func:`is_complete`): the runner
writes it last, after every output. :func:`make_plan` is pure apart from reading the store:
whether records exist, and, for tasks that will run, the family histories that explain why
(:mod:`cairn.planning.explain`). It walks iteratively (no recursion), descending only below
tasks that will run: a complete task's inputs are not needed.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from cairn._errors import CairnError, MissingInputError
from cairn._render import STATE_COLOURS, html_table
from cairn.model.graph import compute_ids
from cairn.model.params import FileParameter
from cairn.model.task import Task
from cairn.planning.explain import FORCED, NO_OUTPUT, Change, Explainer
from cairn.storage import records
from cairn.storage.store import Store
from cairn.storage.verified import Verified

__all__ = [
    "FORCED",
    "NO_OUTPUT",
    "Change",
    "Plan",
    "PlanEntry",
    "Rerun",
    "as_roots",
    "is_complete",
    "make_plan",
    "read_record",
]

Rerun = bool | Literal["all"]


@dataclass(frozen=True)
class PlanEntry:
    """One task of a plan: whether it will run, and why (``reason`` is None if complete).

    ``changes`` holds the reasons as data (see :class:`Change`); ``reason`` joins them.
    ``forced`` is True when it runs because ``rerun`` asked for it, complete or not.
    """

    task: Task[Any]
    will_run: bool
    reason: str | None
    dependencies: tuple[str, ...] = ()
    changes: tuple[Change, ...] = ()
    forced: bool = False

    @property
    def state(self) -> str:
        """``"will run"`` or ``"complete"``."""
        return "will run" if self.will_run else "complete"

    def to_dict(self) -> dict[str, Any]:
        """The entry as JSON-compatible data, for tools."""
        return {
            "task": repr(self.task),
            "label": self.task.label(),
            "family": type(self.task).family,
            "task_id": self.task.task_id,
            "state": self.state,
            "reason": self.reason,
            "forced": self.forced,
            "changes": [
                {"kind": c.kind, "subject": c.subject, "text": str(c)} for c in self.changes
            ],
        }


class Plan(Sequence[PlanEntry]):
    """Every task a build reaches, in dependency order, with what will run and why.

    ``str(plan)`` is a readable table; :meth:`to_dicts` gives the same as data.
    """

    def __init__(
        self, entries: list[PlanEntry], roots: list[Task[Any]], made: str | None = None
    ) -> None:
        self.entries = entries
        self.roots = roots
        #: when planning began (UTC, ISO 8601): a run record that ends later was written by
        #: another runner meanwhile
        self.made = made if made is not None else _now()

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[PlanEntry]:
        return iter(self.entries)

    def __getitem__(self, index: Any) -> Any:
        return self.entries[index]

    @property
    def to_run(self) -> list[PlanEntry]:
        """The entries that will run, in dependency order."""
        return [e for e in self.entries if e.will_run]

    def to_dicts(self) -> list[dict[str, Any]]:
        """Every entry as JSON-compatible data (task, family, task_id, state, reason, changes)."""
        return [e.to_dict() for e in self.entries]

    def __str__(self) -> str:
        rows = [(e.state, e.task.label(), e.reason or "") for e in self.entries]
        width = max((len(r[1]) for r in rows), default=4)
        width = min(max(width, 4), 100)
        lines = [f"{'state':<9} {'task':<{width}} reason"]
        for state, name, reason in rows:
            shown = name if len(name) <= width else name[: width - 3] + "..."
            lines.append(f"{state:<9} {shown:<{width}} {reason}".rstrip())
        lines.append(self.summary())
        return "\n".join(lines)

    def summary(self) -> str:
        """``'2 of 3 task(s) will run'``, or ``'nothing will run: every task is complete'``."""
        running = sum(1 for e in self.entries if e.will_run)
        if not running and self.entries:
            return "nothing will run: every task is complete (building reuses them all)"
        return f"{running} of {len(self.entries)} task(s) will run"

    def __repr__(self) -> str:
        return f"<Plan: {self.summary()}>"

    def _repr_html_(self) -> str:
        """The plan as an HTML table (Jupyter)."""
        return html_table(
            ["state", "task", "reason"],
            [(e.state, e.task.label(), e.reason or "") for e in self.entries],
            colours=[STATE_COLOURS.get(e.state) for e in self.entries],
            footer=self.summary(),
        )


def is_complete(task: Task[Any], store: Store) -> bool:
    """True when ``task``'s run record is in ``store`` (for a task made outside cairn, such as
    ``ExternalFile``: when its outputs exist; see :mod:`cairn.model.kinds`)."""
    return type(task)._kind.is_complete(task, store)


def read_record(task: Task[Any], store: Store) -> dict[str, Any]:
    """Read ``task``'s run record from ``store``."""
    return records.read_record(store, task.record_path())


def as_roots(tasks: Any) -> tuple[list[Task[Any]], bool]:
    """Return ``(roots, single)`` for a task or a list/tuple of tasks."""
    if isinstance(tasks, Task):
        return [tasks], True
    if isinstance(tasks, list | tuple) and all(isinstance(t, Task) for t in tasks):
        return list(tasks), False
    raise CairnError(
        f"build() and plan() take a task or a list of tasks, not {type(tasks).__qualname__} "
        f"{tasks!r}"
    )


def _check_files(task: Task[Any]) -> None:
    """Raise when a file named by one of ``task``'s FileParameters does not exist."""
    for name, param in type(task)._params.items():
        if isinstance(param, FileParameter):
            value = task._values[name]
            if value is not None and task._content(name) is None:
                raise MissingInputError(
                    f"{task!r} needs the file {value!r} (parameter {name!r}), which does not "
                    "exist. Create the file, or pass another path."
                )


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="microseconds")


def make_plan(
    roots: list[Task[Any]],
    store: Store,
    *,
    rerun: Rerun = False,
    strict_check: bool = False,
    modification_time_check: bool = False,
) -> Plan:
    """Walk from ``roots`` and decide, for every task reached, whether it will run and why.

    ``rerun=True`` forces the roots, ``rerun="all"`` every task reached (tasks made outside
    cairn, such as ``ExternalFile``, never run). ``strict_check`` makes a task complete only
    when everything it needs is complete too; ``modification_time_check`` also reruns a
    complete task whose inputs finished after it. Both walk the whole graph below the roots.

    Raises:
        MissingInputError: when an input file outside the store that a task needs is missing.
    """
    if rerun not in (True, False, "all"):
        raise CairnError(f"rerun must be True, False or 'all', not {rerun!r}")
    made = _now()
    for root in roots:
        compute_ids(root)
    root_ids = {root.task_id for root in roots}
    full = strict_check or modification_time_check
    verified = Verified(store)  # one listing per folder instead of reads per task
    _prefetch(verified, roots)
    decided: dict[str, tuple[bool, bool, tuple[str, ...]]] = {}  # id -> will run, forced, deps
    order: list[Task[Any]] = []
    stack: list[tuple[Task[Any], bool, Task[Any] | None]] = [
        (root, False, None) for root in reversed(roots)
    ]
    while stack:
        task, expanded, parent = stack.pop()
        tid = task.task_id
        if expanded:
            order.append(task)
            continue
        if tid in decided:
            continue
        asked = rerun == "all" or (bool(rerun) and tid in root_ids)
        will_run = _will_run(task, store, verified, forced=asked, parent=parent)
        forced = asked and will_run
        if will_run:
            task._outputs()  # a bad output() (path, format) fails here, before anything runs
            _check_files(task)
        deps = task._dependencies() if will_run or full else []
        _prefetch(verified, deps)
        decided[tid] = (will_run, forced, tuple(d.task_id for d in deps))
        stack.append((task, True, parent))
        for dep in reversed(deps):
            if dep.task_id not in decided:
                stack.append((dep, False, task))
    verified.save()
    notes = _reuse_checks(order, decided, store, modification_time_check) if full else {}
    running = {tid for tid, (will_run, _, _) in decided.items() if will_run}
    explainer = Explainer(store) if running else None
    entries: list[PlanEntry] = []
    for task in order:
        will_run, forced, dep_ids = decided[task.task_id]
        changes: tuple[Change, ...] = ()
        if forced:
            changes = (Change("forced"),)
        elif task.task_id in notes:
            changes = (notes[task.task_id],)
        elif will_run and explainer is not None:
            changes = explainer.explain(task, running)
        reason = "; ".join(map(str, changes)) if will_run else None
        entries.append(PlanEntry(task, will_run, reason, dep_ids, changes, forced))
    return Plan(entries, roots, made)


def _prefetch(verified: Verified, tasks: list[Task[Any]]) -> None:
    """List the folders of the records of ``tasks`` at once (kinds that keep one)."""
    verified.prefetch(t.record_path() for t in tasks if type(t)._kind.keeps_record)


def _will_run(
    task: Task[Any],
    store: Store,
    verified: Verified,
    *,
    forced: bool,
    parent: Task[Any] | None,
) -> bool:
    """Whether a plan runs ``task``: forced, or not complete. A kind that keeps a run record
    is complete by its record, checked whole (outputs' sizes and checksums), unless the
    store's listings show it and its outputs as they were when last checked so."""
    kind = type(task)._kind
    if forced or not kind.keeps_record:
        return kind.will_run(task, store, forced=forced, parent=parent)
    path = task.record_path()
    known = verified.lookup(path)
    if known is not None:
        return not known
    record = kind.complete_record(task, store, deep=True)
    if record is None:
        return True
    verified.remember(path, record)
    return False


def _reuse_checks(
    order: list[Task[Any]],
    decided: dict[str, tuple[bool, bool, tuple[str, ...]]],
    store: Store,
    modification_time: bool,
) -> dict[str, Change]:
    """Turn complete tasks with a rerunning (or, optionally, newer) input into runs.

    ``order`` lists dependencies before dependents, so one pass settles the whole graph.
    """
    tasks = {t.task_id: t for t in order}
    ends: dict[str, str] = {}
    notes: dict[str, Change] = {}

    def end(tid: str) -> str:
        if tid not in ends:
            ends[tid] = str(read_record(tasks[tid], store).get("end", ""))
        return ends[tid]

    for task in order:
        tid = task.task_id
        will_run, forced, dep_ids = decided[tid]
        if will_run or not type(task)._kind.keeps_record:
            continue
        rerunning = [d for d in dep_ids if decided[d][0]]
        check = "modification_time_check" if modification_time else "strict_check"
        if rerunning:
            names = ", ".join(tasks[d].label() for d in rerunning[:3])
            notes[tid] = Change("upstream", names, None, "will run", check)
        elif modification_time:
            newer = [d for d in dep_ids if type(tasks[d])._kind.keeps_record and end(d) > end(tid)]
            if newer:
                names = ", ".join(tasks[d].label() for d in newer[:3])
                notes[tid] = Change("other", f"input {names} is newer than the output", note=check)
        if tid in notes:
            decided[tid] = (True, forced, dep_ids)
            task._outputs()
    return notes
