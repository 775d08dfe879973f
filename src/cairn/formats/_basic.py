"""Pickle (cloudpickle), JSON, newline-delimited JSON, text and gzip-compressed text."""

from __future__ import annotations

import gzip
import io
import json
import pickle
from collections.abc import Iterable
from typing import Any, BinaryIO

import cloudpickle

from cairn._errors import FormatError

__all__ = ["GZIP_TEXT", "JSON", "NDJSON", "PICKLE", "TEXT"]


class PickleFormat:
    """cloudpickle, protocol 5: functions, lambdas and classes from ``__main__`` included.

    Unsafe on untrusted stores: loading a pickle can run arbitrary code.
    """

    def dump(self, obj: Any, file: BinaryIO) -> None:
        cloudpickle.dump(obj, file, protocol=pickle.HIGHEST_PROTOCOL)

    def load(self, file: BinaryIO) -> Any:
        return pickle.load(file)


class JsonFormat:
    """UTF-8 JSON; tuples come back as lists."""

    def dump(self, obj: Any, file: BinaryIO) -> None:
        try:
            text = json.dumps(obj, ensure_ascii=False, allow_nan=True)
        except TypeError as exc:
            raise FormatError(
                f"cannot write {type(obj).__qualname__} as JSON ({exc}); "
                "use a .pkl target for arbitrary objects"
            ) from None
        file.write(text.encode("utf-8"))

    def load(self, file: BinaryIO) -> Any:
        return json.loads(file.read())


class NdjsonFormat:
    """Newline-delimited JSON: a list (or any iterable) of JSON values, one per line.

    Loads back as a list.
    """

    def dump(self, obj: Any, file: BinaryIO) -> None:
        if isinstance(obj, str | bytes | dict) or not isinstance(obj, Iterable):
            raise FormatError(
                f"a .ndjson target takes a list of JSON values (one per line), not "
                f"{type(obj).__qualname__}; use .json for a single value"
            )
        text = io.TextIOWrapper(file, encoding="utf-8", newline="\n")
        encode = json.JSONEncoder(ensure_ascii=False, allow_nan=True).encode
        try:
            for index, item in enumerate(obj):
                try:
                    line = encode(item)
                except TypeError as exc:
                    raise FormatError(
                        f"item {index} of the .ndjson output cannot be written as JSON "
                        f"({exc}); use a .pkl target for arbitrary objects"
                    ) from None
                text.write(line)
                text.write("\n")
        finally:
            text.flush()
            text.detach()

    def load(self, file: BinaryIO) -> Any:
        return [json.loads(line) for line in io.TextIOWrapper(file, "utf-8") if line.strip()]


def _text_of(obj: Any, extension: str) -> str:
    if isinstance(obj, str):
        return obj
    if isinstance(obj, list | tuple) and all(isinstance(x, str) for x in obj):
        return "".join(line if line.endswith("\n") else line + "\n" for line in obj)
    raise FormatError(
        f"a {extension} target takes a str or a list of str, not {type(obj).__qualname__}; "
        "use .pkl or .json for other objects"
    )


class TextFormat:
    """UTF-8 text: a str, or a list of lines (written one per line). Loads as a str."""

    def dump(self, obj: Any, file: BinaryIO) -> None:
        file.write(_text_of(obj, ".txt").encode("utf-8"))

    def load(self, file: BinaryIO) -> Any:
        return file.read().decode("utf-8")


class GzipTextFormat:
    """gzip-compressed UTF-8 text: a str or a list of lines. Loads as a str.

    The gzip header carries no time stamp, so equal text gives equal bytes.
    """

    def dump(self, obj: Any, file: BinaryIO) -> None:
        data = _text_of(obj, ".gz").encode("utf-8")
        with gzip.GzipFile(fileobj=file, mode="wb", compresslevel=6, mtime=0) as out:
            out.write(data)

    def load(self, file: BinaryIO) -> Any:
        with gzip.GzipFile(fileobj=file, mode="rb") as src:
            return src.read().decode("utf-8")


PICKLE = PickleFormat()
JSON = JsonFormat()
NDJSON = NdjsonFormat()
TEXT = TextFormat()
GZIP_TEXT = GzipTextFormat()
