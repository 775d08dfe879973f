"""Model targets: objects that save themselves as several files, stored as one zip.

``save_function(obj, path)`` is given ``path`` inside a fresh private directory; it may
write a file there, a directory there, or several files beside it. Everything in that
directory is zipped into one object in the store (so it works on every store, one put on
object stores). Loading unzips into another private directory and calls
``load_function(path)`` with the same relative path; the directory is removed when
``load_function`` returns, so it must read what it needs (on POSIX systems memory-mapped
files stay readable after removal).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from typing import Any, BinaryIO

from cairn._errors import FormatError
from cairn.formats import BaseFormat

__all__ = ["ModelFormat"]


def _entry(name: str) -> zipfile.ZipInfo:
    """A zip entry with a fixed time stamp (equal files give equal archives), deflate level 1."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    for attr in ("compress_level", "_compresslevel"):  # public from Python 3.13
        if hasattr(info, attr):
            setattr(info, attr, 1)
            break
    return info


class ModelFormat(BaseFormat):
    """Zips what ``save_function`` writes; unzips it for ``load_function``."""

    def __init__(
        self,
        save_function: Callable[[Any, str], Any],
        load_function: Callable[[str], Any],
        name: str = "model",
    ) -> None:
        if not callable(save_function) or not callable(load_function):
            raise FormatError(
                "make_model_target needs save_function(obj, path) and load_function(path), "
                f"both callables; got {save_function!r} and {load_function!r}"
            )
        self.save_function = save_function
        self.load_function = load_function
        self.name = name

    def __repr__(self) -> str:
        return f"ModelFormat({self.save_function!r}, {self.load_function!r})"

    def dump(self, obj: Any, file: BinaryIO) -> None:
        with tempfile.TemporaryDirectory(prefix="cairn-model-") as directory:
            self.save_function(obj, os.path.join(directory, self.name))
            entries = []
            for root, dirs, files in os.walk(directory):
                dirs.sort()
                for name in sorted(files):
                    full = os.path.join(root, name)
                    entries.append((full, os.path.relpath(full, directory).replace(os.sep, "/")))
            if not entries:
                raise FormatError(
                    f"save_function {self.save_function!r} wrote nothing; it must save the "
                    "object at the path it is given (a file, a directory, or files beside it)"
                )
            with zipfile.ZipFile(file, "w") as archive:
                for full, arcname in entries:
                    with (
                        open(full, "rb") as src,
                        archive.open(_entry(arcname), "w", force_zip64=True) as dst,
                    ):
                        shutil.copyfileobj(src, dst, 1 << 20)

    def load(self, file: BinaryIO) -> Any:
        with tempfile.TemporaryDirectory(prefix="cairn-model-") as directory:
            try:
                archive = zipfile.ZipFile(file)
            except zipfile.BadZipFile as exc:
                raise FormatError(f"the stored model is not a zip archive: {exc}") from None
            with archive:
                archive.extractall(directory)  # zipfile keeps every member inside directory
            return self.load_function(os.path.join(directory, self.name))
