"""Reading finished tasks' outputs back from a store.

Data frames come back as the kind asked for, else as the task declares (``Task[...]``), else
as the library that wrote them: formats with metadata keep that in the file, for the others
(csv, tsv) the run record's ``type`` says.
"""

from __future__ import annotations

import pickle
from typing import Any

from cairn._errors import (
    CairnError,
    CorruptOutputError,
    CorruptRecordError,
    OutputNotFoundError,
    StoreError,
)
from cairn.model.checks import declared_kind
from cairn.model.targets import Target
from cairn.model.task import Task
from cairn.storage.integrity import verify_file
from cairn.storage.records import forget_written, read_record, written_outputs
from cairn.storage.store import Store

__all__ = ["load_one", "load_output"]


def load_output(task: Task[Any], store: Store, kind: str | None = None) -> Any:
    """Load ``task``'s output from ``store``: one object, or a dict for a dict output.

    Data frames are read as ``kind`` if given, else as the module docstring says.
    """
    outputs = task._outputs()
    if list(outputs) == [None]:
        return load_one(task, None, store, kind)
    record: dict[str, Any] = {}
    return {key: load_one(task, key, store, kind, record) for key in outputs}


def load_one(
    task: Task[Any],
    key: str | None,
    store: Store,
    kind: str | None = None,
    record: dict[str, Any] | None = None,
) -> Any:
    """Load ``task``'s output ``key`` (None: its single output), as :func:`load_output` does.

    The bytes are checked against the size and CRC-32 the run record keeps before they are
    read. ``record``, when given, caches the task's run record across calls.

    Raises:
        CorruptOutputError: when the output does not match its record or cannot be read.
    """
    target = task._outputs()[key]
    kind = kind or declared_kind(type(task))
    if not type(task)._kind.keeps_record:
        return target.load(store, kind, None)
    if record is None:
        record = {}
    hinted = False
    if not record:
        written = written_outputs(store, task.record_path())
        if written is not None:  # written by this process: not read again, unless it differs
            record["outputs"] = written
            hinted = True
        else:
            record.update(_read_record(task, store))
    try:
        return _load_checked(task, key, store=store, kind=kind, record=record, target=target)
    except CorruptOutputError:
        if not hinted:
            raise
    forget_written(store, task.record_path())  # another runner wrote the task since
    record.clear()
    record.update(_read_record(task, store))
    return _load_checked(task, key, store=store, kind=kind, record=record, target=target)


def _load_checked(
    task: Task[Any],
    key: str | None,
    *,
    store: Store,
    kind: str | None,
    record: dict[str, Any],
    target: Target,
) -> Any:
    entry = record.get("outputs", {}).get("" if key is None else key)
    written = entry.get("type") if isinstance(entry, dict) else None
    written = written if isinstance(written, str) and kind is None else None
    stored = entry.get("path") if isinstance(entry, dict) else None
    if isinstance(stored, str) and stored != target.path:
        # an output whose format follows the value written (a pipeline node's) stands in its
        # record under the path actually written
        target = Target(stored)
    with store.open_read(target.path) as file:
        problem = verify_file(file, entry, recent=True)
        if problem is not None:
            raise _corrupt(task, target.path, problem)
        file.seek(0)
        try:
            return target.read(file, kind, written)
        except CairnError:
            raise
        except _UNREADABLE as exc:
            problem = f"it cannot be read ({type(exc).__name__}: {exc})"
            raise _corrupt(task, target.path, problem) from exc


#: What a format raises on bytes it cannot parse (pickle, json, parquet, npy, zstd, text).
_UNREADABLE = (EOFError, ValueError, OSError, KeyError, IndexError, pickle.UnpicklingError)


def _corrupt(task: Task[Any], path: str, problem: str) -> CorruptOutputError:
    return CorruptOutputError(
        f"the output {path} of {task!r} is corrupt: {problem}. Build again: a build "
        "reruns the task and what needs it"
    )


def _read_record(task: Task[Any], store: Store) -> dict[str, Any]:
    try:
        return read_record(store, task.record_path())
    except (OutputNotFoundError, CorruptRecordError, StoreError):
        return {}
