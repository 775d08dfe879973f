"""Data frames of several libraries behind one small interface.

A frame's *kind* names its library: ``"pandas"`` (``pandas.DataFrame``), ``"polars"``
(``polars.DataFrame``), ``"polars.lazy"`` (``polars.LazyFrame``) or ``"arrow"``
(``pyarrow.Table``). Nothing here imports a frame library that the caller has not already
imported, except to convert into a kind that was asked for.

Column types are compared by a library-neutral name (:func:`canonical_dtype`): ``int64``,
``float64``, ``bool``, ``string``, ``category``, ``datetime64[us]``, ... so one schema checks
pandas and polars frames alike.
"""

from __future__ import annotations

import difflib
import importlib
import math
import re
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from cairn._errors import FormatError, MissingExtraError

__all__ = [
    "KINDS",
    "canonical_dtype",
    "columns",
    "concat",
    "convert",
    "describe_columns",
    "dtypes",
    "frame_kind",
    "from_arrow",
    "has_default_index",
    "is_empty",
    "kind_of_request",
    "kind_of_type_name",
    "require",
    "schema_mismatches",
    "select",
    "to_arrow",
]

KINDS = ("pandas", "polars", "polars.lazy", "arrow")

# kind -> (module, class name, extra that installs it)
_CLASSES = {
    "pandas": ("pandas", "DataFrame", "pandas"),
    "polars": ("polars", "DataFrame", "polars"),
    "polars.lazy": ("polars", "LazyFrame", "polars"),
    "arrow": ("pyarrow", "Table", "pandas"),
}


