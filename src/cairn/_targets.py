"""Targets: where one output lives in the store and which format reads and writes it."""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from cairn import formats
from cairn._store import Store, Written, check_relative
from cairn.formats._frames import convert, kind_of_request, kind_of_type_name

__all__ = ["RunContext", "Target", "current_context", "run_context"]


class Target:
    """One output: a workspace-relative path and the format chosen by its extension."""

    __slots__ = ("format", "path")

    def __init__(self, path: str, format: formats.Format | None = None) -> None:
        self.path = check_relative(path)
        self.format = format if format is not None else formats.get(self.path)

    def __repr__(self) -> str:
        return f"Target({self.path!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Target) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)

    def __reduce__(self) -> tuple[Any, ...]:
        return (Target, (self.path, self.format))

    def exists(self, store: Store) -> bool:
        """True when the output is in ``store``."""
        return store.exists(self.path)

    def load(self, store: Store, as_type: Any = None, written: str | None = None) -> Any:
        """Read the output from ``store``; a data frame as ``as_type`` when one is given.

        ``as_type`` is a frame class (``pd.DataFrame``, ``pl.DataFrame``, ``pl.LazyFrame``,
        ``pa.Table``) or kind (``"pandas"``, ``"polars"``, ``"polars.lazy"``, ``"arrow"``);
        None reads a frame back as the kind that was written. ``written`` is the qualified
        type name the run record keeps for the output, for formats whose bytes do not say
        (``records_kind``: csv, json, text).
        """
        with store.open_read(self.path) as file:
            return self.read(file, as_type, written)

    def read(self, file: BinaryIO, as_type: Any = None, written: str | None = None) -> Any:
        """Read an object from an open binary ``file`` with this target's format, a data
        frame as ``as_type`` (see :meth:`load`)."""
        kind = kind_of_request(as_type)
        load_as = getattr(self.format, "load_as", None)
        if load_as is not None:
            if kind is None and getattr(self.format, "records_kind", False):
                return load_as(file, kind_of_type_name(written) or written)
            return load_as(file, kind)
        return convert(self.format.load(file), kind)

    def dump(self, store: Store, obj: Any, labels: Mapping[str, str] | None = None) -> Written:
        """Write ``obj`` to ``store`` atomically; ``labels`` become object metadata where the
        store supports it.
        """
        return store.write(self.path, lambda file: self.format.dump(obj, file), labels=labels)


@dataclass
class RunContext:
    """What a running task's load() and dump() use: the store, and what was written.

    ``types`` maps each written path to the qualified type name of the object dumped there.
    """

    store: Store
    written: dict[str, Written]
    types: dict[str, str] = field(default_factory=dict)
    #: tells whether a task is complete in ``store`` (set by whoever runs the task)
    complete: Callable[[Any], bool] | None = None
    #: tasks ``run()`` asked for with ``self.require(...)``, in order
    dynamic: list[Any] = field(default_factory=list)
    #: the run's seed, and the generators made from it on first use (``self.random``)
    seed: int = 0
    generators: dict[str, Any] = field(default_factory=dict)


_current: contextvars.ContextVar[RunContext | None] = contextvars.ContextVar(
    "cairn_run_context", default=None
)


def current_context() -> RunContext | None:
    """The context of the task running in this thread, if any."""
    return _current.get()


def run_context(ctx: RunContext | None) -> contextvars.Token[RunContext | None]:
    """Make ``ctx`` current; returns the token to reset it with."""
    return _current.set(ctx)


def reset_context(token: contextvars.Token[RunContext | None]) -> None:
    """Restore the context from before :func:`run_context`."""
    _current.reset(token)
