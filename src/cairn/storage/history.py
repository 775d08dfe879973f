"""Run history files: what a plan compares against to say why a task will run.

Two kinds of small JSON files live in the store beside the outputs, under ``.cairn/``:

- **code manifests**, ``.cairn/code/{fingerprint}.json``: the components (qualified name ->
  digest) of one code fingerprint. Content-addressed, written once, before the first run
  record that names it; a run record holds only the fingerprint, so 5,000 records of one
  class do not repeat 200 components each.
- **family histories**, in segments under ``.cairn/history/{family}/``: for each parameter
  set of a task family (keyed by the task's value key, which does not change with code), its
  latest run: id, end time, parameters (for display, short digests for matching, and which
  were at their default), code fingerprint and ``code_version``, dependency ids, and
  input-file fingerprints (the empty ones left out). One listing and a few reads per family
  tell a plan what every earlier run of that family looked like.

Histories are written by the build, batched (:mod:`cairn.running.recorder`): every few
seconds and at the end, the entries of the tasks that finished since the last write go into
new segment files of their families, ``{time}-{token}-{entries}.json``, of at most
:data:`SEGMENT_ENTRIES` entries each. A write never reads or rewrites what is already there,
so its cost is that of what is new, and it works the same on object stores (one PUT, no
append). A reader merges every segment of a family: for one parameter set, the entry with the
later end time wins (on a tie, the later segment's). When a family has :data:`COMPACT_AT`
small segments (under :data:`SMALL_SEGMENT` entries: small builds), the next write merges
them into one and deletes them, so a family built many times in small builds keeps few
files, and a merge never holds more than :data:`SEGMENT_ENTRIES` entries. The single file
``.cairn/history/{family}.json`` of earlier versions is still read, as the oldest segment.

Two builds writing one family at once each write their own segments, so neither loses the
other's entries; a compaction racing another can only make a plan read an entry twice or,
for a moment, miss one. A lost or unreadable entry only makes a plan's explanation less
specific, never changes what runs (completeness is the run record's presence); an unreadable
segment is skipped with a warning naming it.

This module keeps the files, as plain data; what an entry says about a task is made in
:mod:`cairn.planning.entries`.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from typing import Any

from cairn.identity.fingerprint import Fingerprint
from cairn.storage.layout import (
    history_dir,
    history_path,
    history_segment_name,
    history_segment_path,
    manifest_path,
)
from cairn.storage.records import read_json
from cairn.storage.store import Store, is_temporary

__all__ = [
    "COMPACT_AT",
    "HISTORY_VERSION",
    "SEGMENT_ENTRIES",
    "SMALL_SEGMENT",
    "compact_history",
    "ensure_manifest",
    "history_segments",
    "read_history",
    "read_manifest",
    "segment_parts",
    "write_history",
]

log = logging.getLogger("cairn")

#: Version of the history format: 1 was one file per family, 2 is segments.
HISTORY_VERSION = 2
#: Most entries one segment holds: a larger write is split into several segments.
SEGMENT_ENTRIES = 10_000
#: A segment of fewer entries than this is small, and is merged with others.
SMALL_SEGMENT = 500
#: How many small segments of a family make the next write merge them.
COMPACT_AT = 16

_manifests_known: set[tuple[str, str]] = set()
_manifests_lock = threading.Lock()


def ensure_manifest(store: Store, fp: Fingerprint) -> str | None:
    """Write the manifest of ``fp`` unless the store has it; return its path.

    None when ``fp`` has no components (pinned by ``code_version``, or fingerprinting off).
    Checks the store once per fingerprint per process.
    """
    if not fp.components:
        return None
    path = manifest_path(fp.digest)
    key = (store.url, fp.digest)
    if key in _manifests_known:
        return path
    with _manifests_lock:  # tasks of one class finishing on several threads write it once
        if key not in _manifests_known:
            if not store.exists(path):
                data = {"fingerprint": fp.digest, "components": fp.components}
                store.write_bytes(path, json.dumps(data, sort_keys=True).encode("utf-8"))
            _manifests_known.add(key)
    return path


def read_manifest(store: Store, fingerprint: str) -> dict[str, str] | None:
    """The components of code fingerprint ``fingerprint``, or None when unknown."""
    data = read_json(store, manifest_path(fingerprint))
    components = data.get("components") if data is not None else None
    return components if isinstance(components, dict) else None


def history_segments(store: Store, family: str) -> list[tuple[str, int | None]]:
    """The segments of ``family``'s history, oldest first: ``(path, number of entries)``,
    the number None for a ``.json`` file of the folder whose name does not say it."""
    folder = history_dir(family)
    found = []
    for path in store.list(folder):
        name = path[len(folder) + 1 :]
        if not path.startswith(folder + "/") or "/" in name or not name.endswith(".json"):
            continue
        if is_temporary(name):
            continue
        parsed = history_segment_name(path)
        found.append((name, path, parsed[1] if parsed else None))
    return [(path, count) for _, path, count in sorted(found)]


def read_history(store: Store, family: str) -> dict[str, dict[str, Any]]:
    """The history of ``family``: value key -> latest run entry (empty when none).

    Merges the file of earlier versions and every segment; one that cannot be read is
    skipped with a warning (the plan only says less about why its tasks run)."""
    entries = _read_part(store, history_path(family), family) or {}
    try:
        segments = history_segments(store, family)
    except OSError as exc:
        _unreadable(store, history_dir(family), family, exc)
        return entries
    for path, _ in segments:
        found = _read_part(store, path, family)
        if found:
            _merge(entries, found)
    return entries


def write_history(store: Store, family: str, new: dict[str, dict[str, Any]]) -> None:
    """Add ``new`` entries (value key -> entry) to ``family``'s history as new segments (of
    at most :data:`SEGMENT_ENTRIES` each, split evenly); then, after a small write, merge
    the family's small segments when there are :data:`COMPACT_AT` of them."""
    if not new:
        return
    items = list(new.items())
    for part in segment_parts(len(items)):
        _write_segment(store, family, dict(items[part]))
    if len(items) < SMALL_SEGMENT:
        compact_history(store, family)


