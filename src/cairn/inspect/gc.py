"""Garbage collection: delete the outputs and records no root needs.

Everything reachable from the given roots is kept: their run records and their outputs, and
those of every task below them. Deleted are the run records of other tasks, the outputs
those records list, and files whose name carries the id of a task that is not kept
(leftovers of runs killed before writing their record), and temporary files of writes
killed before they finished (``.name.<token>.tmp``, older than ``stale_after``). Other files
are left alone.

Each task's record is deleted before its outputs, so a gc interrupted at any moment leaves
no record that points at a deleted output.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from cairn._render import html_table, human_bytes, to_text
from cairn._settings import ConfigArg
from cairn.inspect.status import walk
from cairn.model.graph import compute_ids
from cairn.planning.plan import as_roots
from cairn.running.build import open_workspace
from cairn.storage.layout import id_in_name, record_id
from cairn.storage.records import read_record_or_none
from cairn.storage.store import LocalStore, Store, contained, stale_temporaries

__all__ = ["GcResult", "gc"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GcResult(Sequence[tuple[str, int]]):
    """What ``gc`` deleted (or, with ``dry_run``, would delete): ``(path, bytes)`` pairs."""

    deleted: tuple[tuple[str, int], ...]
    kept_tasks: int
    dry_run: bool
    workspace: str

    def __len__(self) -> int:
        return len(self.deleted)

    def __iter__(self) -> Iterator[tuple[str, int]]:
        return iter(self.deleted)

    def __getitem__(self, index: Any) -> Any:
        return self.deleted[index]

    @property
    def bytes(self) -> int:
        """Total size of what was deleted."""
        return sum(size for _, size in self.deleted)

    def summary(self) -> str:
        """One line: how many files and bytes, and whether anything was deleted."""
        verb = "would delete" if self.dry_run else "deleted"
        return (
            f"{verb} {len(self.deleted)} file(s), {human_bytes(self.bytes)} ({self.bytes} "
            f"bytes); kept {self.kept_tasks} task(s) reachable from the roots"
            + (" (dry run: nothing was deleted)" if self.dry_run else "")
        )

    def __rich__(self) -> Any:
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        table = Table()
        table.add_column("would delete" if self.dry_run else "deleted")
        table.add_column("size", justify="right")
        for path, size in self.deleted:
            table.add_row(path, human_bytes(size))
        return Group(table, Text(self.summary()))

    def __str__(self) -> str:
        return to_text(self)

    def __repr__(self) -> str:
        return f"<GcResult: {self.summary()}>"

    def _repr_html_(self) -> str:
        rows = [(path, human_bytes(size)) for path, size in self.deleted]
        return html_table(["path", "size"], rows, footer=self.summary())


def gc(
    tasks: Any,
    *,
    workspace: str | None = None,
    dry_run: bool = False,
    stale_after: float = 3600.0,
    storage_options: dict[str, Any] | None = None,
    config: ConfigArg = None,
) -> GcResult:
    """Delete what the workspace holds that no task reachable from ``tasks`` needs, and the
    temporary files of writes killed before they finished (older than ``stale_after``
    seconds: a younger one may belong to a write still running).

    Returns what was deleted (with ``dry_run=True``, what would be; nothing is deleted).
    """
    roots, _ = as_roots(tasks)
    store = open_workspace(workspace, storage_options, config)
    for root in roots:
        compute_ids(root)
    kept = walk(roots)
    keep_ids = {task.task_id for task in kept}
    protected: set[str] = set()
    for task in kept:
        protected.add(task.record_path())
        protected.update(target.path for target in task._outputs().values())

    files = list(store.list())
    doomed: list[str] = []
    for path in files:
        tid = record_id(path)
        if tid is None or tid in keep_ids or path in protected:
            continue
        doomed.append(path)  # the record first, then the outputs it lists
        record = read_record_or_none(store, path)  # a corrupt one: its files go by their id
        for output in record.outputs.values() if record is not None else ():
            out = output["path"]
            if out not in protected:
                doomed.append(out)
    listed = set(doomed)
    for path in files:
        tid = id_in_name(path)
        if tid is not None and tid not in keep_ids and path not in protected and path not in listed:
            doomed.append(path)
            listed.add(path)

    doomed.extend(stale_temporaries(store, time.time() - stale_after))

    deleted: list[tuple[str, int]] = []
    seen: set[str] = set()
    for listed_path in doomed:
        inside = contained(store, listed_path)  # a record may list anything: stay inside
        if inside is None:
            log.warning(
                "gc: not deleting %r, which a run record lists but is outside the workspace %s",
                listed_path,
                store.url,
            )
            continue
        if inside in seen or inside in protected or not store.exists(inside):
            continue
        seen.add(inside)
        size = store.size(inside)
        if not dry_run:
            store.delete(inside)
        deleted.append((inside, size))
    if not dry_run:
        _remove_empty_directories(store, [p for p, _ in deleted])
    return GcResult(tuple(deleted), len(kept), dry_run, store.url)


def _remove_empty_directories(store: Store, paths: list[str]) -> None:
    """Remove directories of a local store that deleting ``paths`` left empty."""
    if not isinstance(store, LocalStore):
        return
    directories = {os.path.dirname(p) for p in paths if os.path.dirname(p)}
    for deepest in sorted(directories, key=len, reverse=True):
        directory = deepest
        while directory and directory != os.path.dirname(directory):
            with contextlib.suppress(OSError):  # not empty, or gone already
                os.rmdir(os.path.join(store.root, directory))
            directory = os.path.dirname(directory)
