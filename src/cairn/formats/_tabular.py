"""Tabular formats: ``.parquet``, ``.feather``, ``.csv`` and ``.tsv``.

Each takes a pandas or polars ``DataFrame``, a polars ``LazyFrame`` (computed when written)
or a ``pyarrow.Table``, and reads back the kind that was written: parquet and feather keep
it in the file's schema metadata (key ``cairn.frame``); csv and tsv cannot, so the task layer
keeps it in the run record and passes it to :meth:`Csv.load_as`. Parquet and feather go
through Arrow, so the pandas index survives (pyarrow's ``pandas`` metadata); csv and tsv
write no index.
"""

from __future__ import annotations

import io
import os
import sys
import warnings
from typing import Any, BinaryIO

from cairn._errors import FormatError
from cairn.formats import BaseFormat
from cairn.formats._basic import written_as
from cairn.formats._frames import (
    KINDS,
    frame_kind,
    from_arrow,
    has_default_index,
    require,
    to_arrow,
)

__all__ = ["CSV", "FEATHER", "PARQUET", "TSV", "Csv", "Feather", "Parquet"]

#: schema metadata key holding the kind of frame that was written
KIND_KEY = b"cairn.frame"


def _kind_to_write(obj: Any, ext: str) -> str:
    kind = frame_kind(obj)
    if kind is None:
        raise FormatError(
            f"a {ext} target takes a pandas or polars DataFrame, a polars LazyFrame or a "
            f"pyarrow Table, not {type(obj).__qualname__}; use .pkl for other objects"
        )
    return kind


def _default_kind(metadata: dict[bytes, bytes] | None) -> str:
    """The kind to read a file as when nothing says which: its writer's, else pandas."""
    meta = metadata or {}
    recorded = meta.get(KIND_KEY, b"").decode("ascii", "replace")
    if recorded:
        return recorded
    if b"pandas" in meta:
        return "pandas"
    return installed_default()


def installed_default() -> str:
    """pandas when it is installed, else polars, else pyarrow."""
    import importlib.util

    for kind, module in (("pandas", "pandas"), ("polars", "polars")):
        if importlib.util.find_spec(module) is not None:
            return kind
    return "arrow"


def _tag(table: Any, kind: str) -> Any:
    meta = dict(table.schema.metadata or {})
    meta[KIND_KEY] = kind.encode("ascii")
    return table.replace_schema_metadata(meta)


def _untag(table: Any) -> Any:
    meta = table.schema.metadata
    if not meta or KIND_KEY not in meta:
        return table
    rest = {k: v for k, v in meta.items() if k != KIND_KEY}
    return table.replace_schema_metadata(rest or None)


def _arrow_source(file: BinaryIO) -> Any:
    """What pyarrow reads fastest for ``file``, with the same bytes.

    Bytes already in memory (stores that fetch whole objects give a ``BytesIO``) are read
    in place; a file on local disk is reopened natively by its name (checked to be the same
    file), which spares a Python call and a copy per buffer: feather reads twice as fast.
    Anything else is read through its Python methods.
    """
    pa = require("pyarrow", "pandas", "reading data frames")
    if isinstance(file, io.BytesIO):
        return pa.BufferReader(file.getvalue())  # no copy of a BytesIO made from bytes
    raw = getattr(file, "raw", file)
    name = getattr(raw, "name", None)
    if isinstance(raw, io.FileIO) and isinstance(name, str) and os.path.isabs(name):
        try:
            opened, named = os.fstat(raw.fileno()), os.stat(name)
        except OSError:
            return file
        if (opened.st_dev, opened.st_ino) == (named.st_dev, named.st_ino):
            return pa.OSFile(name)
    return file


class _ArrowFormat(BaseFormat):
    """Shared by parquet and feather: frame -> Arrow table with its kind -> file, and back."""

    extension = ""

    def _write(self, table: Any, file: BinaryIO) -> None:
        raise NotImplementedError

    def _read(self, source: Any) -> Any:
        raise NotImplementedError

    def dump(self, obj: Any, file: BinaryIO) -> None:
        kind = _kind_to_write(obj, self.extension)
        self._write(_tag(to_arrow(obj, kind), kind), file)

    def load(self, file: BinaryIO) -> Any:
        return self.load_as(file, None)

    def load_as(self, file: BinaryIO, kind: str | None) -> Any:
        """Read the frame as ``kind`` (None: the kind that was written)."""
        source = _arrow_source(file)
        try:
            table = self._read(source)
        finally:
            if source is not file:
                source.close()
        if kind is None:
            kind = _default_kind(table.schema.metadata)
        return from_arrow(_untag(table), kind, owned=True)