def segment_parts(count: int) -> list[slice]:
    """How ``count`` entries are split into segments: evenly, at most
    :data:`SEGMENT_ENTRIES` in each (so a large write leaves no small remainder)."""
    if count <= 0:
        return []
    parts = -(-count // SEGMENT_ENTRIES)
    size = -(-count // parts)
    return [slice(start, start + size) for start in range(0, count, size)]


def compact_history(store: Store, family: str) -> None:
    """Merge ``family``'s small segments into one when there are :data:`COMPACT_AT` of
    them: the oldest first, no more than :data:`SEGMENT_ENTRIES` entries in all. The merged
    segment is written before the others are deleted; one that cannot be read is left."""
    small = [
        (p, n) for p, n in history_segments(store, family) if n is not None and n < SMALL_SEGMENT
    ]
    if len(small) < COMPACT_AT:
        return
    chosen: list[str] = []
    total = 0
    for path, count in small:
        if total + count > SEGMENT_ENTRIES:
            break
        chosen.append(path)
        total += count
    merged: dict[str, dict[str, Any]] = {}
    done: list[str] = []
    for path in chosen:
        found = _read_part(store, path, family)
        if found is not None:
            _merge(merged, found)
            done.append(path)
    if len(done) < 2:
        return
    newest = history_segment_name(done[-1])
    _write_segment(store, family, merged, stamp=newest[0] if newest else None)
    for path in done:
        store.delete(path)


def _write_segment(
    store: Store, family: str, entries: dict[str, dict[str, Any]], stamp: str | None = None
) -> None:
    """Write ``entries`` as one new segment of ``family``, named after ``stamp`` (a time in
    nanoseconds; now when None), a random token and the number of entries."""
    stamp = stamp or f"{time.time_ns():020d}"
    path = history_segment_path(family, stamp, secrets.token_hex(6), len(entries))
    data = {"cairn_history": HISTORY_VERSION, "family": family, "entries": entries}
    store.write_bytes(path, json.dumps(data, separators=(",", ":")).encode())


def _read_part(store: Store, path: str, family: str) -> dict[str, dict[str, Any]] | None:
    """The entries of one history file (a segment, or the file of earlier versions); None
    when it is missing (merged away meanwhile), holds another family (whose name maps to
    the same file), or cannot be read (with a warning)."""
    try:
        with store.open_read(path) as file:
            data = json.loads(file.read())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        _unreadable(store, path, family, exc)
        return None
    entries = data.get("entries") if isinstance(data, dict) else None
    version = data.get("cairn_history") if isinstance(data, dict) else None
    if isinstance(version, int) and version > HISTORY_VERSION:
        _unreadable(store, path, family, f"written by a newer cairn (format {version})")
        return None
    if not isinstance(entries, dict) or not isinstance(version, int):
        _unreadable(store, path, family, "not a cairn history")
        return None
    return entries if data.get("family") == family else None


def _merge(entries: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]]) -> None:
    """Merge ``new`` into ``entries``: for one value key the later end wins (on a tie, new)."""
    for vkey, entry in new.items():
        old = entries.get(vkey)
        if old is None or str(old.get("end", "")) <= str(entry.get("end", "")):
            entries[vkey] = entry


def _unreadable(store: Store, path: str, family: str, why: object) -> None:
    if isinstance(why, BaseException):
        why = f"{type(why).__name__}: {why}"
    log.warning(
        "could not read the run history %s of %s in the workspace %s (%s); plans will say "
        "less about why its tasks run. Delete the file if it stays unreadable: builds write "
        "new ones",
        path,
        family,
        store.url,
        why,
    )
