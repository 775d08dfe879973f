"""Failure records of tasks: written when an attempt fails, removed when the task succeeds.

The record (:class:`cairn.storage.failures.FailureRecord`) holds the traceback (in full, and
the user's own frames), the captured log, the parameters, the attempt, the duration and the
host. :func:`user_frames` is also what ``cairn run`` prints for a failed task.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import socket
import sysconfig
import traceback
from typing import Any

from cairn.model.task import Task
from cairn.storage.failures import FailureRecord, read_failure, write_failure
from cairn.storage.layout import failure_path
from cairn.storage.store import Store

__all__ = ["clear_failure", "failure_for", "location", "read_task_failure", "record_failure"]

log = logging.getLogger(__name__)

_NOT_USER = tuple(
    os.path.realpath(p) + os.sep
    for p in {
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))),  # cairn's package
        sysconfig.get_paths()["stdlib"],
        sysconfig.get_paths()["purelib"],
        sysconfig.get_paths()["platlib"],
    }
)


def _is_user(filename: str) -> bool:
    if filename.startswith("<"):
        return False
    return not os.path.realpath(filename).startswith(_NOT_USER)


def user_frames(error: BaseException) -> str:
    """The frames of ``error``'s traceback that are the user's own (not cairn's, the standard
    library's or installed packages'), innermost last, then the error."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if _is_user(f.filename)]
    head = "Your code, innermost last:\n" if frames else "(no frame of your code)\n"
    lines = [head, *traceback.format_list(frames)]
    lines += traceback.format_exception_only(error)
    return "".join(lines)


def location(error: BaseException) -> str:
    """``file:line`` of the deepest user frame of ``error`` (``''`` when none)."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if _is_user(f.filename)]
    if not frames:
        return ""
    frame = frames[-1]
    return f"{_short(frame.filename)}:{frame.lineno}"


def _short(filename: str) -> str:
    rel = os.path.relpath(filename)
    return filename if rel.startswith("..") else rel


def failure_for(
    task: Task[Any],
    error: BaseException,
    *,
    attempt: int,
    duration: float | None = None,
    log_lines: list[str] | None = None,
    metrics: dict[str, float] | None = None,
) -> FailureRecord:
    """The failure record of ``task``'s attempt ``attempt`` that raised ``error`` (with the
    metrics it logged before)."""
    return FailureRecord(
        task_id=task.task_id,
        family=type(task).family,
        label=task.label(),
        error=type(error).__name__,
        message=str(error),
        attempt=attempt,
        failed_at=_dt.datetime.now(_dt.UTC).isoformat().replace("+00:00", "Z"),
        params={k: v for k, v in task._serialized().items()},
        location=location(error),
        traceback="".join(traceback.format_exception(error)),
        user_traceback=user_frames(error),
        log=tuple(log_lines or ()),
        duration_s=None if duration is None else round(duration, 6),
        host=socket.gethostname(),
        pid=os.getpid(),
        metrics=dict(metrics or {}),
    )


def record_failure(store: Store, task: Task[Any], record: FailureRecord) -> None:
    """Write ``record`` beside ``task``'s run record; a store that refuses is only logged
    (the task's own error is what matters)."""
    try:
        write_failure(store, failure_path(task.record_path()), record)
    except Exception as exc:  # never hide the task's own error
        log.warning("could not write the failure record of %r: %s", task, exc)


def clear_failure(store: Store, task: Task[Any]) -> None:
    """Remove ``task``'s failure record (it has succeeded), if it has one.

    Asks first: a delete request per successful task would double the writes on object
    stores, where most tasks never failed.
    """
    path = failure_path(task.record_path())
    if store.exists(path):
        store.delete(path)


def read_task_failure(store: Store, task: Task[Any]) -> FailureRecord | None:
    """``task``'s failure record, or None."""
    return read_failure(store, failure_path(task.record_path()))
