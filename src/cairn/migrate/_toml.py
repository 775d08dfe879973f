"""Writing TOML: the values a converted configuration holds, as ``cairn.toml`` text.

Strings, integers, floats, booleans, arrays and tables (inline), the subset a luigi
configuration converts to; arrays too long for one line are written one element a line.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

__all__ = ["key", "value"]

_BARE = re.compile(r"[A-Za-z0-9_-]+")
_WIDTH = 88


def key(name: str) -> str:
    """A TOML key: bare when it can be, else quoted."""
    return name if _BARE.fullmatch(name) else json.dumps(name, ensure_ascii=False)


def value(obj: Any, indent: str = "", width: int = _WIDTH) -> str:
    """The TOML text of ``obj``.

    Raises:
        TypeError: for a value TOML cannot hold (``None``, other objects).
    """
    if isinstance(obj, bool):
        return "true" if obj else "false"
    if isinstance(obj, int):
        return str(obj)
    if isinstance(obj, float):
        if math.isnan(obj):
            return "nan"
        if math.isinf(obj):
            return "inf" if obj > 0 else "-inf"
        return repr(obj)
    if isinstance(obj, str):
        return json.dumps(obj, ensure_ascii=False)
    if isinstance(obj, list | tuple):
        items = [value(item, indent + "    ", width) for item in obj]
        inline = "[" + ", ".join(items) + "]"
        if len(indent) + len(inline) <= width and "\n" not in inline:
            return inline
        inner = indent + "    "
        return "[\n" + "".join(f"{inner}{item},\n" for item in items) + indent + "]"
    if isinstance(obj, dict):
        if not all(isinstance(k, str) for k in obj):
            raise TypeError("TOML tables need string keys")
        pairs = [f"{key(k)} = {_inline(v)}" for k, v in obj.items()]
        return "{ " + ", ".join(pairs) + " }" if pairs else "{}"
    raise TypeError(f"TOML has no value for {type(obj).__name__}")


def _inline(obj: Any) -> str:
    """A value on one line (inside an inline table, where TOML 1.0 allows no newlines)."""
    return value(obj, width=10**9)