def require(module: str, extra: str, feature: str) -> Any:
    """Import ``module``, or raise :class:`MissingExtraError` naming ``extra``."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtraError.for_module(module, extra, feature) from None


def frame_kind(obj: Any) -> str | None:
    """The kind of a data frame, or None for anything else (imports nothing)."""
    for kind, (module, name, _extra) in _CLASSES.items():
        mod = sys.modules.get(module)
        if mod is not None and isinstance(obj, getattr(mod, name, ())):
            return kind
    return None


def kind_of_type_name(name: str | None) -> str | None:
    """The kind for a qualified type name such as ``polars.dataframe.frame.DataFrame``."""
    if not name:
        return None
    root, last = name.partition(".")[0], name.rsplit(".", 1)[-1]
    if root == "pandas" and last == "DataFrame":
        return "pandas"
    if root == "polars" and last in ("DataFrame", "LazyFrame"):
        return "polars" if last == "DataFrame" else "polars.lazy"
    if root == "pyarrow" and last == "Table":
        return "arrow"
    return None


def kind_of_request(as_type: Any) -> str | None:
    """Turn what a caller asks for (a frame class or a kind name) into a kind.

    Raises:
        FormatError: for anything that names no frame library.
    """
    if as_type is None:
        return None
    if isinstance(as_type, str):
        if as_type in KINDS:
            return as_type
    elif isinstance(as_type, type):
        for cls in as_type.__mro__:
            kind = kind_of_type_name(f"{cls.__module__}.{cls.__qualname__}")
            if kind is not None:
                return kind
    raise FormatError(
        f"as_type={as_type!r} names no data frame type; use pandas.DataFrame, "
        f"polars.DataFrame, polars.LazyFrame, pyarrow.Table, or one of {', '.join(KINDS)}"
    )


def _module(kind: str, feature: str) -> Any:
    module, _name, extra = _CLASSES[kind]
    return require(module, extra, feature)


def to_arrow(frame: Any, kind: str) -> Any:
    """Convert a frame to a ``pyarrow.Table`` (pandas index kept in the pandas metadata)."""
    pa = require("pyarrow", "pandas", "writing data frames")
    if kind == "arrow":
        return frame
    if kind == "pandas":
        return pa.Table.from_pandas(frame, preserve_index=None)
    if kind == "polars.lazy":
        frame = frame.collect()
    return frame.to_arrow()


def from_arrow(table: Any, kind: str, owned: bool = False) -> Any:
    """Convert a ``pyarrow.Table`` to a frame of ``kind``.

    ``owned=True`` says nobody else holds ``table``: it is then taken apart while pandas
    columns are made from it (``self_destruct``), so the conversion needs no second copy.
    """
    if kind == "arrow":
        return table
    if kind == "pandas":
        _module("pandas", "reading data frames as pandas")
        # split_blocks: one block per column, so columns without nulls are not copied
        return table.to_pandas(split_blocks=True, self_destruct=owned)
    pl = _module(kind, "reading data frames as polars")
    table = _pandas_index_as_columns(table)
    frame = pl.from_arrow(table, rechunk=False)
    return frame.lazy() if kind == "polars.lazy" else frame


def _pandas_index_as_columns(table: Any) -> Any:
    """Name a pandas index stored in ``table`` like ``reset_index()`` would."""
    meta = table.schema.metadata or {}
    if b"pandas" not in meta:
        return table
    import json

    try:
        index_columns = json.loads(meta[b"pandas"]).get("index_columns", [])
    except ValueError:
        return table
    names = list(table.column_names)
    stored = [c for c in index_columns if isinstance(c, str) and c in names]
    if not stored:
        return table
    table = table.select(stored + [c for c in names if c not in stored])  # index first
    renamed = [
        ("index" if len(stored) == 1 else f"level_{i}") if c.startswith("__index_level_") else c
        for i, c in enumerate(stored)
    ]
    return table.rename_columns(renamed + table.column_names[len(stored) :])


def has_default_index(frame: Any) -> bool:
    pd = sys.modules["pandas"]
    index = frame.index
    return (
        isinstance(index, pd.RangeIndex)
        and index.start == 0
        and index.step == 1
        and index.name is None
    )


def convert(obj: Any, kind: str | None) -> Any:
    """Return ``obj`` as a frame of ``kind``; non-frames and ``kind=None`` pass through."""
    have = frame_kind(obj)
    if kind is None or have is None or have == kind:
        return obj
    if have == "polars.lazy" and kind == "polars":
        return obj.collect()
    if have == "polars" and kind == "polars.lazy":
        return obj.lazy()
    if have == "pandas" and kind in ("polars", "polars.lazy"):
        pl = _module(kind, "converting pandas frames to polars")
        frame = pl.from_pandas(obj, include_index=not has_default_index(obj))
        return frame.lazy() if kind == "polars.lazy" else frame
    if kind == "pandas" and have in ("polars", "polars.lazy"):
        _module("pandas", "converting polars frames to pandas")
        return (obj.collect() if have == "polars.lazy" else obj).to_pandas()
    return from_arrow(to_arrow(obj, have), kind)


def columns(frame: Any) -> list[Any]:
    """The column labels of a frame, in order (a LazyFrame's without computing it)."""
    kind = frame_kind(frame)
    if kind == "polars.lazy":
        return list(frame.collect_schema().names())
    if kind == "arrow":
        return list(frame.column_names)
    return list(frame.columns)


def dtypes(frame: Any) -> dict[Any, str]:
    """Column label -> the library's own name of its type."""
    kind = frame_kind(frame)
    if kind == "pandas":
        return {label: str(dtype) for label, dtype in frame.dtypes.items()}
    if kind == "polars.lazy":
        return {label: str(dtype) for label, dtype in frame.collect_schema().items()}
    if kind == "polars":
        return {label: str(dtype) for label, dtype in frame.schema.items()}
    return {field.name: str(field.type) for field in frame.schema}


def select(frame: Any, labels: list[Any]) -> Any:
    """The frame with only ``labels``, in that order."""
    kind = frame_kind(frame)
    if kind == "pandas":
        return frame.loc[:, labels]
    return frame.select(labels)


def is_empty(frame: Any) -> bool:
    """True when the frame holds no values: no rows, or no columns.

    A LazyFrame is evaluated (up to its first row) to find out.
    """
    kind = frame_kind(frame)
    if kind == "pandas":
        return bool(frame.empty)
    if kind == "arrow":
        return bool(frame.num_rows == 0 or frame.num_columns == 0)
    if kind == "polars.lazy":
        if not frame.collect_schema().names():
            return True
        frame = frame.head(1).collect()
    return bool(frame.height == 0 or frame.width == 0)


def concat(frames: list[Any]) -> Any:
    """Stack frames of one kind vertically (pandas: ``pd.concat``, polars: ``pl.concat``).

    Raises:
        FormatError: when the frames are of different kinds.
    """
    kinds = {frame_kind(f) for f in frames}
    if len(kinds) != 1 or None in kinds:
        raise FormatError(
            "cannot stack these inputs into one frame: they are "
            f"{', '.join(sorted(type(f).__qualname__ for f in frames))}; load() them instead"
        )
    kind = kinds.pop()
    assert kind is not None
    module = _module(kind, "stacking data frames")
    if kind == "pandas":
        return module.concat(frames)
    if kind == "arrow":
        return module.concat_tables(frames)
    return module.concat(frames, how="vertical")


# --- column types ---------------------------------------------------------------------------

_ALIASES = {
    "int": "int64",
    "integer": "int64",
    "float": "float64",
    "double": "float64",
    "halffloat": "float16",
    "boolean": "bool",
    "str": "string",
    "utf8": "string",
    "large_string": "string",
    "large_utf8": "string",
    "string_view": "string",
    "categorical": "category",
    "date32[day]": "date",
    "date32": "date",
    "datetime": "datetime",
    "timedelta": "timedelta",
    "duration": "timedelta",
    "binary": "binary",
    "large_binary": "binary",
    "bytes": "binary",
    "object": "object",
}
_KNOWN = (
    *(f"int{b}" for b in (8, 16, 32, 64)),
    *(f"uint{b}" for b in (8, 16, 32, 64)),
    *(f"float{b}" for b in (16, 32, 64)),
    "bool",
    "string",
    "category",
    "date",
    "time",
    "datetime",
    "timedelta",
    "binary",
    "object",
)
_UNIT = re.compile(r"time_unit='?(\w+)'?(?:,\s*time_zone=(?:'([^']*)'|none))?")


def canonical_dtype(spec: Any) -> str:
    """A library-neutral name for a column type given as a string, class or dtype object.

    ``"Int64"``, ``np.int64``, ``pl.Int64`` and ``int`` all give ``"int64"``; ``"str"``,
    ``pl.String`` and ``str`` give ``"string"``; polars ``Datetime("us")`` and pandas
    ``datetime64[us]`` give ``"datetime64[us]"``.
    """
    if spec is int:
        return "int64"
    if spec is float:
        return "float64"
    if spec is str:
        return "string"
    if spec is bool:
        return "bool"
    if getattr(spec, "__module__", "").startswith("numpy") or type(spec).__module__.startswith(
        "numpy"
    ):
        numpy = sys.modules["numpy"]
        spec = numpy.dtype(spec).name
    text = str(spec).strip().lower().replace(" ", "")
    text = text.removesuffix("[pyarrow]").removesuffix("[python]")
    if text.startswith(("string", "str[")):
        return "string"
    if text.startswith(("enum(", "dictionary<")):
        return "category"
    for generic, prefixes in (
        ("datetime64", ("datetime(", "timestamp[", "datetime64[")),
        ("timedelta64", ("duration(", "timedelta64[", "duration[")),
    ):
        if text.startswith(prefixes):
            match = _UNIT.search(text)
            if match:
                unit, zone = match.group(1), match.group(2)
            else:
                inner = text[text.index("[") + 1 : text.rindex("]")] if "[" in text else ""
                unit, _, zone = inner.partition(",")
                zone = zone.removeprefix("tz=")
            return f"{generic}[{unit}, {zone}]" if zone else f"{generic}[{unit}]"
    return _ALIASES.get(text, text)


def _matches(expected: str, actual: str) -> bool:
    if expected == actual:
        return True
    if expected in ("datetime", "timedelta"):
        return actual.startswith(expected + "64[")
    return False


def _hint(expected: str) -> str:
    """Suggest a known type for a name that is none (a typo like ``flaot64``)."""
    if expected in _KNOWN or expected.startswith(("datetime64[", "timedelta64[")):
        return ""
    close = difflib.get_close_matches(expected, _KNOWN, n=1)
    return f" ({expected!r} is no type cairn knows; did you mean {close[0]!r}?)" if close else ""


def _element_class(spec: Any) -> type | None:
    """The Python class every value of a column must be an instance of, for a schema entry
    that names a class rather than a column type (``list``, ``dict``, ``numpy.ndarray``, a
    class of your own); None for column types (``int``, ``"float64"``, ``np.int64``,
    ``pl.Int64``...)."""
    if not isinstance(spec, type) or spec in (int, float, str, bool):
        return None
    module = spec.__module__.partition(".")[0]
    if module == "numpy":
        numpy = sys.modules["numpy"]
        return None if issubclass(spec, numpy.generic) else spec  # np.int64 is a dtype
    if module in ("polars", "pyarrow") or spec.__module__.startswith("pandas.core.dtypes"):
        return None
    return spec


def _values(frame: Any, label: Any) -> list[Any]:
    """The values of one column as Python objects (a LazyFrame's are computed)."""
    kind = frame_kind(frame)
    if kind == "pandas":
        return list(frame[label])
    if kind == "polars.lazy":
        return list(frame.select(label).collect().to_series().to_list())
    if kind == "polars":
        return list(frame.get_column(label).to_list())
    return list(frame.column(label).to_pylist())


def _element_mismatch(frame: Any, label: Any, cls: type) -> str | None:
    """Where the first value of column ``label`` that is not a ``cls`` is (None: all are);
    missing values (None, NaN) are allowed."""
    for row, value in enumerate(_values(frame, label)):
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        if not isinstance(value, cls):
            return (
                f"column {label!r}: expected every value to be a {cls.__qualname__}, found "
                f"{type(value).__qualname__} {value!r:.60} at row {row}"
            )
    return None


def schema_mismatches(frame: Any, schema: Mapping[Any, Any]) -> list[str]:
    """Every way ``frame`` differs from ``schema`` (column -> type), as readable lines.

    A column type (``int``, ``"float64"``, ``pl.Int64``...) is compared with the column's
    type; a class (``list``, ``dict``, ``numpy.ndarray``...) is checked against every value.
    """
    found = dtypes(frame)
    problems = []
    for label, spec in schema.items():
        element = _element_class(spec)
        expected = element.__qualname__ if element is not None else canonical_dtype(spec)
        if label not in found:
            problems.append(f"column {label!r}: missing (expected {expected})")
            continue
        if element is not None:
            problem = _element_mismatch(frame, label, element)
            if problem is not None:
                problems.append(problem)
            continue
        actual_text = found[label]
        actual = canonical_dtype(actual_text)
        if not _matches(expected, actual) and expected != actual_text.lower():
            problems.append(
                f"column {label!r}: expected {expected}, found {actual}{_hint(expected)}"
            )
    return problems


def describe_columns(labels: Iterable[Any], limit: int = 40) -> str:
    """``'a', 'b', ... and 12 more`` for error messages."""
    labels = list(labels)
    shown = ", ".join(repr(c) for c in labels[:limit])
    if len(labels) > limit:
        shown += f", ... and {len(labels) - limit} more"
    return shown or "no columns"
