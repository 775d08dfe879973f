"""Run history files: what a plan compares against to say why a task will run.

Two kinds of small JSON files live in the store beside the outputs, under ``.cairn/``:

- **code manifests**, ``.cairn/code/{fingerprint}.json``: the components (qualified name ->
  digest) of one code fingerprint. Content-addressed, written once, before the first run
  record that names it; a run record holds only the fingerprint, so 5,000 records of one
  class do not repeat 200 components each.
- **family histories**, ``.cairn/history/{family}.json``: for each parameter set of a task
  family (keyed by the task's value key, which does not change with code), its latest run:
  id, end time, parameters (for display, short digests for matching, and which were at
  their default), code fingerprint
  and ``code_version``, dependency ids, and input-file fingerprints. One read per family
  tells a plan what every earlier run of that family looked like.

Histories are written by the build, batched (:mod:`cairn.running.recorder`): every few
seconds and at the end, each family's file is read, merged (the newer run of a parameter set
wins) and replaced atomically. Two
builds writing the same family at the same instant can lose an entry; a lost entry only
makes a plan's explanation less specific, never changes what runs (completeness is the run
record's presence).

This module keeps the files, as plain data; what an entry says about a task is made in
:mod:`cairn.planning.entries`.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from cairn.identity.fingerprint import Fingerprint
from cairn.storage.layout import history_path, manifest_path
from cairn.storage.records import read_json
from cairn.storage.store import Store

__all__ = [
    "HISTORY_VERSION",
    "ensure_manifest",
    "read_history",
    "read_manifest",
    "write_history",
]

HISTORY_VERSION = 1

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


def read_history(store: Store, family: str) -> dict[str, dict[str, Any]]:
    """The history of ``family``: value key -> latest run entry (empty when none)."""
    data = read_json(store, history_path(family))
    if data is None or data.get("family") != family:
        return {}
    entries = data.get("entries")
    return entries if isinstance(entries, dict) else {}


def write_history(store: Store, family: str, new: dict[str, dict[str, Any]]) -> None:
    """Merge ``new`` entries (value key -> entry) into the family's history file."""
    entries = read_history(store, family)
    for vkey, entry in new.items():
        old = entries.get(vkey)
        if old is None or str(old.get("end", "")) <= str(entry.get("end", "")):
            entries[vkey] = entry
    data = {"cairn_history": HISTORY_VERSION, "family": family, "entries": entries}
    store.write_bytes(history_path(family), json.dumps(data, separators=(",", ":")).encode())
