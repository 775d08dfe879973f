"""The run-time API of a task as the model sees it: a protocol, and the slot that fills it.

``Task.load()``, ``dump()``, ``require()``, ``load_generator()``, ``load_data_frame()``,
``random``, ``numpy_random`` and ``logger`` act on the run in progress (its store, what it
wrote, its seed, its log), which the layer that runs tasks owns
(:mod:`cairn.running.context`). That layer implements :class:`Runtime` and installs it with
:func:`set_runtime` as it is imported (``import cairn`` imports it), so the model imports
nothing from the layers above it and ``Task`` keeps its methods.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Collection, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from cairn._errors import CairnError

if TYPE_CHECKING:
    from cairn.model.task import Task

__all__ = ["Runtime", "runtime", "set_runtime"]


class Runtime(Protocol):
    """What ``Task``'s run-time methods delegate to; each takes the task first."""

    def load(self, task: Task[Any], key: Any, as_type: Any) -> Any: ...

    def load_generator(self, task: Task[Any], key: Any) -> Iterator[Any]: ...

    def load_data_frame(
        self,
        task: Task[Any],
        key: Any,
        required_columns: Collection[Any] | None,
        drop_columns: bool,
        as_type: Any,
    ) -> Any: ...

    def require(self, task: Task[Any], tasks: Any) -> Any: ...

    def dump(
        self, task: Task[Any], obj: Any, key: str | None, custom_labels: Mapping[str, Any] | None
    ) -> None: ...

    def random(self, task: Task[Any]) -> random.Random: ...

    def numpy_random(self, task: Task[Any]) -> Any: ...

    def logger(self, task: Task[Any]) -> logging.Logger: ...


_installed: Runtime | None = None


def set_runtime(implementation: Runtime) -> None:
    """Install the run-time API (the running layer calls this as it is imported)."""
    global _installed
    _installed = implementation


def runtime() -> Runtime:
    """The installed run-time API.

    Raises:
        CairnError: when none is installed (``cairn.running`` was never imported).
    """
    if _installed is None:
        raise CairnError(
            "cairn's run-time API is not installed; import cairn (it imports cairn.running)"
        )
    return _installed
