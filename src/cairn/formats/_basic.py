"""Pickle (cloudpickle), JSON, newline-delimited JSON, text and gzip-compressed text.

JSON and newline-delimited JSON also take data frames (as records); text takes any object.
"""

from __future__ import annotations

import io
import json
import pickle
import warnings
from collections.abc import Iterable, Mapping
from typing import Any, BinaryIO

from cairn._errors import FormatError
from cairn.formats import BaseFormat

__all__ = ["GZIP_TEXT", "JSON", "NDJSON", "PICKLE", "TEXT"]


#: Types that both picklers write alike (nothing in them refers to code).
_PLAIN = frozenset({int, float, complex, str, bytes, bool, type(None)})


class PickleFormat(BaseFormat):
    """cloudpickle, protocol 5: functions, lambdas and classes from ``__main__`` included.

    Unsafe on untrusted stores: loading a pickle can run arbitrary code.
    """

    def dump(self, obj: Any, file: BinaryIO) -> None:
        if type(obj) in _PLAIN:  # the same bytes either way; the standard pickler is quicker
            pickle.dump(obj, file, protocol=pickle.HIGHEST_PROTOCOL)
            return
        import cloudpickle  # only to write: reading a pickle needs no cloudpickle

        cloudpickle.dump(obj, file, protocol=pickle.HIGHEST_PROTOCOL)

    def load(self, file: BinaryIO) -> Any:
        return pickle.load(file)


def _frame_kind(obj: Any) -> str | None:
    from cairn.formats._frames import frame_kind

    return frame_kind(obj)


def _is_frame_kind(kind: str | None) -> bool:
    from cairn.formats._frames import KINDS

    return kind in KINDS


def _warn_lost_index(frame: Any, extension: str) -> None:
    from cairn.formats._frames import has_default_index

    if not has_default_index(frame):
        warnings.warn(
            f"the index of this frame is not written to {extension}; call reset_index() "
            "first to keep it as a column, or use .parquet",
            UserWarning,
            stacklevel=5,
        )


def _dump_frame_json(frame: Any, kind: str, file: BinaryIO, *, lines: bool) -> None:
    """A frame as JSON records (``[{"col": value, ...}, ...]``), or one record per line."""
    extension = ".ndjson" if lines else ".json"
    if kind == "pandas":
        _warn_lost_index(frame, extension)
        text = frame.to_json(orient="records", lines=lines, date_format="iso", force_ascii=False)
        if lines:  # one newline after every record (pandas versions differ on the last)
            text = text.rstrip("\n") + "\n" if len(frame) else ""
        file.write(text.encode("utf-8"))
    elif kind in ("polars", "polars.lazy"):
        data = frame.collect() if kind == "polars.lazy" else frame
        if lines:
            data.write_ndjson(file)
        else:
            data.write_json(file)
    else:  # a pyarrow Table
        rows = frame.to_pylist()
        if lines:
            NDJSON.dump(rows, file)
        else:
            JSON.dump(rows, file)


def _load_frame_json(file: BinaryIO, kind: str, *, lines: bool) -> Any:
    """Read JSON records (or one record per line) as a frame of ``kind``."""
    from cairn.formats._frames import require

    extension = ".ndjson" if lines else ".json"
    if kind == "pandas":
        pd = require("pandas", "pandas", f"reading {extension} as pandas")
        text = io.TextIOWrapper(file, encoding="utf-8")
        try:
            return pd.read_json(text, orient="records", lines=lines)
        finally:
            text.detach()
    if kind in ("polars", "polars.lazy"):
        pl = require("polars", "polars", f"reading {extension} as polars")
        frame = pl.read_ndjson(file) if lines else pl.read_json(file)
        return frame.lazy() if kind == "polars.lazy" else frame
    pa = require("pyarrow", "pandas", f"reading {extension} as a pyarrow Table")
    rows = NDJSON.load(file) if lines else json.loads(file.read())
    return pa.Table.from_pylist(rows)


#: JSON has no NaN or infinity: Python's ``NaN`` / ``Infinity`` extension is not JSON that
#: other readers (browsers, jq, most languages) accept, so such values are refused
_NON_FINITE = (
    "{where} holds a non-finite float (NaN or infinity), which JSON cannot represent ({exc}); "
    "replace it with None (null) or a finite number, or use a .pkl target"
)


class JsonFormat(BaseFormat):
    """UTF-8 JSON; tuples come back as lists.

    A data frame (pandas, polars DataFrame or LazyFrame, pyarrow Table) is written as a list
    of records, ``[{"column": value, ...}, ...]``, which ``pandas.read_json`` and
    ``polars.read_json`` read directly, and loads back as the kind that was written (kept in
    the run record); anything else loads back as the JSON value it is.
    """

    #: a frame written as records looks like any list: the run record says which it was
    records_kind = True

    def dump(self, obj: Any, file: BinaryIO) -> None:
        kind = _frame_kind(obj)
        if kind is not None:
            _dump_frame_json(obj, kind, file, lines=False)
            return
        try:
            text = json.dumps(obj, ensure_ascii=False, allow_nan=False)
        except TypeError as exc:
            raise FormatError(
                f"cannot write {type(obj).__qualname__} as JSON ({exc}); "
                "use a .pkl target for arbitrary objects"
            ) from None
        except ValueError as exc:
            raise FormatError(_NON_FINITE.format(where="the .json output", exc=exc)) from None
        file.write(text.encode("utf-8"))

    def load(self, file: BinaryIO) -> Any:
        return json.loads(file.read())

    def load_as(self, file: BinaryIO, kind: str | None) -> Any:
        """Read the file as a frame of ``kind``, or as the JSON value for anything else."""
        if _is_frame_kind(kind):
            return _load_frame_json(file, str(kind), lines=False)
        return self.load(file)


