"""Formats: how an object becomes bytes and back, chosen by file extension.

A format is any object with ``dump(obj, file)`` and ``load(file)`` working on binary file
objects (see :class:`Format`). ``dump`` gets a write-only stream that cannot seek; ``load``
gets one that can. Built-in formats are registered by dotted path and imported the first
time their extension is used, so ``import cairn`` stays light::

    import cairn.formats

    class YamlFormat:
        def dump(self, obj, file): file.write(yaml.safe_dump(obj).encode())
        def load(self, file): return yaml.safe_load(file.read())

    cairn.formats.register(".yaml", YamlFormat())

The protocol also declares ``load_as(file, kind)``, reading a data frame directly as
``kind`` (``"pandas"``, ``"polars"``, ``"polars.lazy"`` or ``"arrow"``), and
``records_kind``: True for a format that cannot tell from its bytes which library wrote it
(csv), to which the task layer then passes the kind kept in the run record.
:class:`BaseFormat` gives the defaults (``load`` then convert; ``records_kind = False``); a
format object with only ``dump`` and ``load`` is taken with those defaults.

The configurable built-ins are public: :class:`Parquet` (compression), :class:`Feather` and
:class:`Csv` (separator); pass one to ``make_target(path, format=...)`` or ``register`` it.
"""

from __future__ import annotations

import importlib
import threading
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol, runtime_checkable

from cairn._errors import FormatError

if TYPE_CHECKING:
    from cairn.formats._tabular import Csv, Feather, Parquet

__all__ = [
    "BaseFormat",
    "Csv",
    "Feather",
    "Format",
    "Parquet",
    "extension_of",
    "get",
    "known_extensions",
    "register",
]


@runtime_checkable
class Format(Protocol):
    """Writes objects to and reads them from binary files."""

    def dump(self, obj: Any, file: BinaryIO) -> None:
        """Write ``obj`` to ``file``."""

    def load(self, file: BinaryIO) -> Any:
        """Read an object back from ``file``."""

    def load_as(self, file: BinaryIO, kind: str | None) -> Any:
        """Read an object back from ``file``, a data frame as ``kind`` (None: as written)."""

    #: True when the bytes do not say which frame library wrote them (csv, json, text).
    records_kind: bool


@runtime_checkable
class _Reads(Protocol):
    """The methods a format object cannot do without (the rest have defaults)."""

    def dump(self, obj: Any, file: BinaryIO) -> None: ...

    def load(self, file: BinaryIO) -> Any: ...


@runtime_checkable
class _LoadsAs(Protocol):
    """A format object that reads frames as a kind itself but does not say ``records_kind``."""

    def load_as(self, file: BinaryIO, kind: str | None) -> Any: ...


class BaseFormat:
    """Defaults for the optional parts of :class:`Format`: subclass it for your own."""

    #: The bytes say which library wrote a frame (or the format holds no frames).
    records_kind = False

    def dump(self, obj: Any, file: BinaryIO) -> None:
        """Write ``obj`` to ``file`` (subclasses implement it)."""
        raise NotImplementedError(f"{type(self).__name__} does not define dump(obj, file)")

    def load(self, file: BinaryIO) -> Any:
        """Read an object back from ``file`` (subclasses implement it)."""
        raise NotImplementedError(f"{type(self).__name__} does not define load(file)")

    def load_as(self, file: BinaryIO, kind: str | None) -> Any:
        """:meth:`load`, then convert a data frame to ``kind``."""
        from cairn.formats._frames import convert

        return convert(self.load(file), kind)


class _WithDefaults(BaseFormat):
    """A format object without ``load_as``/``records_kind``, given the defaults."""

    def __init__(self, inner: _Reads) -> None:
        self.inner = inner

    def dump(self, obj: Any, file: BinaryIO) -> None:
        self.inner.dump(obj, file)

    def load(self, file: BinaryIO) -> Any:
        return self.inner.load(file)

    def load_as(self, file: BinaryIO, kind: str | None) -> Any:
        if isinstance(self.inner, _LoadsAs):
            return self.inner.load_as(file, kind)
        return super().load_as(file, kind)

    def __repr__(self) -> str:
        return repr(self.inner)


