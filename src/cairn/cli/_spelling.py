"""How task parameters are spelled on the command line.

Option names come in one fixed order (``--raw-path`` before ``--raw_path``) in help and in
errors; a boolean takes ``--flag``/``--no-flag`` or an explicit word (``--flag true``,
``--flag=no``, ``1``/``0``, any case); an unknown option suggests the closest parameter;
a missing required parameter is named as its option.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import click

from cairn.model.params import BoolParameter, Parameter

__all__ = [
    "FALSE_WORDS",
    "TRUE_WORDS",
    "explicit_booleans",
    "missing_required",
    "negative_names",
    "option_names",
    "unknown_option",
]

TRUE_WORDS = frozenset({"true", "yes", "1", "on"})
FALSE_WORDS = frozenset({"false", "no", "0", "off"})


def option_names(name: str) -> list[str]:
    """The options of parameter ``name``: the hyphenated spelling first, then as written."""
    return list(dict.fromkeys([f"--{name.replace('_', '-')}", f"--{name}"]))


def negative_names(name: str) -> list[str]:
    """The ``--no-`` options of boolean parameter ``name``, in the same order."""
    return list(dict.fromkeys([f"--no-{name.replace('_', '-')}", f"--no-{name}"]))


def explicit_booleans(args: Sequence[str], params: Mapping[str, Parameter[Any]]) -> list[str]:
    """``args`` with ``--flag WORD`` and ``--flag=WORD`` of boolean parameters turned into
    ``--flag`` or ``--no-flag`` (WORD is true/false, yes/no, 1/0 or on/off, any case).

    Raises:
        click.BadParameter: for ``--flag=WORD`` with a word that is not one of those.
    """
    flags: dict[str, tuple[str, str]] = {}
    for name, param in params.items():
        if isinstance(param, BoolParameter):
            positive, negative = option_names(name)[0], negative_names(name)[0]
            for option in option_names(name):
                flags[option] = (positive, negative)
    out: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        option, eq, word = arg.partition("=")
        if option in flags and eq:
            out.append(_flag(option, word, flags[option]))
        elif arg in flags and i + 1 < len(args) and _is_word(args[i + 1]):
            out.append(_flag(arg, args[i + 1], flags[arg]))
            i += 1
        else:
            out.append(arg)
        i += 1
    return out


def _is_word(text: str) -> bool:
    return text.strip().lower() in TRUE_WORDS | FALSE_WORDS


def _flag(option: str, word: str, names: tuple[str, str]) -> str:
    low = word.strip().lower()
    if low in TRUE_WORDS:
        return names[0]
    if low in FALSE_WORDS:
        return names[1]
    raise click.BadParameter(
        f"{word!r} is not a boolean: use {option}, {names[1]}, or {option} true|false "
        "(also yes/no, 1/0, on/off)",
        param_hint=repr(option),
    )


def unknown_option(
    bad: str, family: str, params: Mapping[str, Parameter[Any]], options: Iterable[str]
) -> str:
    """The message for option ``bad``: the closest parameter (or option) of the command."""
    spelled = [o for name in params for o in option_names(name)]
    spelled += [
        o
        for name, p in params.items()
        if isinstance(p, BoolParameter)
        for o in negative_names(name)
    ]
    close = difflib.get_close_matches(bad, spelled, n=1, cutoff=0.5)
    if not close:
        others = [o for o in options if o not in ("--help", "-h")]
        close = difflib.get_close_matches(bad, others, n=1, cutoff=0.6)
    hint = f" Did you mean {close[0]}?" if close else ""
    listing = ", ".join(option_names(name)[0] for name in params) or "none"
    return f"No such option {bad!r}.{hint} The parameters of {family} are: {listing}."


def missing_required(
    cls: Any, given: Mapping[str, Any], configured: Mapping[str, Any], source: str
) -> str | None:
    """The message naming the options a task needs but was not given, or ``None``."""
    from cairn.model.params import TaskListParameter, TaskParameter

    missing = [
        name
        for name, param in cls._params.items()
        if not param.has_default
        and name not in given
        and name not in configured
        and not isinstance(param, TaskParameter | TaskListParameter)
    ]
    if not missing:
        return None
    where = "cairn.toml" if source == "configuration" else source
    names = ", ".join(repr(name) for name in missing)
    options = " and ".join(f"{option_names(name)[0]} VALUE" for name in missing)
    plural = "values" if len(missing) > 1 else "a value"
    return (
        f"{cls.__name__} needs {plural} for {names} (no default): give {options} after "
        f'the task, or set it in {where} under [tasks."{cls.family}"]'
    )