class NdjsonFormat(BaseFormat):
    """Newline-delimited JSON: a list (or any iterable) of JSON values, one per line.

    Loads back as a list. A data frame is written one record per line (readable by
    ``pandas.read_json(..., lines=True)`` and ``polars.read_ndjson``) and loads back as the
    kind that was written.
    """

    records_kind = True

    def dump(self, obj: Any, file: BinaryIO) -> None:
        kind = _frame_kind(obj)
        if kind is not None:
            _dump_frame_json(obj, kind, file, lines=True)
            return
        if isinstance(obj, str | bytes | dict) or not isinstance(obj, Iterable):
            raise FormatError(
                f"a .ndjson target takes a list of JSON values (one per line) or a data "
                f"frame, not {type(obj).__qualname__}; use .json for a single value"
            )
        text = io.TextIOWrapper(file, encoding="utf-8", newline="\n")
        encode = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode
        try:
            for index, item in enumerate(obj):
                try:
                    line = encode(item)
                except TypeError as exc:
                    raise FormatError(
                        f"item {index} of the .ndjson output cannot be written as JSON "
                        f"({exc}); use a .pkl target for arbitrary objects"
                    ) from None
                except ValueError as exc:
                    where = f"item {index} of the .ndjson output"
                    raise FormatError(_NON_FINITE.format(where=where, exc=exc)) from None
                text.write(line)
                text.write("\n")
        finally:
            text.flush()
            text.detach()

    def load(self, file: BinaryIO) -> Any:
        return [json.loads(line) for line in io.TextIOWrapper(file, "utf-8") if line.strip()]

    def load_as(self, file: BinaryIO, kind: str | None) -> Any:
        """Read the file as a frame of ``kind``, or as a list of JSON values."""
        if _is_frame_kind(kind):
            return _load_frame_json(file, str(kind), lines=True)
        return self.load(file)


#: written types that load back from text as a list of lines, as (top-level package, class
#: name): the qualified name the run record keeps varies with a library's version
#: (``pandas.core.series.Series``, ``pandas.Series``); anything else loads back as one str
_LINE_TYPES = frozenset(
    {
        ("builtins", "list"),
        ("builtins", "tuple"),
        ("builtins", "set"),
        ("builtins", "frozenset"),
        ("builtins", "range"),
        ("builtins", "generator"),
        ("builtins", "dict_keys"),
        ("builtins", "dict_values"),
        ("collections", "deque"),
        ("numpy", "ndarray"),
        ("pandas", "Series"),
        ("pandas", "Index"),
        ("polars", "Series"),
    }
)


def written_as(type_name: str | None) -> tuple[str, str]:
    """(top-level package, class name) of a qualified type name from a run record."""
    if not type_name:
        return ("", "")
    return (type_name.partition(".")[0], type_name.rpartition(".")[2])


def _text_of(obj: Any, extension: str) -> str:
    """Any object as text: a str as it is, an iterable one element per line, else str(obj)."""
    if isinstance(obj, str):
        return obj
    if isinstance(obj, bytes | bytearray | memoryview):
        raise FormatError(
            f"a {extension} target takes text, not {type(obj).__qualname__}; decode it first "
            "(data.decode('utf-8')) or use a .pkl target for raw bytes"
        )
    if isinstance(obj, Iterable) and not isinstance(obj, Mapping):
        lines = (str(x) for x in obj)
        return "".join(line if line.endswith("\n") else line + "\n" for line in lines)
    return str(obj)


def _text_as_written(text: str, kind: str | None) -> Any:
    """Text read back as the type written (``kind``, the qualified type name the run record
    keeps): a list of lines, without their newlines, for a list, tuple, set, generator, array
    or series; one str for anything else."""
    return text.splitlines() if written_as(kind) in _LINE_TYPES else text


class TextFormat(BaseFormat):
    """UTF-8 text: a str as it is; a list (or any iterable) one element per line (gokart's
    habit); any other object as ``str(obj)``. Loads back as the type written: a str, or a
    list of lines for an iterable (the run record keeps which)."""

    records_kind = True

    def dump(self, obj: Any, file: BinaryIO) -> None:
        file.write(_text_of(obj, ".txt").encode("utf-8"))

    def load(self, file: BinaryIO) -> Any:
        return file.read().decode("utf-8")

    def load_as(self, file: BinaryIO, kind: str | None) -> Any:
        """Read the text back as the type that was written (see :func:`_text_as_written`)."""
        return _text_as_written(self.load(file), kind)


class GzipTextFormat(BaseFormat):
    """gzip-compressed UTF-8 text, written and read back like ``.txt``.

    The gzip header carries no time stamp, so equal text gives equal bytes.
    """

    records_kind = True

    def dump(self, obj: Any, file: BinaryIO) -> None:
        import gzip

        data = _text_of(obj, ".gz").encode("utf-8")
        with gzip.GzipFile(fileobj=file, mode="wb", compresslevel=6, mtime=0) as out:
            out.write(data)

    def load(self, file: BinaryIO) -> Any:
        import gzip

        with gzip.GzipFile(fileobj=file, mode="rb") as src:
            return src.read().decode("utf-8")

    def load_as(self, file: BinaryIO, kind: str | None) -> Any:
        """Read the text back as the type that was written (see :func:`_text_as_written`)."""
        return _text_as_written(self.load(file), kind)


PICKLE = PickleFormat()
JSON = JsonFormat()
NDJSON = NdjsonFormat()
TEXT = TextFormat()
GZIP_TEXT = GzipTextFormat()
