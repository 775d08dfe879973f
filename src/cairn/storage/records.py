"""Run records as the store holds them: one JSON object beside each task's outputs.

The runner writes a record last, so its presence is what marks a task complete; its path is
:func:`cairn.storage.layout.record_path`. :class:`RunRecord` is the one type of a record, and
:func:`read_run_record` / :func:`write_run_record` its one reader and writer: a record that is
not JSON, or not of a record's shape, is a :class:`~cairn.CorruptRecordError` naming its file.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

from cairn._errors import CorruptRecordError, StoreError
from cairn.storage.store import Store

__all__ = [
    "RECORD_VERSION",
    "RunRecord",
    "read_json",
    "read_record",
    "read_record_or_none",
    "forget_written",
    "read_run_record",
    "write_run_record",
    "written_outputs",
]

#: ``json.dumps(value, separators=(",", ":"))`` with one encoder made once: making one per
#: call costs more than encoding a run record.
_compact = json.JSONEncoder(separators=(",", ":")).encode

#: The version of the record format, written as ``cairn_record``. Records without it are
#: version 1.
RECORD_VERSION = 1

_VERSION_KEY = "cairn_record"
# Keys whose type is checked when present: a record with another type there is corrupt.
_SHAPES: dict[str, type | tuple[type, ...]] = {
    "outputs": dict,
    "params": dict,
    "task_id": str,
    "task_family": str,
    "start": str,
    "end": str,
    "duration_s": (int, float),
    "attempt": int,
    "metrics": dict,
}


@dataclass
class RunRecord:
    """A task's run record: what ran, with which parameters, and the outputs it wrote.

    ``outputs`` maps each output key (``""`` for a single output) to its entry (``path``,
    ``size``, ``crc32``, ...). Every other key of the stored record is kept in ``fields``,
    unknown keys included, so features that add keys (metrics, failure information) keep them
    through a read and a write.
    """

    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    fields: dict[str, Any] = field(default_factory=dict)
    version: int = RECORD_VERSION

    @classmethod
    def from_dict(cls, data: object, path: str = "<record>") -> RunRecord:
        """The record of the parsed JSON ``data`` read from ``path``.

        Raises:
            CorruptRecordError: when ``data`` does not have the shape of a run record.
        """
        if not isinstance(data, dict):
            raise CorruptRecordError(
                f"the run record {path} holds a JSON {type(data).__name__}, not an object; "
                "delete it and build again to rerun its task"
            )
        for key, shape in _SHAPES.items():
            if key in data and not isinstance(data[key], shape):
                raise _wrong(path, key, data[key])
        version = data.get(_VERSION_KEY, 1)
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise _wrong(path, _VERSION_KEY, version)
        if version > RECORD_VERSION:
            raise CorruptRecordError(
                f"the run record {path} has version {version}, newer than this cairn reads "
                f"({RECORD_VERSION}); upgrade cairn"
            )
        outputs = data.get("outputs", {})
        for key, entry in outputs.items():
            if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
                raise CorruptRecordError(
                    f"the run record {path} has an output {key!r} without a path "
                    f"({entry!r}); delete it and build again to rerun its task"
                )
        rest = {k: v for k, v in data.items() if k not in ("outputs", _VERSION_KEY)}
        return cls(outputs=dict(outputs), fields=rest, version=version)

    def to_dict(self) -> dict[str, Any]:
        """The record as stored: its fields, ``outputs`` and the version."""
        return {**self.fields, "outputs": self.outputs, _VERSION_KEY: self.version}

    def get(self, key: str, default: Any = None) -> Any:
        """The value of the record's key ``key`` (``outputs`` included), or ``default``."""
        if key == "outputs":
            return self.outputs
        return self.fields.get(key, default)

    @property
    def metrics(self) -> dict[str, float]:
        """The numbers ``run()`` logged (``self.log_metric``), by name; empty for a record
        without them (written before metrics existed, or by a run that logged none).

        Metrics are an optional key, so records stay version 1: older readers keep the key
        as an unknown one, and records without it read as having no metrics.
        """
        found = self.fields.get("metrics")
        if not isinstance(found, dict):
            return {}
        return {
            str(k): v
            for k, v in found.items()
            if isinstance(v, int | float) and not isinstance(v, bool)
        }

    def output_path(self, key: str | None = None) -> str | None:
        """The stored path of output ``key`` (None: the single output), or None."""
        entry = self.outputs.get("" if key is None else key)
        return entry["path"] if entry is not None else None


