"""Reading finished tasks' outputs back from a store.

Data frames come back as the kind asked for, else as the task declares (``Task[...]``), else
as the library that wrote them: formats with metadata keep that in the file, for the others
(csv, tsv) the run record's ``type`` says.
"""

from __future__ import annotations

from typing import Any

from cairn._errors import OutputNotFoundError
from cairn.model.checks import declared_kind
from cairn.model.task import Task
from cairn.storage.records import read_record
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

    ``record``, when given, caches the task's run record across calls.
    """
    target = task._outputs()[key]
    kind = kind or declared_kind(type(task))
    written = None
    if kind is None and target.format.records_kind:
        if record is None:
            record = {}
        if not record:
            record.update(_read_record(task, store))
        entry = record.get("outputs", {}).get("" if key is None else key, {})
        written = entry.get("type") if isinstance(entry, dict) else None
    return target.load(store, kind, written if isinstance(written, str) else None)


def _read_record(task: Task[Any], store: Store) -> dict[str, Any]:
    try:
        return read_record(store, task.record_path())
    except (OutputNotFoundError, ValueError):
        return {}
