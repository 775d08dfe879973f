"""Class options: the settings a task class declares as class attributes (``retries = 3``).

:data:`OPTIONS` is the one table of them: each option's name, default, meaning and check.
:class:`~cairn.model.meta.TaskMeta` checks every option of a class when the class is defined
(and when one is assigned later), so a wrong value fails at import, naming the class, never
halfway through a build; the rest of cairn reads them with :func:`option`.

========================  ==========  =====================================================
option                    default     meaning
========================  ==========  =====================================================
``namespace``             None        a prefix of the family, the output folder and the run
                                      record (keeps two projects' same-named tasks apart)
``code_version``          None        replaces the code fingerprint in the id (str or number)
``random_seed``           None        the seed of ``random`` and numpy in ``run()`` (an int);
                                      by default derived from the task id
``retries``               None        runs of ``run()`` after a failure (int >= 0); None: the
                                      build's ``retries``
``retry_delay``           None        seconds before each retry (>= 0); None: the build's
``schema``                None        column types every dumped data frame must have: a dict
                                      of column -> type, of output key -> such a dict, or a
                                      pandera schema
``fail_on_empty_dump``    False       dumping a data frame with no rows raises
                                      ``EmptyDumpError``
========================  ==========  =====================================================

A *parameter* with an option's name (``retries = cairn.IntParameter()``) is a parameter: the
option then keeps its default for that class. Every other name ``Task`` uses is reserved and
refused as a parameter name (see :mod:`cairn.model.meta`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cairn._errors import ConfigError, SchemaError

__all__ = ["OPTIONS", "Option", "check_options", "is_pandera", "option"]


@dataclass(frozen=True)
class Option:
    """One class option: its name, its default, what it means, and how it is checked.

    ``check(value, where)`` returns the value (``where`` names it as ``Class.option``) or
    raises a :class:`~cairn.CairnError` saying what it must be.
    """

    name: str
    default: Any
    meaning: str
    check: Callable[[Any, str], Any]


def _whole(value: Any, where: str) -> Any:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise ConfigError(f"{where} must be a whole number >= 0, not {value!r}")
    return value


def _seconds(value: Any, where: str) -> Any:
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int | float) or value < 0
    ):
        raise ConfigError(f"{where} must be a number of seconds >= 0, not {value!r}")
    return value


def _namespace(value: Any, where: str) -> Any:
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise ConfigError(
            f"{where} must be a non-empty string such as 'team_a' (or None), not {value!r}"
        )
    if value is not None:
        parts = value.replace("\\", "/").split("/")
        if (
            value.startswith(("/", "\\", "~"))
            or (len(value) > 1 and value[1] == ":")
            or ".." in parts
            or "://" in value
        ):
            raise ConfigError(
                f"{where} = {value!r} would put outputs and run records outside the workspace "
                "(an absolute path or '..'); use a relative name such as 'team_a'"
            )
    return value


def _version(value: Any, where: str) -> Any:
    if value is not None and (isinstance(value, bool) or not isinstance(value, str | int | float)):
        raise ConfigError(
            f"{where} must be a string such as '2' (or None for the code fingerprint), "
            f"not {type(value).__qualname__} {value!r}"
        )
    return value


def _seed(value: Any, where: str) -> Any:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(
            f"{where} must be an int (or None for a seed from the task id), not {value!r}"
        )
    return value


def is_pandera(schema: Any) -> bool:
    """True for a pandera schema (a ``DataFrameSchema`` or a ``DataFrameModel`` class)."""
    if isinstance(schema, type):
        return any(c.__module__.startswith("pandera") for c in schema.__mro__)
    return type(schema).__module__.startswith("pandera")


def _schema(value: Any, where: str) -> Any:
    if value is None or isinstance(value, Mapping) or is_pandera(value):
        return value
    raise SchemaError(
        f"{where} must be a dict of column -> type (or of output key -> such a dict), or a "
        f"pandera schema; got {type(value).__qualname__}"
    )


def _flag(value: Any, where: str) -> Any:
    if not isinstance(value, bool):
        raise ConfigError(f"{where} must be True or False, not {value!r}")
    return value


#: Every class option, by name (the table in the module docstring).
OPTIONS: dict[str, Option] = {
    o.name: o
    for o in (
        Option("namespace", None, "prefix of the family, output folder and run record", _namespace),
        Option("code_version", None, "replaces the code fingerprint in the id", _version),
        Option("random_seed", None, "the seed of random and numpy in run()", _seed),
        Option("retries", None, "runs of run() after a failure; None: the build's", _whole),
        Option("retry_delay", None, "seconds before each retry; None: the build's", _seconds),
        Option("schema", None, "column types every dumped data frame must have", _schema),
        Option("fail_on_empty_dump", False, "dumping an empty data frame raises", _flag),
    )
}


def _shadowed(cls: type, name: str) -> bool:
    """True when ``cls`` has a parameter called ``name`` (which then is no option)."""
    return name in getattr(cls, "_params", ())


def option(cls: type, name: str) -> Any:
    """The value of class option ``name`` for task class ``cls`` (its default when ``cls``
    has a parameter of that name)."""
    default = OPTIONS[name].default
    if _shadowed(cls, name):
        return default
    return getattr(cls, name, default)


def check_options(cls: type, names: Any = None) -> None:
    """Check the options of task class ``cls`` (those in ``names``, default all).

    Raises:
        CairnError: (``ConfigError``, or ``SchemaError`` for ``schema``) naming the class
            and the option, and saying what the value must be.
    """
    for name in OPTIONS if names is None else names:
        if not _shadowed(cls, name):
            value = getattr(cls, name, OPTIONS[name].default)
            OPTIONS[name].check(value, f"{cls.__qualname__}.{name}")