class Parquet(_ArrowFormat):
    """Apache Parquet through pyarrow: snappy-compressed, dictionary-encoded except
    floating-point columns, unless told otherwise.

    ``compression`` is any codec pyarrow knows (``"snappy"``, ``"zstd"``, ``"gzip"``,
    ``"lz4"``, ``"brotli"``, ``"none"``); ``compression_level`` and further keyword
    arguments go to ``pyarrow.parquet.write_table``, ``use_dictionary`` among them (``True``
    for every column, ``False`` for none, or a list of column paths)::

        self.make_target("small.parquet", format=cairn.formats.Parquet(compression="zstd"))

    Why these defaults: measured on a 1,000,000 x 5 float64 frame, trying a dictionary on
    every column (pyarrow's default) doubled the time of a write, for floats that rarely
    repeat; snappy writes and reads about as fast as no compression. On frames of ids,
    categories and dates the dictionary is what makes files small, so it stays on there.
    """

    extension = ".parquet"

    def __init__(
        self,
        compression: str = "snappy",
        compression_level: int | None = None,
        **write_options: Any,
    ) -> None:
        self.compression = compression
        self.compression_level = compression_level
        self.write_options = write_options

    def __repr__(self) -> str:
        return f"Parquet(compression={self.compression!r})"

    def _write(self, table: Any, file: BinaryIO) -> None:
        pq = require("pyarrow.parquet", "pandas", "the .parquet format")
        options = self.write_options
        if "use_dictionary" not in options:
            options = {**options, "use_dictionary": dictionary_columns(table.schema)}
        pq.write_table(
            table,
            file,
            compression=self.compression,
            compression_level=self.compression_level,
            **options,
        )

    def _read(self, file: Any) -> Any:
        pq = require("pyarrow.parquet", "pandas", "the .parquet format")
        # pre_buffer reads column chunks ahead of decoding them: it helps on high-latency
        # file systems, which these sources (a local file, bytes in memory) are not, and it
        # holds another copy of the data meanwhile. One file, read whole: ParquetFile, not
        # read_table, whose dataset layer (for folders of files) costs about 10 ms of
        # imports in a new process and nothing here.
        return pq.ParquetFile(file, pre_buffer=False).read()


def dictionary_columns(schema: Any) -> bool | list[str]:
    """What to give ``write_table(use_dictionary=...)`` for ``schema``: the parquet paths of
    every leaf column that is not floating-point (``True`` when that is all of them)."""
    import pyarrow as pa

    types = pa.types
    paths: list[str] = []
    floats = False
    pending = [(field.name, field.type) for field in reversed(schema)]
    while pending:
        path, kind = pending.pop()
        if types.is_struct(kind):  # one parquet column per field
            fields = [kind.field(i) for i in range(kind.num_fields)]
            pending.extend((f"{path}.{f.name}", f.type) for f in reversed(fields))
        elif types.is_map(kind):
            pending.append((f"{path}.key_value.value", kind.item_type))
            pending.append((f"{path}.key_value.key", kind.key_type))
        elif types.is_list(kind) or types.is_large_list(kind) or types.is_fixed_size_list(kind):
            pending.append((f"{path}.list.element", kind.value_type))
        elif types.is_floating(kind):
            floats = True
        else:
            paths.append(path)
    return paths if floats else True


class Feather(_ArrowFormat):
    """Feather (Arrow IPC file) through pyarrow; pyarrow's default compression (lz4).

    ``compression`` may be ``"lz4"``, ``"zstd"`` or ``"uncompressed"``.
    """

    extension = ".feather"

    def __init__(self, compression: str | None = None, compression_level: int | None = None):
        self.compression = compression
        self.compression_level = compression_level

    def __repr__(self) -> str:
        return f"Feather(compression={self.compression!r})"

    def _write(self, table: Any, file: BinaryIO) -> None:
        feather = require("pyarrow.feather", "pandas", "the .feather format")
        feather.write_feather(
            table, file, compression=self.compression, compression_level=self.compression_level
        )

    def _read(self, file: Any) -> Any:
        feather = require("pyarrow.feather", "pandas", "the .feather format")
        return feather.read_table(file)


