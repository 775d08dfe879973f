"""Data frame checks of the task model: column types and emptiness on dump, required
columns on load, and which frame library a task declares it dumps (``Task[pl.DataFrame]``).

The frame operations themselves live in :mod:`cairn.formats._frames`; this module turns
their findings into errors that name the task.
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Collection, Mapping
from typing import Any

from cairn._errors import EmptyDumpError, MissingColumnsError, SchemaError, suggest
from cairn.formats._frames import (
    columns,
    describe_columns,
    frame_kind,
    is_empty,
    kind_of_type_name,
    schema_mismatches,
    select,
)
from cairn.identity.canonical import TASK_MARKER
from cairn.model.options import is_pandera as _is_pandera
from cairn.model.options import option

__all__ = ["check_dump", "declared_kind", "require_columns", "type_name"]


def type_name(obj: Any) -> str:
    """``module.QualifiedName`` of ``obj``'s type, as the run record keeps it."""
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


@functools.cache
def declared_kind(cls: type) -> str | None:
    """The frame kind ``cls`` declares it dumps, as in ``class T(cairn.Task[pl.DataFrame])``.

    None when it declares no data frame type (or nothing at all).
    """
    for klass in cls.__mro__:
        for base in vars(klass).get("__orig_bases__", ()):
            origin = typing.get_origin(base)
            if not getattr(origin, TASK_MARKER, False):
                continue
            args = typing.get_args(base)
            if args and isinstance(args[0], type):
                for ancestor in args[0].__mro__:
                    kind = kind_of_type_name(f"{ancestor.__module__}.{ancestor.__qualname__}")
                    if kind is not None:
                        return kind
            return None
    return None


def _schema_for(task: Any, schema: Any, key: str | None) -> Any:
    """The part of a task's ``schema`` (a class option, its shape checked when the class was
    defined) that applies to output ``key`` (None: no check)."""
    if schema is None or _is_pandera(schema):
        return schema
    per_output = bool(schema) and all(
        isinstance(v, Mapping) or _is_pandera(v) for v in schema.values()
    )
    if not per_output:
        return schema
    if key is None:
        raise SchemaError(
            f"{type(task).__qualname__}.schema is keyed by output ({', '.join(map(repr, schema))})"
            " but the task has a single output; give the column -> type dict directly"
        )
    return schema.get(key)


def check_dump(task: Any, obj: Any, key: str | None) -> None:
    """Check a data frame a task dumps against its ``schema`` and ``fail_on_empty_dump``.

    Objects that are not data frames are not checked.

    Raises:
        EmptyDumpError: for a frame with no rows (or no columns) when the task sets
            ``fail_on_empty_dump = True``.
        SchemaError: listing every column that is missing or of another type.
    """
    if frame_kind(obj) is None:
        return
    cls = type(task)
    where = f"{task!r}" + (f" output {key!r}" if key is not None else "")
    if option(cls, "fail_on_empty_dump") and is_empty(obj):
        raise EmptyDumpError(
            f"{where}: dumped an empty data frame (shape {_shape(obj)}) and the task sets "
            "fail_on_empty_dump = True; check the inputs and filters upstream of this dump"
        )
    schema = _schema_for(task, option(cls, "schema"), key)
    if schema is None:
        return
    if _is_pandera(schema):
        _validate_pandera(where, schema, obj)
        return
    problems = schema_mismatches(obj, schema)
    if problems:
        raise SchemaError(
            f"{where}: the dumped frame does not match {cls.__qualname__}.schema "
            f"({len(problems)} problem(s)):\n  " + "\n  ".join(problems) + "\nFix the frame "
            "(e.g. astype / cast) or the schema."
        )


def _shape(frame: Any) -> str:
    if frame_kind(frame) == "polars.lazy":
        return "lazy"
    shape = getattr(frame, "shape", None)
    return str(tuple(shape)) if shape is not None else "?"


def _validate_pandera(where: str, schema: Any, frame: Any) -> None:
    try:
        schema.validate(frame, lazy=True)
    except Exception as exc:
        if not type(exc).__module__.startswith("pandera"):
            raise
        raise SchemaError(
            f"{where}: the dumped frame does not match its pandera schema:\n{exc}"
        ) from exc


def require_columns(
    task: Any,
    frame: Any,
    where: str,
    required: Collection[Any] | None,
    drop_columns: bool,
) -> Any:
    """Check ``frame`` has every ``required`` column; keep only those with ``drop_columns``.

    A list or tuple of required columns also sets their order when dropping; a set keeps
    the frame's order.

    Raises:
        MissingColumnsError: naming the task, the missing columns and the columns present.
    """
    if required is None:
        return frame
    if isinstance(required, str):
        required = [required]
    present = columns(frame)
    have = set(present)
    wanted = list(required)
    missing = [c for c in wanted if c not in have]
    if missing:
        if isinstance(required, set | frozenset):
            missing.sort(key=repr)
        names = [str(c) for c in present]
        error = MissingColumnsError(
            f"{task!r}: input {where} lacks the required column(s) "
            + ", ".join(_with_hint(c, names) for c in missing)
            + f"; its columns are: {describe_columns(present)}"
        )
        error.task = task  # type: ignore[attr-defined]
        error.missing = missing  # type: ignore[attr-defined]
        error.present = present  # type: ignore[attr-defined]
        raise error
    if not drop_columns:
        return frame
    if isinstance(required, set | frozenset):
        keep = [c for c in present if c in required]
    else:
        keep = list(dict.fromkeys(wanted))
    return select(frame, keep)


def _with_hint(column: Any, names: list[str]) -> str:
    hint = suggest(str(column), names).strip()  # "Did you mean 'x'?"
    return f"{column!r} ({hint[0].lower()}{hint[1:]})" if hint else repr(column)
