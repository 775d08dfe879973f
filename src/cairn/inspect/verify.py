"""Verify a workspace: every run record against the outputs it lists.

Reports broken entries (a record whose output is missing, of another size or checksum, a
record that does not parse, or a record of a task that needs a broken one), orphans (files
with a task id in their name that no record lists) and stale temporary files
(``.name.<token>.tmp`` left by a killed write, older than ``stale_after`` seconds).
``repair=True`` removes the records of broken entries and the stale temporary files, so the
next build reruns exactly those tasks; orphans are only reported
(``cairn gc`` removes what no root needs).
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field
from typing import Any

from cairn._errors import CorruptRecordError
from cairn._settings import ConfigArg
from cairn.running.build import open_workspace
from cairn.storage.integrity import output_problem
from cairn.storage.layout import id_in_name, record_id, records_in
from cairn.storage.records import read_run_record
from cairn.storage.store import LocalStore, Store, contained

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


def _stale_temporaries(store: Store, older_than: float) -> list[str]:
    """Temporary files of atomic writes (local stores only make them) older than the cut."""
    if not isinstance(store, LocalStore):
        return []
    root = os.path.realpath(store.root)
    found: list[str] = []
    for directory, _dirs, files in os.walk(root):
        for name in files:
            if not (name.startswith(".") and name.endswith(".tmp")):
                continue
            full = os.path.join(directory, name)
            with contextlib.suppress(OSError):
                if os.lstat(full).st_mtime < older_than:
                    found.append(os.path.relpath(full, root).replace(os.sep, "/"))
    return sorted(found)


def verify(
    *,
    workspace: str | None = None,
    repair: bool = False,
    stale_after: float = 3600.0,
    storage_options: dict[str, Any] | None = None,
    config: ConfigArg = None,
) -> VerifyResult:
    """Check every run record of the workspace against its outputs (size and CRC-32).

    ``repair`` removes the records of broken entries and stale temporary files (older than
    ``stale_after`` seconds), so the next build reruns exactly those tasks.
    """
    store = open_workspace(workspace, storage_options, config)
    records = records_in(store)
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
    stale = tuple(_stale_temporaries(store, time.time() - stale_after))
    repaired: list[str] = []
    if repair:
        for path in [*broken, *stale]:
            inside = contained(store, path)
            if inside is not None:
                store.delete(inside)
                repaired.append(inside)
    return VerifyResult(store.url, len(records), broken, orphaned, stale, tuple(repaired))
