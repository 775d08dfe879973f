"""A program run on a real pseudo-terminal, its screen read by a terminal emulator (pyte).

``pty.fork`` makes the pty the child's controlling terminal, so ``Terminal.ctrl_c()`` types
Ctrl-C as a user does (the line discipline turns it into SIGINT for the foreground process
group) and the screen is what a user would see: the live display drawn and erased by its
escape codes, not the raw bytes.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import sys
import termios
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pyte

__all__ = ["Terminal", "cairn_argv"]


class Terminal:
    """``argv`` running on a ``columns`` x ``lines`` terminal in ``cwd``."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        cwd: str | Path,
        env: Mapping[str, str | None] | None = None,
        columns: int = 100,
        lines: int = 30,
    ) -> None:
        merged = {k: v for k, v in os.environ.items() if k not in ("CI", "NO_COLOR")}
        merged.update(TERM="xterm-256color", COLUMNS=str(columns), LINES=str(lines))
        for name, value in (env or {}).items():
            if value is None:
                merged.pop(name, None)
            else:
                merged[name] = value
        self.screen = pyte.Screen(columns, lines)
        self._stream = pyte.ByteStream(self.screen)
        self.raw = b""
        self.code: int | None = None
        pid, fd = pty.fork()
        if pid == 0:  # the child: becomes the program
            try:
                fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
                os.chdir(cwd)
                os.execvpe(argv[0], list(argv), merged)
            finally:
                os._exit(127)
        self.pid, self._fd = pid, fd

    def text(self) -> str:
        """The screen now: its lines, trailing blanks removed."""
        return "\n".join(line.rstrip() for line in self.screen.display).rstrip()

    def _read(self, seconds: float) -> bool:
        """Feed what the program writes within ``seconds`` to the screen; False at its end."""
        ready, _, _ = select.select([self._fd], [], [], seconds)
        if not ready:
            return True
        try:
            data = os.read(self._fd, 65536)
        except OSError:  # the child closed the terminal
            return False
        if not data:
            return False
        self.raw += data
        self._stream.feed(data)
        return True

    def wait_for(self, check: Callable[[str], bool], timeout: float = 60) -> str:
        """The screen once ``check(screen)`` holds; AssertionError (with the screen) if it
        does not within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check(self.text()):
                return self.text()
            if not self._read(0.05):
                break
        if check(self.text()):
            return self.text()
        raise AssertionError(f"the screen never showed what was expected:\n{self.text()}")

    def ctrl_c(self) -> None:
        """Type Ctrl-C."""
        os.write(self._fd, b"\x03")

    def finish(self, timeout: float = 60) -> str:
        """Read until the program exits; its final screen (``self.code``: exit code)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._read(0.1):
            pass
        if time.monotonic() >= deadline:
            os.kill(self.pid, signal.SIGKILL)
        _, status = os.waitpid(self.pid, 0)
        self.code = os.waitstatus_to_exitcode(status)
        os.close(self._fd)
        return self.text()


def cairn_argv(*args: str) -> list[str]:
    """The command line as users start it, with this interpreter."""
    return [sys.executable, "-m", "cairn", *args]
