"""Tasks and a pipeline for test_settings_parity.py, importable by the command line in a
child process too: each says which process and thread it ran on."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import fsspec
from fsspec.implementations.memory import MemoryFileSystem

import cairn


class NeedsToken(MemoryFileSystem):
    """An in-memory store that opens only with the storage option ``token="from-config"``."""

    protocol = ("cairn-test-token",)

    def __init__(self, *args: Any, token: str | None = None, **kwargs: Any) -> None:
        if token != "from-config":
            raise PermissionError(f"token {token!r} refused; this store needs 'from-config'")
        super().__init__(*args, **kwargs)


fsspec.register_implementation(NeedsToken.protocol[0], NeedsToken, clobber=True)


def where_now() -> dict[str, object]:
    """The process and the thread this runs on."""
    return {"pid": os.getpid(), "thread": threading.current_thread().name}


class Where(cairn.Task):
    """Returns where it ran."""

    tag = cairn.Parameter(default="a")

    def run(self):
        return where_now()


class Top(cairn.Task):
    """Needs a Where, so plans, status and graphs have two tasks."""

    tag = cairn.Parameter(default="a")

    def requires(self):
        return Where(tag=self.tag)

    def run(self):
        return {"below": self.load(), "here": where_now()}


class Holds(cairn.Task):
    """Creates ``flags/started`` and runs until ``flags/release`` exists (60 s at most)."""

    flags = cairn.Parameter()

    def run(self):
        flags = Path(self.flags)
        (flags / "started").touch()
        deadline = time.monotonic() + 60
        while not (flags / "release").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        return where_now()


def where_node(tag: str) -> dict[str, object]:
    return {"tag": tag, **where_now()}


PIPELINE = cairn.Pipeline(
    [cairn.node(where_node, inputs=["config.tag"], outputs="where")], config={"tag": "pipe"}
)


class FailsUntil(cairn.Task):
    """Fails until it has been started ``times`` times (counted in the file ``counter``)."""

    counter = cairn.Parameter()
    times = cairn.IntParameter(default=3)

    def run(self):
        path = Path(self.counter)
        started = int(path.read_text()) + 1 if path.exists() else 1
        path.write_text(str(started))
        if started < self.times:
            raise RuntimeError(f"failing on purpose, start {started}")
        return started
