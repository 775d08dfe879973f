"""Pickle (cloudpickle), JSON and text formats."""

from __future__ import annotations

import json
import pickle
from typing import Any, BinaryIO

import cloudpickle

from cairn._errors import FormatError

__all__ = ["JSON", "PICKLE", "TEXT"]


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


class TextFormat:
    """UTF-8 text: a str, or a list of lines (written one per line)."""

    def dump(self, obj: Any, file: BinaryIO) -> None:
        if isinstance(obj, str):
            text = obj
        elif isinstance(obj, list | tuple) and all(isinstance(x, str) for x in obj):
            text = "".join(line if line.endswith("\n") else line + "\n" for line in obj)
        else:
            raise FormatError(
                f"a .txt target takes a str or a list of str, not {type(obj).__qualname__}; "
                "use .pkl or .json for other objects"
            )
        file.write(text.encode("utf-8"))

    def load(self, file: BinaryIO) -> Any:
        return file.read().decode("utf-8")


PICKLE = PickleFormat()
JSON = JsonFormat()
TEXT = TextFormat()
