"""Verify a workspace: every run record against the outputs it lists (or only the records
of the graph below some root tasks).

Reports broken entries (a record whose output is missing, of another size or checksum, a
record that does not parse, or a record of a task that needs a broken one), orphans (files
with a task id in their name that no record lists) and stale temporary files
(``.name.<token>.tmp`` left by a killed write, older than ``stale_after`` seconds).
``repair=True`` removes the records of broken entries and the stale temporary files, so the
next build reruns exactly those tasks; orphans are only reported
(``cairn gc`` removes what no root needs).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from cairn._errors import CorruptRecordError
from cairn._settings import ConfigArg
from cairn.inspect.status import walk
from cairn.model.graph import compute_ids
from cairn.planning.plan import as_roots
from cairn.running.build import open_workspace
from cairn.storage.integrity import output_problem
from cairn.storage.layout import id_in_name, record_id, records_in
from cairn.storage.records import read_run_record
from cairn.storage.store import Store, contained, stale_temporaries

__all__ = ["VerifyResult", "verify"]


@dataclass(frozen=True)
class VerifyResult:
    """What :func:`verify` found: ``broken`` maps a record's path to what is wrong with it;
    ``orphaned`` and ``stale`` list paths; ``repaired`` lists what ``repair`` removed."""

    workspace: str
    checked: int
    broken: dict[str, str] = field(default_factory=dict)
    orphaned: tuple[str, ...] = ()
    stale: tuple[str, ...] = ()
    repaired: tuple[str, ...] = ()
    #: tasks of the graph verified (``verify(tasks)``) that have no run record yet
    missing: tuple[str, ...] = ()

    @property
    def clean(self) -> bool:
        """True when nothing is broken, orphaned or stale."""
        return not (self.broken or self.orphaned or self.stale)

    def __str__(self) -> str:
        lines = [f"checked {self.checked} run record(s) in {self.workspace}"]
        lines += [f"broken: {path}: {problem}" for path, problem in self.broken.items()]
        lines += [f"orphaned: {path} (no run record lists it)" for path in self.orphaned]
        lines += [
            f"stale: {path} (temporary file of a write that never finished)" for path in self.stale
        ]
        lines += [f"removed: {path}" for path in self.repaired]
        lines += [f"not built: {task}" for task in self.missing]
        lines.append("clean" if self.clean else self._summary())
        return "\n".join(lines)

    def _summary(self) -> str:
        advice = "" if self.repaired else "; run with repair (cairn verify --repair) to fix"
        return (
            f"{len(self.broken)} broken, {len(self.orphaned)} orphaned, "
            f"{len(self.stale)} stale{advice}"
        )


def _record_problem(
    store: Store, path: str, listed: set[str], needs: dict[str, list[str]]
) -> str | None:
    try:
        record = read_run_record(store, path)
    except CorruptRecordError as exc:
        return str(exc)
    upstream = record.get("dependencies", [])
    dynamic = record.get("dynamic_requirements", [])
    needs[path] = [d for d in upstream if isinstance(d, str)] + [
        d["task_id"] for d in dynamic if isinstance(d, dict) and isinstance(d.get("task_id"), str)
    ]
    for key, entry in record.outputs.items():
        output = entry.get("path")
        inside = contained(store, output) if isinstance(output, str) else None
        if inside is None:
            return f"its output {output!r} is outside the workspace"
        listed.add(inside)
        problem = output_problem(store, inside, entry, deep=True)
        if problem is not None:
            return f"the output {inside} ({key or 'its output'}): {problem}"
    return None


def verify(
    tasks: Any = None,
    *,
    workspace: str | None = None,
    repair: bool = False,
    stale_after: float = 3600.0,
    storage_options: dict[str, Any] | None = None,
    config: ConfigArg = None,
) -> VerifyResult:
    """Check run records against their outputs (size and CRC-32): every record of the
    workspace, or with ``tasks`` (a task or a list, as :func:`cairn.build` takes) only the
    records of the graph below them.

    ``repair`` removes the records of broken entries and stale temporary files (older than
    ``stale_after`` seconds), so the next build reruns exactly those tasks. Orphans and
    stale temporary files are looked for in the whole workspace only (no ``tasks``); tasks
    of the graph that were never built are listed as ``missing`` and do not make it unclean.
    """
    store = open_workspace(workspace, storage_options, config)
    missing: tuple[str, ...] = ()
    if tasks is None:
        records = records_in(store)
    else:
        roots, _ = as_roots(tasks)
        for root in roots:
            compute_ids(root)
        graph = [t for t in walk(roots) if type(t)._kind.keeps_record]
        paths = {t.record_path(): t for t in graph}
        records = [p for p in paths if store.exists(p)]
        missing = tuple(repr(paths[p]) for p in paths if p not in set(records))
    listed: set[str] = set()
    broken: dict[str, str] = {}
    needs: dict[str, list[str]] = {}
    for path in records:
        problem = _record_problem(store, path, listed, needs)
        if problem is not None:
            broken[path] = problem
    # what needs a broken task is broken too: repairing reruns it and its downstream
    changed = True
    while changed:
        changed = False
        broken_ids = {record_id(path): path for path in broken}
        for path, upstream in needs.items():
            hit = next((d for d in upstream if d in broken_ids), None)
            if path not in broken and hit is not None:
                broken[path] = f"it needs {broken_ids[hit]}, which is broken"
                changed = True
    orphaned: tuple[str, ...] = ()
    stale: tuple[str, ...] = ()
    if tasks is None:
        ids = {record_id(path) for path in records}
        orphaned = tuple(
            path
            for path in store.list()
            if not path.startswith(".cairn/")
            and record_id(path) is None
            and path not in listed
            and id_in_name(path) is not None
            and id_in_name(path) not in ids
        )
        stale = tuple(stale_temporaries(store, time.time() - stale_after))
    repaired: list[str] = []
    if repair:
        for path in [*broken, *stale]:
            inside = contained(store, path)
            if inside is not None:
                store.delete(inside)
                repaired.append(inside)
    return VerifyResult(store.url, len(records), broken, orphaned, stale, tuple(repaired), missing)
