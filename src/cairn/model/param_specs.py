"""What type checkers see of the parameter types (never imported at run time).

Parameters are declared like dataclass fields, ``lr: float = cairn.FloatParameter(default=0.1)``,
and ``Task`` is marked with ``typing.dataclass_transform``, so mypy and pyright check the
constructor ``Train(lr=0.1)`` (names, types, required parameters) without a plugin. For that
the field specifiers must return the value type (as ``dataclasses.field`` does), so type
checkers see these functions while the running program uses the classes in ``_params``.
"""

from __future__ import annotations

import datetime as _dt
import enum
from collections.abc import Callable, Mapping, Sequence
from os import PathLike
from typing import Any, TypeVar

__all__ = [
    "BoolParameter",
    "DateParameter",
    "DateTimeParameter",
    "DictParameter",
    "EnumParameter",
    "FileParameter",
    "FloatParameter",
    "IntParameter",
    "ListParameter",
    "Parameter",
    "SerializableParameter",
    "TaskListParameter",
    "TaskParameter",
]

T = TypeVar("T")

_NO: Any = ...

# ruff: noqa: N802 - these stand for the classes of the same names


def Parameter(default: str | None = _NO, *, significant: bool = True, description: str = "") -> Any:
    """A string parameter."""


def IntParameter(
    default: int | None = _NO, *, significant: bool = True, description: str = ""
) -> Any:
    """An integer parameter."""


def FloatParameter(
    default: float | None = _NO, *, significant: bool = True, description: str = ""
) -> Any:
    """A float parameter."""


def BoolParameter(
    default: bool | None = _NO, *, significant: bool = True, description: str = ""
) -> Any:
    """A bool parameter."""


def DateParameter(
    default: _dt.date | str | None = _NO, *, significant: bool = True, description: str = ""
) -> Any:
    """A date parameter."""


def DateTimeParameter(
    default: _dt.datetime | str | None = _NO,
    *,
    timezone: _dt.tzinfo | None = None,
    assume_timezone: bool = False,
    significant: bool = True,
    description: str = "",
) -> Any:
    """A datetime parameter."""


def EnumParameter(
    enum: type[enum.Enum], default: Any = _NO, *, significant: bool = True, description: str = ""
) -> Any:
    """An enum parameter."""


def ListParameter(
    default: Sequence[Any] | None = _NO, *, significant: bool = True, description: str = ""
) -> Any:
    """A list parameter."""


def DictParameter(
    default: Mapping[str, Any] | None = _NO, *, significant: bool = True, description: str = ""
) -> Any:
    """A dict parameter."""


def TaskParameter(
    default: Any = _NO,
    *,
    expected_type: type | None = None,
    significant: bool = True,
    description: str = "",
) -> Any:
    """A task given as a parameter."""


def TaskListParameter(
    default: Sequence[Any] | None = _NO, *, significant: bool = True, description: str = ""
) -> Any:
    """A list of tasks given as a parameter."""


def SerializableParameter(
    value_type: type[T],
    default: T | str | None = _NO,
    *,
    serialize: Callable[[T], str] | None = None,
    deserialize: Callable[[str], T] | None = None,
    significant: bool = True,
    description: str = "",
) -> Any:
    """A parameter of a type that serialises to a string and back."""


def FileParameter(
    default: str | PathLike[str] | None = _NO,
    *,
    storage_options: dict[str, Any] | None = None,
    significant: bool = True,
    description: str = "",
) -> Any:
    """A path or fsspec URL of an input file; its content counts in the id."""
