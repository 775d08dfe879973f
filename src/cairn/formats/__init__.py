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

A format that reads data frames may also define ``load_as(file, kind)``, reading the frame
directly as ``kind`` (``"pandas"``, ``"polars"``, ``"polars.lazy"`` or ``"arrow"``); for
other formats the loaded frame is converted. One that sets ``records_kind = True`` cannot
tell from its bytes which library wrote it (csv): the task layer then passes the kind kept
in the run record.

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


def register(extension: str, fmt: Format | str) -> None:
    """Register ``fmt`` (an object, or ``"module:attribute"``) for ``extension``.

    Registering an extension again replaces the earlier format.
    """
    if not extension.startswith(".") or len(extension) < 2:
        raise FormatError(f"extension must start with a dot, like '.csv'; got {extension!r}")
    if not isinstance(fmt, str) and not isinstance(fmt, Format):
        raise FormatError(
            f"a format needs dump(obj, file) and load(file) methods; {fmt!r} lacks them"
        )
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
        fmt: Format = getattr(importlib.import_module(module_name), attr)
        with _lock:
            _registry[ext] = fmt
        return fmt
    return entry


def __getattr__(name: str) -> Any:
    module = _public.get(name)
    if module is None:
        raise AttributeError(f"module 'cairn.formats' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
