"""The workspace's shape: the one place that formats and parses the paths cairn writes.

::

    {namespace/}{module/path}/{Name}_{task id}{.ext}       an output (``make_target``)
    {namespace/}{module/path}/{Name}_{task id}.run.json    its task's run record
    {namespace/}{module/path}/{Name}_{task id}.failed.json its last failed attempt
    .cairn/code/{fingerprint}.json                         a code manifest
    .cairn/history/{family}/{time}-{token}-{n}.json        a task family's history, in segments
    .cairn/history/{family}.json                           the same, as earlier versions wrote it
    .cairn/builds/{build id}.plan.json                     a build's graph, as planned
    .cairn/builds/{build id}.events.jsonl                  what happened in it, one line each
    .cairn/verified/{folder}.json                          records checked whole (by version)

So the workspace mirrors the package structure of the code, and every file a task writes
carries its id in its name (``_`` and 32 hex digits), which is how ``show`` finds a record
from an output path and ``gc`` finds leftovers of a run killed before its record. Paths are
relative to the workspace and ``/``-separated; nothing here touches a store except
:func:`records_in`, which lists one.
"""

from __future__ import annotations

import re

from cairn.storage.store import Store

__all__ = [
    "BUILDS_DIR",
    "ID_LENGTH",
    "RECORD_SUFFIX",
    "FAILURE_SUFFIX",
    "build_events_path",
    "build_plan_path",
    "default_output",
    "failure_path",
    "history_dir",
    "history_path",
    "history_segment_name",
    "history_segment_path",
    "id_in_name",
    "manifest_path",
    "record_id",
    "record_path",
    "records_in",
    "tagged",
    "task_dir",
    "verified_path",
]

#: How a run record's name ends.
RECORD_SUFFIX = ".run.json"
#: How a failure record's name ends (beside the run record, until the task succeeds).
FAILURE_SUFFIX = ".failed.json"
#: Where builds leave their plans and event logs (for ``cairn ui``).
BUILDS_DIR = ".cairn/builds"
#: Hex digits in a task id.
ID_LENGTH = 32

_ID_IN_NAME = re.compile(rf"_([0-9a-f]{{{ID_LENGTH}}})(?:\.|$)")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_SEGMENT = re.compile(r"(\d+)-[0-9a-f]+-(\d+)\.json")


def task_dir(module: str, namespace: str | None = None) -> str:
    """The folder of a task class's files: its namespace, then its module's path
    (``pkg.train`` -> ``pkg/train``)."""
    return (f"{namespace}/" if namespace else "") + module.replace(".", "/")


def tagged(stem: str, task_id: str, ext: str = "") -> str:
    """``{stem}_{task_id}{ext}``: the name of a file of the task ``task_id``."""
    return f"{stem}_{task_id}{ext}"


def record_path(directory: str, name: str, task_id: str) -> str:
    """The run record of task ``task_id`` named ``name`` (its class, or a pipeline node) in
    ``directory`` (:func:`task_dir`): ``{directory}/{name}_{task_id}.run.json``."""
    return f"{directory}/{name}_{task_id}{RECORD_SUFFIX}"


def failure_path(record: str) -> str:
    """The failure record beside run record path ``record``: ``{Name}_{id}.failed.json``."""
    return record.removesuffix(RECORD_SUFFIX) + FAILURE_SUFFIX


def default_output(directory: str, name: str) -> str:
    """Where a task's output goes when ``output()`` is not overridden, before
    ``make_target`` adds the id: ``{directory}/{name}.pkl``."""
    return f"{directory}/{name}.pkl"


def record_id(path: str) -> str | None:
    """The task id in a record path ``.../Name_{id}.run.json``, or None for another path."""
    if not path.endswith(RECORD_SUFFIX):
        return None
    tid = path[: -len(RECORD_SUFFIX)].rpartition("_")[2]
    return tid if len(tid) == ID_LENGTH else None


def id_in_name(path: str) -> str | None:
    """The task id in the file name of ``path`` (``Name_{id}.ext``), or None."""
    match = _ID_IN_NAME.search(path.rpartition("/")[2])
    return match.group(1) if match else None


def records_in(store: Store) -> list[str]:
    """Paths of every run record in ``store``, sorted."""
    return sorted(p for p in store.list() if p.endswith(RECORD_SUFFIX))


def manifest_path(fingerprint: str) -> str:
    """Path of the manifest of code fingerprint ``fingerprint``."""
    return f".cairn/code/{fingerprint}.json"


def history_dir(family: str) -> str:
    """Folder of the history segments of task family ``family``.

    Never a name that ends in ``.json``, so it cannot be the single history file of another
    family (:func:`history_path`)."""
    name = _UNSAFE.sub("_", family)
    return f".cairn/history/{name}{'_' if name.endswith('.json') else ''}"


def history_segment_path(family: str, stamp: str, token: str, entries: int) -> str:
    """Path of a history segment of ``family`` written at ``stamp`` (nanoseconds since the
    epoch, 20 digits, so names sort by time), with a random hex ``token`` and the number of
    ``entries`` it holds (so merging small ones needs no read to find them)."""
    return f"{history_dir(family)}/{stamp}-{token}-{entries}.json"


def history_segment_name(path: str) -> tuple[str, int] | None:
    """``(stamp, number of entries)`` of a history segment's path, or None for another."""
    match = _SEGMENT.fullmatch(path.rpartition("/")[2])
    return (match.group(1), int(match.group(2))) if match else None


def history_path(family: str) -> str:
    """Path of the single history file of task family ``family``, as cairn wrote it before
    histories were kept in segments (:func:`history_dir`); read, never written."""
    return f".cairn/history/{_UNSAFE.sub('_', family)}.json"


def build_plan_path(build_id: str) -> str:
    """Path of the planned graph of build ``build_id``."""
    return f"{BUILDS_DIR}/{_UNSAFE.sub('_', build_id)}.plan.json"


def build_events_path(build_id: str) -> str:
    """Path of the event log of build ``build_id`` (JSON lines)."""
    return f"{BUILDS_DIR}/{_UNSAFE.sub('_', build_id)}.events.jsonl"


def verified_path(folder: str) -> str:
    """Path of the index of the records in ``folder`` that were checked whole, by version
    (see :mod:`cairn.storage.verified`)."""
    return f".cairn/verified/{_UNSAFE.sub('_', folder) or '_'}.json"
