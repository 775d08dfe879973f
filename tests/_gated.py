"""A task that waits for the test to open its gate, and a build running in a thread."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import cairn
from _shared_graph import Leaf

GATES: dict[str, threading.Event] = {}
STARTED: dict[str, threading.Event] = {}
FAIL_WITH: dict[str, BaseException] = {}


class Gated(cairn.Task[str]):
    """Waits for ``GATES[name]`` (when set up) before finishing; may fail on demand."""

    name = cairn.Parameter()

    def run(self) -> str:
        counts = os.environ.get("CAIRN_TEST_COUNTS")
        if counts:
            Path(counts, f"{self.task_id}.{uuid.uuid4().hex[:8]}").touch()
        if self.name in STARTED:
            STARTED[self.name].set()
        if self.name in GATES:
            assert GATES[self.name].wait(30), "the test never opened the gate"
        if self.name in FAIL_WITH:
            raise FAIL_WITH[self.name]
        return f"gated {self.name}"


class UsesGated(cairn.Task[list[Any]]):
    name = cairn.Parameter()

    def requires(self) -> list[Any]:
        return [Gated(name=self.name)] + [Leaf(i=i) for i in range(6)]

    def run(self) -> list[Any]:
        return self.load()


@pytest.fixture(name="gate")
def gate_fixture() -> Iterator[str]:
    """A fresh gate name; the gate is opened at the end of the test whatever happens."""
    name = uuid.uuid4().hex[:8]
    GATES[name] = threading.Event()
    STARTED[name] = threading.Event()
    yield name
    GATES.pop(name).set()
    STARTED.pop(name)
    FAIL_WITH.pop(name, None)


class Runner(threading.Thread):
    """A build in a thread: ``result`` or ``error`` once joined."""

    def __init__(self, task: cairn.Task[Any], **options: Any) -> None:
        super().__init__(daemon=True)
        self.task, self.options = task, options
        self.result: Any = None
        self.error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            self.result = cairn.build(self.task, **self.options)
        except BaseException as exc:
            self.error = exc

    def outcome(self) -> Any:
        self.join(30)
        assert not self.is_alive(), "the build did not finish"
        if self.error is not None:
            raise self.error
        return self.result