def as_format(fmt: Any) -> Format:
    """Return ``fmt`` as a :class:`Format`, giving a plain ``dump``/``load`` object the
    defaults of :class:`BaseFormat`.

    Raises:
        FormatError: when ``fmt`` lacks ``dump(obj, file)`` or ``load(file)``.
    """
    if isinstance(fmt, BaseFormat):  # every built-in: a plain class check, no protocol walk
        return fmt
    if isinstance(fmt, Format):
        return fmt
    if isinstance(fmt, _Reads):
        return _WithDefaults(fmt)
    raise FormatError(f"a format needs dump(obj, file) and load(file) methods; {fmt!r} lacks them")


# extension -> Format instance, or "module:attribute" to import on first use
_registry: dict[str, Format | str] = {
    ".pkl": "cairn.formats._basic:PICKLE",
    ".pickle": "cairn.formats._basic:PICKLE",
    ".json": "cairn.formats._basic:JSON",
    ".ndjson": "cairn.formats._basic:NDJSON",
    ".jsonl": "cairn.formats._basic:NDJSON",
    ".txt": "cairn.formats._basic:TEXT",
    ".gz": "cairn.formats._basic:GZIP_TEXT",
    ".csv": "cairn.formats._tabular:CSV",
    ".tsv": "cairn.formats._tabular:TSV",
    ".parquet": "cairn.formats._tabular:PARQUET",
    ".feather": "cairn.formats._tabular:FEATHER",
    ".npy": "cairn.formats._arrays:NPY",
    ".npz": "cairn.formats._arrays:NPZ",
    ".png": "cairn.formats._images:PNG",
    ".jpg": "cairn.formats._images:JPEG",
    ".jpeg": "cairn.formats._images:JPEG",
    ".xml": "cairn.formats._xml:XML",
}
# public classes, imported on first access (module __getattr__ below)
_public = {
    "Parquet": "cairn.formats._tabular",
    "Feather": "cairn.formats._tabular",
    "Csv": "cairn.formats._tabular",
}
_lock = threading.Lock()


def register(extension: str, fmt: Any) -> None:
    """Register ``fmt`` (an object, or ``"module:attribute"``) for ``extension``.

    Registering an extension again replaces the earlier format.
    """
    if not extension.startswith(".") or len(extension) < 2:
        raise FormatError(f"extension must start with a dot, like '.csv'; got {extension!r}")
    if not isinstance(fmt, str):
        as_format(fmt)  # raises FormatError for an object that is not a format; kept as given
    with _lock:
        _registry[extension.lower()] = fmt


def known_extensions() -> list[str]:
    """Return the registered extensions, sorted."""
    return sorted(_registry)


def extension_of(path: str) -> str:
    """Return the registered extension ``path`` ends with (longest match, e.g. ``.csv.gz``)."""
    name = path.rsplit("/", 1)[-1].lower()
    dot = name.find(".")
    while dot != -1:
        if name[dot:] in _registry:
            return name[dot:]
        dot = name.find(".", dot + 1)
    raise FormatError(
        f"no format for {path!r}: cairn chooses the format by extension and knows "
        f"{', '.join(known_extensions())}. Use one of those, or register a format with "
        "cairn.formats.register('.ext', MyFormat())."
    )


def get(path_or_extension: str) -> Format:
    """Return the format for a path or extension.

    Raises:
        FormatError: when no format is registered for it.
    """
    ext = extension_of(path_or_extension)
    entry = _registry[ext]
    if isinstance(entry, str):
        module_name, _, attr = entry.partition(":")
        fmt = as_format(getattr(importlib.import_module(module_name), attr))
        with _lock:
            _registry[ext] = fmt
        return fmt
    return as_format(entry)  # a plain class check for every BaseFormat


def __getattr__(name: str) -> Any:
    module = _public.get(name)
    if module is None:
        raise AttributeError(f"module 'cairn.formats' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
