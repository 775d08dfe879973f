"""Targets: where one output lives in the store and which format reads and writes it.

Also what a task's ``output()`` may return (:func:`as_outputs`), how ``make_target`` puts
the task id into a path (:func:`unique_path`), and the format of a model target
(:func:`model_format`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, BinaryIO

from cairn._errors import CairnError, TargetError
from cairn.formats import Format, as_format, extension_of
from cairn.formats import get as format_for
from cairn.formats._frames import kind_of_request, kind_of_type_name
from cairn.storage import layout
from cairn.storage.store import Staged, Store, Written, check_relative

__all__ = ["Target", "as_outputs", "model_format", "unique_path"]


class Target:
    """One output: a workspace-relative path and the format chosen by its extension."""

    __slots__ = ("format", "path")

    def __init__(self, path: str, format: Any = None) -> None:
        self.path = check_relative(path)
        self.format: Format = as_format(format) if format is not None else format_for(self.path)

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
        if kind is None and self.format.records_kind:
            return self.format.load_as(file, kind_of_type_name(written) or written)
        return self.format.load_as(file, kind)

    def dump(self, store: Store, obj: Any, labels: Mapping[str, str] | None = None) -> Written:
        """Write ``obj`` to ``store`` atomically; ``labels`` become object metadata where the
        store supports it.
        """
        return store.write(self.path, lambda file: self.format.dump(obj, file), labels=labels)

    def stage(self, store: Store, obj: Any, labels: Mapping[str, str] | None = None) -> Staged:
        """Write ``obj`` where nobody reads it yet; ``store.publish`` puts it at the path."""
        return store.stage(self.path, lambda file: self.format.dump(obj, file), labels=labels)


def _extension(path: str) -> str:
    """The registered extension of ``path``, else whatever follows its last dot."""
    try:
        return extension_of(path)
    except CairnError:
        name = path.rsplit("/", 1)[-1]
        return name[name.rindex(".") :] if "." in name.lstrip(".") else ""


def unique_path(path: str, task_id: str, format: Format | None = None) -> str:
    """``path`` with ``_{task_id}`` before its extension: ``data/clean_{id}.csv``.

    Raises:
        FormatError: when no ``format`` is given and no format is registered for the
            extension.
    """
    ext = extension_of(path) if format is None else _extension(path)
    cut = len(path) - len(ext)
    return layout.tagged(path[:cut], task_id, path[cut:])


def as_outputs(out: Any, owner: Any) -> dict[str | None, Target]:
    """What ``owner.output()`` returned, as a dict (key ``None`` for a single target).

    Raises:
        CairnError: for anything but a target or a non-empty dict of targets.
    """
    if isinstance(out, Target):
        return {None: out}
    if isinstance(out, Mapping) and out and all(isinstance(t, Target) for t in out.values()):
        return {str(k): t for k, t in out.items()}
    raise CairnError(
        f"{owner!r}.output() returned {out!r}; it must return a target from "
        "self.make_target(...) or a non-empty dict of them"
    )


def model_format(
    path: str, save_function: Callable[[Any, str], Any], load_function: Callable[[str], Any]
) -> Format:
    """The format of a model target at ``path`` (``make_model_target``): a zip of what
    ``save_function`` writes.

    Raises:
        TargetError: when ``path`` does not end with ``.zip``.
    """
    if not path.lower().endswith(".zip"):
        raise TargetError(
            f"a model target is stored as a zip archive, so its path must end with .zip; "
            f"got {path!r}"
        )
    from cairn.formats._model import ModelFormat  # zipfile and tempfile, when first needed

    stem = path.rsplit("/", 1)[-1][: -len(".zip")] or "model"
    return ModelFormat(save_function, load_function, stem)
