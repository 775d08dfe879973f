"""Parameters of any task in the graph from the command line: ``--set Family.param=value``
(repeatable) and luigi's spelling ``--Family-param value``; and configured families that
match no task.

The values act as the configuration's do (a task given a value explicitly keeps it), and
win over the configuration file's for the same family and parameter.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import click

from cairn._config import ParameterValues
from cairn._errors import CairnError
from cairn.model.task import Task

__all__ = ["Setting", "apply_settings", "extract_settings", "unknown_families"]

_LUIGI = re.compile(r"^--([A-Z][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)-([A-Za-z0-9_-]+)$")


@dataclass(frozen=True)
class Setting:
    """One ``Family.param=value`` from the command line, as the user spelled it."""

    family: str
    param: str
    text: str
    spelled: str
    target: str = ""  # as written before "=": a config path for a pipeline (min_count)


def extract_settings(args: Sequence[str]) -> tuple[list[str], list[Setting]]:
    """``args`` without the ``--set`` and ``--Family-param`` options, and those settings.

    Raises:
        click.UsageError: for ``--set`` without ``Family.param=value``.
    """
    rest: list[str] = []
    found: list[Setting] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--set" or arg.startswith("--set="):
            if arg == "--set":
                if i + 1 >= len(args):
                    raise click.UsageError("--set needs Family.param=value")
                text, i = args[i + 1], i + 1
            else:
                text = arg.removeprefix("--set=")
            found.append(_parse_set(text))
        elif (match := _LUIGI.match(arg.partition("=")[0])) is not None:
            option, eq, value = arg.partition("=")
            if not eq:
                if i + 1 >= len(args):
                    raise click.UsageError(f"{option} needs a value")
                value, i = args[i + 1], i + 1
            param = match[2].replace("-", "_")
            found.append(Setting(match[1], param, value, option, f"{match[1]}.{param}"))
        else:
            rest.append(arg)
        i += 1
    return rest, found


def _parse_set(text: str) -> Setting:
    target, eq, value = text.partition("=")
    family, _, param = target.rpartition(".")
    if not eq or not param or target.startswith(".") or target.endswith("."):
        raise click.UsageError(
            f"--set {text!r}: give Family.param=value (like --set TrainModel.max_depth=5 or "
            "--set mypkg.train.TrainModel.max_depth=5), or for a pipeline a config "
            "path=value (like --set min_count=5 or --set model.lr=0.2)"
        )
    return Setting(family, param.replace("-", "_"), value, f"--set {target}", target.strip())


def _task_classes() -> Iterator[type[Task[Any]]]:
    seen: set[type] = set()
    stack: list[type] = [Task]
    while stack:
        cls = stack.pop()
        subclasses: list[type] = cls.__subclasses__()
        for sub in subclasses:
            if sub not in seen:
                seen.add(sub)
                stack.append(sub)
                if getattr(sub, "family", None):
                    yield sub


def _find_class(family: str, spelled: str) -> type[Task[Any]]:
    classes = list(_task_classes())
    exact = [c for c in classes if c.family == family]
    if not exact:
        exact = [c for c in classes if family in (c.__name__, c.__qualname__)]
    if len(exact) == 1:
        return exact[0]
    if len(exact) > 1:
        several = ", ".join(sorted(c.family for c in exact))
        raise click.UsageError(
            f"{spelled}: {family!r} names several tasks ({several}); give the family in full"
        )
    names = sorted({c.family for c in classes} | {c.__name__ for c in classes})
    close = difflib.get_close_matches(family, names, n=1, cutoff=0.6)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise click.UsageError(
        f"{spelled}: no task {family!r} is imported by the tasks on this command line.{hint}"
    )


def apply_settings(settings: Sequence[Setting], base: ParameterValues | None) -> ParameterValues:
    """``base`` with the command line's settings over it, each parsed by its parameter.

    Raises:
        click.UsageError: for an unknown task or parameter, or a value that does not parse.
    """
    values: dict[str, dict[str, Any]] = {}
    source = "configuration"
    if base is not None:
        source = base.source
        values = {family: dict(base.raw(family)) for family in base.families()}
    for setting in settings:
        if not setting.family:
            raise click.UsageError(
                f"{setting.spelled}: give Family.param=value for a task's parameter (like "
                f"--set Train.{setting.param}=...); a config path without a family sets a "
                "pipeline's config, and no pipeline on this command line has it"
            )
        cls = _find_class(setting.family, setting.spelled)
        param = cls._params.get(setting.param)
        if param is None:
            close = difflib.get_close_matches(setting.param, list(cls._params), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            listing = ", ".join(cls._params) or "none"
            raise click.UsageError(
                f"{setting.spelled}: {cls.__name__} has no parameter {setting.param!r}.{hint} "
                f"Its parameters are: {listing}."
            )
        try:
            parsed = param.parse(setting.text)
        except CairnError as exc:
            raise click.UsageError(f"{setting.spelled}: {exc}") from None
        values.setdefault(cls.family, {})[setting.param] = parsed
    return ParameterValues(values, source)


def unknown_families(values: ParameterValues | None) -> list[str]:
    """Warnings for configured families no imported task has, each with the closest family."""
    if values is None:
        return []
    known = {c.family for c in _task_classes()}
    out = []
    for family in values.families():
        if family in known:
            continue
        close = difflib.get_close_matches(family, sorted(known), n=1, cutoff=0.6)
        hint = f'; did you mean [tasks."{close[0]}"]?' if close else ""
        out.append(
            f'warning: {values.source}: [tasks."{family}"] matches no task imported by this '
            f"command, so its values are not used{hint}"
        )
    return out


def split_given(
    values: dict[str, Any], dests: dict[str, str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split a command's parsed ``values`` into what its own options set (renamed through
    ``dests``, left out when not given) and the common options typed on the command line."""
    ctx = click.get_current_context()
    own = {dests[k]: v for k, v in values.items() if k in dests and v is not None}
    options = {
        k: v
        for k, v in values.items()
        if k not in dests and ctx.get_parameter_source(k) is click.core.ParameterSource.COMMANDLINE
    }
    return own, options


def format_own_options(
    command: click.Command,
    ctx: click.Context,
    formatter: click.HelpFormatter,
    *,
    dests: dict[str, str],
    title: str,
    extra: Sequence[tuple[str, str]] = (),
) -> None:
    """Write a command's help: its own options (those in ``dests``, then ``extra`` rows)
    under ``title``, the common options after them."""
    mine: list[tuple[str, str]] = []
    others: list[tuple[str, str]] = []
    for param in command.get_params(ctx):
        record = param.get_help_record(ctx)
        if record is not None:
            (mine if param.name in dests else others).append(record)
    mine.extend(extra)
    with formatter.section(title):
        if mine:
            formatter.write_dl(mine)
        else:
            formatter.write_text("(none)")
    if others:
        with formatter.section("Options"):
            formatter.write_dl(others)
