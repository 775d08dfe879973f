"""Run history: what a plan compares against to say why a task will run.

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

Histories are written by the build, batched: every few seconds and at the end, each family's
file is read, merged (the newer run of a parameter set wins) and replaced atomically. Two
builds writing the same family at the same instant can lose an entry; a lost entry only
makes a plan's explanation less specific, never changes what runs (completeness is the run
record's presence).
"""

from __future__ import annotations

import json
import re
import threading
import time
from typing import Any

from cairn._errors import CairnError, OutputNotFoundError
from cairn.identity.canonical import digest
from cairn.identity.fingerprint import Fingerprint
from cairn.model.params import FileParameter
from cairn.model.task import Task
from cairn.storage.store import Store

__all__ = [
    "HistoryRecorder",
    "ensure_manifest",
    "entry_for",
    "history_path",
    "manifest_path",
    "read_history",
    "read_manifest",
]

HISTORY_VERSION = 1
FLUSH_SECONDS = 5.0
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")

_manifests_known: set[tuple[str, str]] = set()
_manifests_lock = threading.Lock()


def manifest_path(fingerprint: str) -> str:
    """Store path of the manifest of code fingerprint ``fingerprint``."""
    return f".cairn/code/{fingerprint}.json"


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
    try:
        with store.open_read(manifest_path(fingerprint)) as file:
            data = json.loads(file.read())
    except (OutputNotFoundError, OSError, ValueError):
        return None
    components = data.get("components") if isinstance(data, dict) else None
    return components if isinstance(components, dict) else None


def history_path(family: str) -> str:
    """Store path of the history file of task family ``family``."""
    return f".cairn/history/{_UNSAFE.sub('_', family)}.json"


def read_history(store: Store, family: str) -> dict[str, dict[str, Any]]:
    """The history of ``family``: value key -> latest run entry (empty when none)."""
    try:
        with store.open_read(history_path(family)) as file:
            data = json.loads(file.read())
    except (OutputNotFoundError, OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("family") != family:
        return {}
    entries = data.get("entries")
    return entries if isinstance(entries, dict) else {}


def param_key(text: str) -> str:
    """What a history keeps of a parameter's canonical text, to match runs by parameters."""
    return text if len(text) <= 24 else digest(text)[:16]


def keys_of(task: Task[Any]) -> dict[str, str]:
    """``task``'s significant parameters as matching keys (tasks by value key, not by id)."""
    return {n: param_key(t) for n, _, t in (p.partition("=") for p in task._vkey_parts())}


def display(param: Any, value: Any) -> Any:
    """A short JSON-compatible form of a parameter value, for explanations."""
    if value is None or type(value) in (str, int, float, bool):
        return value
    if getattr(type(value), "__cairn_task__", False):
        text = repr(value)
        return {"task": text if len(text) <= 80 else text[:77] + "..."}
    if isinstance(value, tuple) and value and getattr(type(value[0]), "__cairn_task__", False):
        return f"[{len(value)} task(s)]"
    try:
        shown = param.serialize(value)
        json.dumps(shown)
    except (TypeError, ValueError, CairnError):
        shown = repr(value)
    return shown


def entry_for(task: Task[Any], record: dict[str, Any]) -> dict[str, Any]:
    """The history entry of ``task``, which has just run and written ``record``."""
    cls = type(task)
    keys = keys_of(task)
    params = {name: display(cls._params[name], task._values[name]) for name in keys}
    files = {
        name: param.content(task._values[name])
        for name, param in cls._params.items()
        if isinstance(param, FileParameter) and param.significant
    }
    code = record.get("code") or {}
    return {
        "id": task.task_id,
        "end": record.get("end") or "",
        "code": code.get("fingerprint"),
        "code_version": code.get("code_version"),
        "deps": list(record.get("dependencies") or []),
        "params": params,
        "keys": keys,
        "defaults": at_default(task),
        "files": files,
    }


def at_default(task: Task[Any]) -> list[str]:
    """Names of ``task``'s significant parameters whose value is the parameter's default."""
    out = []
    for name, param in type(task)._params.items():
        if param.significant and param.has_default:
            try:
                same = bool(task._values[name] == param.default)
            except Exception:  # a value whose == does not give a bool
                same = False
            if same:
                out.append(name)
    return out


def write_history(store: Store, family: str, new: dict[str, dict[str, Any]]) -> None:
    """Merge ``new`` entries (value key -> entry) into the family's history file."""
    entries = read_history(store, family)
    for vkey, entry in new.items():
        old = entries.get(vkey)
        if old is None or str(old.get("end", "")) <= str(entry.get("end", "")):
            entries[vkey] = entry
    data = {"cairn_history": HISTORY_VERSION, "family": family, "entries": entries}
    store.write_bytes(history_path(family), json.dumps(data, separators=(",", ":")).encode())


class HistoryRecorder:
    """A build listener that records each finished task in its family's history.

    Passes every event on to ``inner`` (the caller's listener), and writes the collected
    entries every :data:`FLUSH_SECONDS` and on :meth:`flush`.
    """

    def __init__(self, store: Store, inner: Any = None) -> None:
        self.store = store
        self.inner = inner
        self._pending: dict[str, dict[str, dict[str, Any]]] = {}
        self._last_flush = time.monotonic()

    def task_started(self, task: Task[Any]) -> None:
        if self.inner is not None:
            self.inner.task_started(task)

    def task_succeeded(self, task: Task[Any], record: dict[str, Any] | None) -> None:
        if self.inner is not None:
            self.inner.task_succeeded(task, record)
        if not isinstance(record, dict):
            try:
                with self.store.open_read(task.record_path()) as file:
                    record = json.loads(file.read())
            except (OutputNotFoundError, OSError, ValueError):
                return
            if not isinstance(record, dict):
                return
        self._pending.setdefault(task._history_family(), {})[task._vkey] = entry_for(task, record)
        if time.monotonic() - self._last_flush > FLUSH_SECONDS:
            self.flush()

    def task_failed(self, task: Task[Any], error: BaseException) -> None:
        if self.inner is not None:
            self.inner.task_failed(task, error)

    def __getattr__(self, name: str) -> Any:
        """Any other hook of the caller's listener, passed through."""
        if name.startswith("__") or self.__dict__.get("inner") is None:
            raise AttributeError(name)
        return getattr(self.__dict__["inner"], name)

    def flush(self) -> None:
        """Write what was collected; a history that cannot be written is only a lost hint."""
        pending, self._pending = self._pending, {}
        self._last_flush = time.monotonic()
        for family, entries in pending.items():
            try:
                write_history(self.store, family, entries)
            except (OSError, CairnError):
                continue
