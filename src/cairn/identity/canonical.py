"""Canonical, type-tagged encoding of values and the digests built from it.

Every value that enters a task id goes through :func:`canonical`, which produces a string
that names the type of each part: ``1``, ``1.0``, ``"1"`` and ``True`` encode differently,
dict key order does not matter, and nesting is unambiguous (strings are length-prefixed).
Ids are BLAKE2b digests of that text, 32 hex characters. Changing this encoding changes every
id in every user's store: the golden-digest tests pin it, and a change needs a changelog note.
"""

from __future__ import annotations

import datetime as _dt
import enum
import sys
from collections.abc import Callable, Iterable
from typing import Any

from cairn._errors import ParameterError

__all__ = ["PARAMETER_MARKER", "TASK_MARKER", "canonical", "digest", "is_task"]

#: Attribute set on task classes; values carrying it encode as their ``task_id``.
TASK_MARKER = "__cairn_task__"
#: Attribute set on parameter classes: code fingerprints leave their declarations out, since
#: parameters count in an id through their values.
PARAMETER_MARKER = "__cairn_parameter__"


def is_task(value: Any) -> bool:
    """True for a task (an instance of a class carrying :data:`TASK_MARKER`)."""
    cls = type(value)
    found = _task_types.get(cls)
    if found is None:
        # Asked of every parameter value and requirement: a missing class attribute costs
        # an exception inside getattr, so each class is asked once.
        found = bool(getattr(cls, TASK_MARKER, False))
        if len(_task_types) < _TYPES_KEPT:
            _task_types[cls] = found
    return found


#: Whether each class seen by :func:`is_task` makes tasks (at most :data:`_TYPES_KEPT`).
_task_types: dict[type, bool] = {}
_TYPES_KEPT = 4096


def digest(*parts: str) -> str:
    """Return the 32-hex-digit BLAKE2b digest of ``parts`` joined unambiguously."""
    h = _blake2b(digest_size=16)
    for part in parts:
        data = part.encode("utf-8", "surrogatepass")
        h.update(b"%d:" % len(data))
        h.update(data)
    return h.hexdigest()


def _str(value: str) -> str:
    return f"S{len(value)}:{value}"


def _seq(tag: str, items: Iterable[str]) -> str:
    return tag + "[" + ",".join(items) + "]"


def _encode_dict(value: Any) -> str:
    items = sorted((canonical(k), canonical(v)) for k, v in value.items())
    return _seq("D", (f"{k}={v}" for k, v in items))


def _encode_datetime(value: _dt.datetime) -> str:
    return "t" + value.isoformat()


# Exact-type dispatch first (fast path), then isinstance checks for subclasses.
_EXACT: dict[type, Callable[[Any], str]] = {
    type(None): lambda v: "N",
    bool: lambda v: "B1" if v else "B0",
    int: lambda v: f"I{v}",
    float: lambda v: "F" + float.hex(v),
    str: _str,
    bytes: lambda v: f"Y{len(v)}:{v.hex()}",
    list: lambda v: _seq("L", map(canonical, v)),
    tuple: lambda v: _seq("L", map(canonical, v)),
    dict: _encode_dict,
    frozenset: lambda v: _seq("E", sorted(map(canonical, v))),
    set: lambda v: _seq("E", sorted(map(canonical, v))),
    _dt.datetime: _encode_datetime,
    _dt.date: lambda v: "d" + v.isoformat(),
    _dt.time: lambda v: "h" + v.isoformat(),
    _dt.timedelta: lambda v: f"e{v.days},{v.seconds},{v.microseconds}",
}

try:  # the BLAKE2 module itself: importing hashlib also loads OpenSSL, which is slower
    from _blake2 import blake2b as _blake2b
except ImportError:  # pragma: no cover - CPython always has it
    from hashlib import blake2b as _blake2b


def _lazy_types(value: Any) -> str | None:
    """Types from modules cairn does not import: a value of one means its module is loaded."""
    decimal, uuid, pathlib = (sys.modules.get(m) for m in ("decimal", "uuid", "pathlib"))
    if decimal is not None and isinstance(value, decimal.Decimal):
        return "C" + str(value)
    if uuid is not None and isinstance(value, uuid.UUID):
        return "G" + str(value)
    if pathlib is not None and isinstance(value, pathlib.PurePath):
        return "P" + _str(value.as_posix())
    return None


def canonical(value: Any) -> str:
    """Encode ``value`` as type-tagged canonical text.

    Supported: None, bool, int, float, str, bytes, list/tuple, dict, set/frozenset, date,
    datetime, time, timedelta, Decimal, UUID, Enum, paths, tasks (by ``task_id``) and any
    object with a ``__cairn_canonical__()`` method returning a string.

    Raises:
        ParameterError: for a value of any other type.
    """
    encoder = _EXACT.get(type(value))
    if encoder is not None:
        return encoder(value)
    if is_task(value):
        return "T" + str(value.task_id)
    if isinstance(value, enum.Enum):
        cls = type(value)
        return f"M{cls.__module__}.{cls.__qualname__}." + _str(value.name)
    lazy = _lazy_types(value)
    if lazy is not None:
        return lazy
    custom = getattr(value, "__cairn_canonical__", None)
    if callable(custom):
        cls = type(value)
        return f"O{cls.__module__}.{cls.__qualname__}:" + _str(str(custom()))
    for base, enc in _EXACT.items():
        if base is not type(None) and isinstance(value, base):
            return enc(value)
    raise ParameterError(
        f"cannot encode a value of type {type(value).__qualname__} into a task id: {value!r}. "
        "Use a parameter type that converts it (for example SerializableParameter), "
        "or give the class a __cairn_canonical__() method returning a string."
    )