def _wrong(path: str, key: str, value: object) -> CorruptRecordError:
    return CorruptRecordError(
        f"the run record {path} has a {type(value).__name__} as {key!r} ({value!r:.60}), "
        "which is not a run record's shape; delete it and "
        "build again to rerun its task"
    )


def read_run_record(store: Store, path: str) -> RunRecord:
    """Read the run record at ``path``.

    Raises:
        OutputNotFoundError: when there is none.
        StoreError: when the store cannot read it.
        CorruptRecordError: when it is not JSON or not of a record's shape.
    """
    with store.open_read(path) as file:
        raw = file.read()
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CorruptRecordError(
            f"the run record {path} is not valid JSON ({exc}); delete it and build again "
            "to rerun its task"
        ) from exc
    return RunRecord.from_dict(data, path)


def write_run_record(store: Store, path: str, record: RunRecord | dict[str, Any]) -> None:
    """Write ``record`` at ``path`` (atomically, as every store write).

    Raises:
        StoreError: when the store cannot write it.
    """
    data = record.to_dict() if isinstance(record, RunRecord) else record
    if not isinstance(record, RunRecord):
        data = {**data, _VERSION_KEY: data.get(_VERSION_KEY, RECORD_VERSION)}
    try:
        store.write_bytes(path, _compact(data).encode())
    except OSError as exc:
        if isinstance(exc, StoreError):
            raise
        raise StoreError(f"could not write the run record {path}: {exc}") from exc
    outputs = data.get("outputs")
    if isinstance(outputs, dict):
        key = (store.url, path)
        with _written_lock:
            _written.pop(key, None)
            if len(_written) >= WRITTEN_KEPT:
                del _written[next(iter(_written))]  # the oldest
            _written[key] = outputs


def written_outputs(store: Store, path: str) -> dict[str, Any] | None:
    """The ``outputs`` of the run record this process wrote last at ``path`` in ``store``
    (one of the last :data:`WRITTEN_KEPT`), or None.

    A task that loads what an upstream task of the same build just wrote need not read
    that record again. Only a hint: the bytes loaded are still checked against it, and a
    mismatch (another runner wrote the task since) means reading the record after all.
    """
    return _written.get((store.url, path))


def forget_written(store: Store, path: str) -> None:
    """Drop what :func:`written_outputs` knows of ``path`` (it did not match the store)."""
    with _written_lock:
        _written.pop((store.url, path), None)


#: How many records' outputs :func:`written_outputs` keeps (a few hundred bytes each).
WRITTEN_KEPT = 4096
_written: dict[tuple[str, str], dict[str, Any]] = {}
_written_lock = threading.Lock()


def read_record(store: Store, path: str) -> dict[str, Any]:
    """The run record at ``path`` as the dict stored (through :func:`read_run_record`).

    Raises:
        OutputNotFoundError: when there is none.
        StoreError: when the store cannot read it.
        CorruptRecordError: when it is not JSON or not of a record's shape.
    """
    return read_run_record(store, path).to_dict()


def read_record_or_none(store: Store, path: str) -> RunRecord | None:
    """The run record at ``path``, or None when it is missing, unreadable or corrupt."""
    try:
        return read_run_record(store, path)
    except (OSError, CorruptRecordError):
        return None


def read_json(store: Store, path: str) -> dict[str, Any] | None:
    """A JSON object's content (a code manifest, a history), or None when it cannot be read
    or parsed. Run records are read with :func:`read_run_record`."""
    try:
        with store.open_read(path) as file:
            data = json.loads(file.read())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
