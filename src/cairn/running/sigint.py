"""Ctrl-C in the scheduling loop: SIGINT held back while the loop updates its books.

The loop opens the guard (:meth:`SigintGuard.interruptible`) only where it waits, or where an
inline task runs; a Ctrl-C that comes elsewhere is raised at the next such point, so the
loop's outcome always says exactly what finished.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

__all__ = ["SigintGuard"]


class SigintGuard:
    """Holds SIGINT back while the loop updates its books; raises it where the loop waits.

    Installed only in the main thread and only over Python's default handler, so a program
    that handles or ignores SIGINT itself keeps its own behaviour.
    """

    def __init__(self) -> None:
        self.open = False
        self.pending = False
        self._previous: Any = None

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.open:
            self.open = False
            raise KeyboardInterrupt
        self.pending = True

    def __enter__(self) -> SigintGuard:
        if (
            threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler
        ):
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None

    @contextlib.contextmanager
    def interruptible(self) -> Iterator[None]:
        """A stretch where Ctrl-C may strike at once (waiting, or an inline task running)."""
        self.check()
        self.open = True
        try:
            yield
        finally:
            self.open = False

    def check(self) -> None:
        """Raise a Ctrl-C that came while it was held back."""
        if self.pending:
            self.pending = False
            raise KeyboardInterrupt
