"""Completeness from listings: which run records, and the outputs they list, were checked.

Checking that a task is complete on an object store costs requests: read its run record,
then read each output to compare its size and checksum with the record. Each request is a
round trip (10 ms and more), so a plan of 1,000 complete tasks waited many seconds on them.

A listing of a folder (one request per 1,000 objects) says which records exist, and the size
and version of every object: S3's ETag or GCS's generation, which change whenever the
content does. So once a record and its outputs have been checked whole, the versions they
had then are kept in a small index beside them, ``.cairn/verified/{folder}.json``; while a
later listing shows the same record version and the same output sizes and versions, the
same bytes are there and need not be read again. Anything else (a record missing from the
listing is simply incomplete; a changed or unknown version) is checked the usual way, whole.

The index is a cache of checks already made, never the authority: a lost or stale index
costs reads, not correctness. Stores whose listings carry no version (a local directory,
``memory://``) do not use one. A folder is listed only when at least :data:`WORTH_LISTING`
of its records are wanted at once: a plan of one task in a folder of 100,000 objects reads
that task's few objects rather than a hundred pages of listing.
"""

from __future__ import annotations

import json
import logging
import posixpath
from collections import Counter
from collections.abc import Iterable
from typing import Any

from cairn._errors import StoreError
from cairn.storage.layout import verified_path
from cairn.storage.records import RunRecord, read_json
from cairn.storage.store import Listed, Store, contained

__all__ = ["Verified"]

log = logging.getLogger(__name__)

_FORMAT = 1

#: How many records of one folder a batch must want before the folder is listed.
WORTH_LISTING = 10


class Verified:
    """What the listings of one store say of its records, with the index of checked ones.

    :meth:`lookup` answers from listings and indexes alone; :meth:`remember` notes a record
    just checked whole; :meth:`save` writes the indexes that changed.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._listings: dict[str, dict[str, Listed] | None] = {}
        self._indexes: dict[str, dict[str, Any]] = {}
        self._changed: set[str] = set()

    def listing(self, folder: str) -> dict[str, Listed] | None:
        """The versions in ``folder`` if it was listed (:meth:`prefetch`), else None."""
        return self._listings.get(folder)

    def _list(self, folder: str) -> None:
        if folder not in self._listings:
            self._listings[folder] = self.store.versions(folder)

    def _index(self, folder: str) -> dict[str, Any]:
        if folder not in self._indexes:
            data = read_json(self.store, verified_path(folder)) or {}
            entries = data.get("records") if data.get("format") == _FORMAT else None
            self._indexes[folder] = entries if isinstance(entries, dict) else {}
        return self._indexes[folder]

    def prefetch(
        self,
        record_paths: Iterable[str],
        outputs: Iterable[str] = (),
        *,
        least: int = WORTH_LISTING,
    ) -> None:
        """List, once each, the folders holding at least ``least`` of ``record_paths``, read
        their indexes, then list the folders holding at least ``least`` of the outputs those
        indexes name for them (or of ``outputs``, when given: records not indexed yet)."""
        paths = list(record_paths)
        wanted = Counter(posixpath.dirname(p) for p in paths)
        for folder, count in wanted.items():
            if count >= least:
                self._list(folder)
        named = list(outputs)
        for path in paths:
            folder = posixpath.dirname(path)
            if self.listing(folder) is None:
                continue
            entry = self._index(folder).get(path)
            if isinstance(entry, dict) and isinstance(entry.get("outputs"), dict):
                named.extend(entry["outputs"])
        for folder, count in Counter(posixpath.dirname(p) for p in named).items():
            if count >= least:
                self._list(folder)

    def lookup(self, record_path: str) -> bool | None:
        """False when the listing has no record at ``record_path`` (incomplete); True when
        the record and its outputs have the versions they had when checked whole; None when
        only reading them can tell (the folder was not listed, or the store's listings carry
        no versions)."""
        folder = posixpath.dirname(record_path)
        listing = self.listing(folder)
        if listing is None:
            return None
        listed = listing.get(record_path)
        if listed is None:
            return False
        entry = self._index(folder).get(record_path)
        if not isinstance(entry, dict) or entry.get("record") != listed[1]:
            return None
        outputs = entry.get("outputs")
        if not isinstance(outputs, dict):
            return None
        for path, seen in outputs.items():
            around = self.listing(posixpath.dirname(path))
            if around is None or not isinstance(seen, list) or around.get(path) != tuple(seen):
                return None
        return True

    def remember(self, record_path: str, record: RunRecord) -> None:
        """Note that ``record`` (at ``record_path``) and its outputs were just checked whole,
        with the versions the listings showed before the check."""
        folder = posixpath.dirname(record_path)
        listing = self.listing(folder)
        listed = listing.get(record_path) if listing else None
        if listed is None:
            return
        outputs: dict[str, list[Any]] = {}
        for entry in record.outputs.values():
            path = contained(self.store, entry["path"])
            if path is None:
                continue
            around = self.listing(posixpath.dirname(path))
            seen = around.get(path) if around else None
            if seen is None or seen[0] != entry.get("size"):
                return  # not as it was checked: nothing to remember
            outputs[path] = list(seen)
        self._index(folder)[record_path] = {"record": listed[1], "outputs": outputs}
        self._changed.add(folder)

    def save(self) -> None:
        """Write the indexes that changed. One that cannot be written (a read-only store) is
        skipped: the next plan checks those records whole again."""
        for folder in sorted(self._changed):
            listing = self._listings.get(folder) or {}
            kept = {k: v for k, v in self._indexes[folder].items() if k in listing}
            data = {"format": _FORMAT, "records": kept}
            try:
                self.store.write_bytes(verified_path(folder), json.dumps(data).encode())
            except StoreError as exc:
                log.debug("could not write %s: %s", verified_path(folder), exc)
        self._changed.clear()
