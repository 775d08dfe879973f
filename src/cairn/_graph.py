"""The graph: which tasks a build needs, which are complete, and why the others will run.

Pure apart from asking the store whether records exist. Walks iteratively (no recursion),
descending only below tasks that will run: a complete task's inputs are not needed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from cairn._errors import CairnError
from cairn._records import is_complete
from cairn._store import Store
from cairn._task import Task, compute_ids

__all__ = ["Plan", "PlanEntry", "Rerun", "as_roots", "make_plan"]

Rerun = bool | Literal["all"]

NO_OUTPUT = "no output yet"
FORCED = "forced by rerun"


@dataclass(frozen=True)
class PlanEntry:
    """One task of a plan: whether it will run, and why (``reason`` is None if complete)."""

    task: Task[Any]
    will_run: bool
    reason: str | None
    dependencies: tuple[str, ...] = ()

    @property
    def state(self) -> str:
        """``"will run"`` or ``"complete"``."""
        return "will run" if self.will_run else "complete"


class Plan(Sequence[PlanEntry]):
    """Every task a build reaches, in dependency order, with what will run and why."""

    def __init__(self, entries: list[PlanEntry], roots: list[Task[Any]]) -> None:
        self.entries = entries
        self.roots = roots

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

    def __str__(self) -> str:
        rows = [(e.state, e.task.label(), e.reason or "") for e in self.entries]
        width = max((len(r[1]) for r in rows), default=4)
        width = min(width, 100)
        lines = [f"{'state':<9} {'task':<{width}} reason"]
        for state, name, reason in rows:
            shown = name if len(name) <= width else name[: width - 3] + "..."
            lines.append(f"{state:<9} {shown:<{width}} {reason}".rstrip())
        running = sum(1 for e in self.entries if e.will_run)
        lines.append(f"{running} of {len(self.entries)} task(s) will run")
        return "\n".join(lines)

    def __repr__(self) -> str:
        running = sum(1 for e in self.entries if e.will_run)
        return f"<Plan: {running} of {len(self.entries)} task(s) will run>"

    def _repr_html_(self) -> str:
        """The plan as an HTML table (Jupyter)."""
        from cairn._render import STATE_COLOURS, html_table

        running = sum(1 for e in self.entries if e.will_run)
        return html_table(
            ["state", "task", "reason"],
            [(e.state, e.task.label(), e.reason or "") for e in self.entries],
            colours=[STATE_COLOURS.get(e.state) for e in self.entries],
            footer=f"{running} of {len(self.entries)} task(s) will run",
        )


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


def make_plan(roots: list[Task[Any]], store: Store, *, rerun: Rerun = False) -> Plan:
    """Walk from ``roots`` and decide, for every task reached, whether it will run.

    ``rerun=True`` forces the roots, ``rerun="all"`` every task reached.
    """
    if rerun not in (True, False, "all"):
        raise CairnError(f"rerun must be True, False or 'all', not {rerun!r}")
    for root in roots:
        compute_ids(root)
    root_ids = {root.task_id for root in roots}
    entries: dict[str, PlanEntry] = {}
    order: list[PlanEntry] = []
    stack: list[tuple[Task[Any], bool]] = [(root, False) for root in reversed(roots)]
    while stack:
        task, expanded = stack.pop()
        tid = task.task_id
        if expanded:
            order.append(entries[tid])
            continue
        if tid in entries:
            continue
        if rerun == "all" or (rerun and tid in root_ids):
            will_run, reason = True, FORCED
        elif is_complete(task, store):
            will_run, reason = False, None
        else:
            will_run, reason = True, NO_OUTPUT
        if will_run:
            task._outputs()  # a bad output() (path, format) fails here, before anything runs
        deps = task._dependencies() if will_run else []
        entries[tid] = PlanEntry(task, will_run, reason, tuple(d.task_id for d in deps))
        stack.append((task, True))
        for dep in reversed(deps):
            if dep.task_id not in entries:
                stack.append((dep, False))
    return Plan(order, roots)
