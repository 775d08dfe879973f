"""Failure records: what is known of a task's last failed attempt, kept beside its run record.

``{Name}_{id}.failed.json`` (:func:`cairn.storage.layout.failure_path`) is written when an
attempt fails and deleted when the task succeeds, so ``status``, ``show``, ``ls`` and
``graph`` can say "failed" (and why) without running anything again. A JSON object::

    {"cairn_failure": 1, "task_id": ..., "family": ..., "label": "Train(lr=0.1)",
     "params": {...}, "error": "KeyError", "message": "'b'", "location": "pkg/t.py:12",
     "traceback": "...", "user_traceback": "...", "log": [...], "attempt": 1,
     "duration_s": 0.2, "host": ..., "pid": ..., "failed_at": "2024-...Z",
     "metrics": {"loss": 0.7}}
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from cairn.storage.layout import FAILURE_SUFFIX
from cairn.storage.records import read_json
from cairn.storage.store import Store

__all__ = ["FAILURE_VERSION", "FailureRecord", "failures_in", "read_failure", "write_failure"]

#: The version of the failure record's shape.
FAILURE_VERSION = 1


@dataclass(frozen=True)
class FailureRecord:
    """One failed attempt of a task."""

    task_id: str
    family: str
    label: str
    error: str
    message: str
    attempt: int
    failed_at: str
    params: dict[str, Any] = field(default_factory=dict)
    location: str = ""
    traceback: str = ""
    user_traceback: str = ""
    log: tuple[str, ...] = ()
    duration_s: float | None = None
    host: str = ""
    pid: int | None = None
    #: the metrics ``run()`` logged before it failed
    metrics: dict[str, float] = field(default_factory=dict)
    path: str = ""  # where it was read from; not stored

    @property
    def summary(self) -> str:
        """``KeyError: 'b' at pkg/tasks.py:12 (attempt 1)``."""
        where = f" at {self.location}" if self.location else ""
        return f"{self.error}: {self.message}{where} (attempt {self.attempt})"

    def to_json(self) -> dict[str, Any]:
        """The record as stored."""
        data = asdict(self)
        data.pop("path")
        data["log"] = list(self.log)
        return {"cairn_failure": FAILURE_VERSION, **data}

    @classmethod
    def from_json(cls, data: dict[str, Any], path: str = "") -> FailureRecord | None:
        """The record in ``data``, or None when it is not a failure record."""
        if not isinstance(data.get("cairn_failure"), int) or not data.get("task_id"):
            return None
        try:
            return cls(
                task_id=str(data["task_id"]),
                family=str(data.get("family", "")),
                label=str(data.get("label", "")),
                error=str(data.get("error", "")),
                message=str(data.get("message", "")),
                attempt=int(data.get("attempt", 1)),
                failed_at=str(data.get("failed_at", "")),
                params=dict(data.get("params") or {}),
                location=str(data.get("location", "")),
                traceback=str(data.get("traceback", "")),
                user_traceback=str(data.get("user_traceback", "")),
                log=tuple(str(line) for line in data.get("log") or ()),
                duration_s=data.get("duration_s"),
                host=str(data.get("host", "")),
                pid=data.get("pid"),
                metrics={
                    str(k): v
                    for k, v in (data.get("metrics") or {}).items()
                    if isinstance(v, int | float) and not isinstance(v, bool)
                },
                path=path,
            )
        except (TypeError, ValueError):
            return None


def read_failure(store: Store, path: str) -> FailureRecord | None:
    """The failure record at ``path``, or None when there is none (or it does not parse)."""
    data = read_json(store, path)
    return FailureRecord.from_json(data, path) if data is not None else None


def write_failure(store: Store, path: str, record: FailureRecord) -> None:
    """Store ``record`` at ``path`` (atomically, replacing an earlier attempt's)."""
    store.write_bytes(path, json.dumps(record.to_json(), default=str).encode())


def failures_in(store: Store) -> list[str]:
    """Paths of every failure record in ``store``, sorted."""
    return sorted(p for p in store.list() if p.endswith(FAILURE_SUFFIX))
