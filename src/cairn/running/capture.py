"""Capturing a running task's log into its run record.

Records of the loggers under ``cairn.task`` (``self.logger`` is ``cairn.task.{family}``)
and warnings shown while a task runs go to that task's log, one list per run, kept in a
context variable so tasks running at once on threads each get their own.
"""

from __future__ import annotations

import logging
import threading
import warnings
from contextvars import ContextVar, Token
from typing import Any

__all__ = ["LOGGER_PREFIX", "start_capture", "stop_capture", "task_logger"]

#: The loggers whose records go into the running task's record.
LOGGER_PREFIX = "cairn.task"

_log_sink: ContextVar[list[str] | None] = ContextVar("cairn_log_sink", default=None)
_install_lock = threading.Lock()
_installed = False


class _RouteToRecord(logging.Handler):
    """Sends log records of ``cairn.task.*`` loggers to the running task's record."""

    def emit(self, record: logging.LogRecord) -> None:
        sink = _log_sink.get()
        if sink is not None:
            sink.append(self.format(record))


def _install_capture() -> None:
    """Route task loggers and warnings to the running task's record (idempotent)."""
    global _installed
    if not _installed:
        with _install_lock:
            if not _installed:
                handler = _RouteToRecord()
                handler.setFormatter(
                    logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
                )
                root = logging.getLogger(LOGGER_PREFIX)
                root.addHandler(handler)
                if root.level == logging.NOTSET:
                    root.setLevel(logging.INFO)
                _installed = True
    # Checked on every run: code such as warnings.catch_warnings() may have replaced it.
    if not getattr(warnings.showwarning, "_cairn_capture", False):
        warnings.showwarning = _wrap_showwarning(warnings.showwarning)


def _wrap_showwarning(original: Any) -> Any:
    def showwarning(  # noqa: PLR0917 - the signature warnings.showwarning has
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: Any = None,
        line: str | None = None,
    ) -> None:
        sink = _log_sink.get()
        if sink is not None:
            sink.append(f"WARNING {category.__name__}: {message} ({filename}:{lineno})")
        original(message, category, filename, lineno, file, line)

    showwarning._cairn_capture = True  # type: ignore[attr-defined]
    return showwarning


def task_logger(family: str) -> logging.Logger:
    """The logger of tasks of ``family``, whose records go into their run records."""
    return logging.getLogger(f"{LOGGER_PREFIX}.{family}")


def start_capture() -> tuple[list[str], Token[list[str] | None]]:
    """Capture task log records and warnings of this thread into a new log, until
    :func:`stop_capture`; returns the log and the token to stop with."""
    _install_capture()
    log: list[str] = []
    return log, _log_sink.set(log)


def stop_capture(token: Token[list[str] | None]) -> None:
    """Stop the capture :func:`start_capture` began."""
    _log_sink.reset(token)