class Csv(BaseFormat):
    """Comma- (or ``separator``-) separated text with a header row, in ``encoding`` (UTF-8
    unless told otherwise, e.g. ``"cp932"`` for files from Japanese Excel)::

        self.make_target("sales.csv", format=cairn.formats.Csv(encoding="cp932"))
        self.make_target("table.txt", format=cairn.formats.Csv(separator="|"))

    Takes a pandas or polars ``DataFrame``, a polars ``LazyFrame``, a ``pyarrow.Table`` or a
    pandas ``Series`` (written as one column, loaded back as a Series). No index is written: a
    pandas frame with a non-default index loses it (a warning says so); call
    ``reset_index()`` first to keep it as a column, or use ``.parquet``. Column types are
    inferred again when read.
    """

    #: csv keeps no metadata: the task layer passes the recorded kind to ``load_as``
    records_kind = True

    def __init__(self, separator: str = ",", encoding: str = "utf-8") -> None:
        if not isinstance(separator, str) or len(separator) != 1:
            raise FormatError(
                f"a csv separator is one character, like ',' or '\\t'; got {separator!r}"
            )
        import codecs

        try:
            self.encoding = codecs.lookup(encoding).name
        except (LookupError, TypeError):
            raise FormatError(
                f"unknown text encoding {encoding!r}; use one Python knows, like 'utf-8', "
                "'cp932' or 'latin-1'"
            ) from None
        self.separator = separator
        self.extension = ".tsv" if separator == "\t" else ".csv"

    def __repr__(self) -> str:
        if self.encoding == "utf-8":
            return f"Csv(separator={self.separator!r})"
        return f"Csv(separator={self.separator!r}, encoding={self.encoding!r})"

    @property
    def _utf8(self) -> bool:
        return self.encoding == "utf-8"

    def dump(self, obj: Any, file: BinaryIO) -> None:
        pd = sys.modules.get("pandas")
        if pd is not None and isinstance(obj, pd.Series):
            obj = obj.to_frame(name=obj.name if obj.name is not None else 0)
        kind = _kind_to_write(obj, self.extension)
        if kind == "pandas":
            if not has_default_index(obj):
                warnings.warn(
                    f"the index of this frame is not written to {self.extension}; call "
                    "reset_index() first to keep it as a column, or use .parquet",
                    UserWarning,
                    stacklevel=4,
                )
            text = io.TextIOWrapper(file, encoding=self.encoding, newline="")
            try:
                obj.to_csv(text, index=False, sep=self.separator)
            except UnicodeEncodeError as exc:
                raise FormatError(
                    f"this frame holds text that {self.encoding} cannot encode ({exc}); "
                    "choose another encoding for the target, such as utf-8"
                ) from None
            text.flush()
            text.detach()
            return
        if self._utf8:
            self._write_utf8(obj, kind, file)
            return
        buffer = io.BytesIO()  # pyarrow and polars write UTF-8 only: transcode
        self._write_utf8(obj, kind, buffer)
        try:
            file.write(buffer.getvalue().decode("utf-8").encode(self.encoding))
        except UnicodeEncodeError as exc:
            raise FormatError(
                f"this frame holds text that {self.encoding} cannot encode ({exc}); "
                "choose another encoding for the target, such as utf-8"
            ) from None

    def _write_utf8(self, obj: Any, kind: str, file: BinaryIO) -> None:
        if kind == "arrow":
            csv = require("pyarrow.csv", "pandas", f"the {self.extension} format")
            csv.write_csv(obj, file, csv.WriteOptions(delimiter=self.separator))
        else:
            frame = obj.collect() if kind == "polars.lazy" else obj
            frame.write_csv(file, separator=self.separator)

    def load(self, file: BinaryIO) -> Any:
        return self.load_as(file, None)

    def load_as(self, file: BinaryIO, kind: str | None) -> Any:
        """Read the file as ``kind`` (None: pandas when installed, else polars); a pandas
        Series when the run record says one was written."""
        series = written_as(kind) == ("pandas", "Series")
        if kind not in KINDS:
            kind = "pandas" if series else installed_default()
        if kind == "pandas":
            pd = require("pandas", "pandas", f"reading {self.extension} as pandas")
            frame = pd.read_csv(file, sep=self.separator, encoding=self.encoding)
            if series and len(frame.columns) == 1:
                column = frame.columns[0]
                return frame[column].rename(None if column == "0" else column)
            return frame
        source: Any = file
        if not self._utf8:  # pyarrow and polars read UTF-8 only: transcode
            source = io.BytesIO(file.read().decode(self.encoding).encode("utf-8"))
        if kind == "arrow":
            csv = require("pyarrow.csv", "pandas", f"the {self.extension} format")
            return csv.read_csv(source, parse_options=csv.ParseOptions(delimiter=self.separator))
        pl = require("polars", "polars", f"reading {self.extension} as polars")
        frame = pl.read_csv(source, separator=self.separator)
        return frame.lazy() if kind == "polars.lazy" else frame


PARQUET = Parquet()
FEATHER = Feather()
CSV = Csv(",")
TSV = Csv("\t")
