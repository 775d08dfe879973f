"""Function pipelines as command-line arguments: ``module:pipe`` followed by its config
values as options (``--min-count 5``, ``--model.lr 0.2``), and ``--set path=value``.

:class:`PipelineCommand` is the "subcommand" a :class:`cairn.Pipeline` on the line becomes
(its options are the config's leaves, each parsed as the type of the value it replaces);
:func:`pipeline_roots` makes each pipeline's final tasks with its config changed.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import click

from cairn._errors import CairnError
from cairn.cli._settings import Setting, format_own_options, split_given
from cairn.model.task import Task
from cairn.pipeline import Node, Pipeline
from cairn.pipeline._config_paths import parse_config_text

__all__ = ["PipelineCommand", "PipelineSpec", "nodes_as_pipeline", "pipeline_roots"]


def nodes_as_pipeline(spec: str, nodes: Sequence[Node], pipelines: list[str]) -> Pipeline:
    named = f" (pipelines in that module: {', '.join(pipelines)})" if pipelines else ""
    try:
        pipe = Pipeline(nodes)
        pipe.final_tasks()  # compiles: a node that reads config fails here
    except CairnError as exc:
        raise click.UsageError(
            f"{spec} is a list of nodes, which cannot run alone: {exc}. Name the "
            f"cairn.Pipeline made from them, with its config{named}"
        ) from None
    return pipe


class _ConfigType(click.ParamType[Any]):
    """Parses an option's text as the type of the config value it replaces."""

    def __init__(self, path: str, current: Any) -> None:
        self.path, self.current = path, current
        self.name = type(current).__name__ if current is not None else "json"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return parse_config_text(self.path, value, self.current)
        except CairnError as exc:
            self.fail(str(exc), param, ctx)


def _config_flags(path: str) -> list[str]:
    """``model.lr`` -> ``--model.lr`` and ``--model-lr``; ``min_count`` -> ``--min-count``,
    ``--min_count``."""
    dashed = path.replace("_", "-")
    return list(dict.fromkeys([f"--{dashed}", f"--{path}", f"--{dashed.replace('.', '-')}"]))


class PipelineCommand(click.Command):
    """The options of one pipeline on the command line: its config values, then the
    command's options."""

    def __init__(self, spec: str, pipe: Pipeline, options: list[click.Option]) -> None:
        self.pipeline = pipe
        self.spec = spec
        self.config_dests: dict[str, str] = {}
        params: list[click.Parameter] = []
        taken: set[str] = set()
        for i, (path, value) in enumerate(pipe.settings.items()):
            dest = f"config__{i}"
            self.config_dests[dest] = path
            flags = [f for f in _config_flags(path) if f not in taken]
            taken.update(flags)
            kind = type(value).__name__ if value is not None else "JSON"
            shown = json.dumps(value) if not isinstance(value, str) else repr(value)
            params.append(
                click.Option(
                    [*flags, dest],
                    type=_ConfigType(path, value),
                    default=None,
                    metavar="JSON" if kind in ("list", "dict", "JSON") else kind.upper(),
                    help=f"config.{path}  [{kind}; config: {shown}]",
                )
            )
        for option in options:
            if not taken.intersection(option.opts + option.secondary_opts):
                params.append(option)
        names = ", ".join(n.name for n in pipe.nodes)
        super().__init__(
            spec,
            params=params,
            callback=self._collect,
            help=f"The pipeline {spec}: {len(pipe.nodes)} node(s), {names}.",
            epilog="Config values: command line (--path value or --set path=value) > the "
            "pipeline's config.",
        )

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.NoSuchOption as exc:
            flags = [_config_flags(path)[0] for path in self.config_dests.values()]
            others = [o for p in self.get_params(ctx) for o in p.opts if o not in flags]
            close = difflib.get_close_matches(exc.option_name, flags + others, n=1, cutoff=0.5)
            hint = f" Did you mean {close[0]}?" if close else ""
            listing = ", ".join(flags) or "none"
            raise click.UsageError(
                f"No such option {exc.option_name!r}.{hint} The config values of {self.spec} "
                f"are: {listing}.",
                ctx,
            ) from None

    def _collect(self, **values: Any) -> PipelineSpec:
        config, options = split_given(values, self.config_dests)
        return PipelineSpec(self.spec, self.pipeline, config, options)

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        format_own_options(
            self, ctx, formatter, dests=self.config_dests, title=f"Config values of {self.spec}"
        )


@dataclass
class PipelineSpec:
    name: str
    pipeline: Pipeline
    config: dict[str, Any]
    options: dict[str, Any]


def pipeline_roots(
    specs: Sequence[PipelineSpec], settings: list[Setting]
) -> tuple[list[list[Task[Any]]], list[Setting]]:
    """The roots of each pipeline, its config changed by its options and by the ``--set``
    settings that name a path in its config; and the settings left for tasks."""
    used: set[int] = set()
    roots: list[list[Task[Any]]] = []
    for spec in specs:
        pipe = spec.pipeline
        leaves = pipe.settings
        tops = {path.split(".")[0] for path in leaves}
        changes: dict[str, Any] = {}
        for i, setting in enumerate(settings):
            path = setting.target.removeprefix("config.")
            if path.split(".")[0] not in tops:
                continue
            used.add(i)
            current = leaves.get(path, _config_at(pipe.config, path))
            try:
                changes[path] = parse_config_text(path, setting.text, current)
            except CairnError as exc:
                raise click.UsageError(f"{setting.spelled}: {exc}") from None
        changes.update(spec.config)
        try:
            roots.append(pipe.configured(changes).final_tasks())
        except CairnError as exc:
            raise click.UsageError(f"{spec.name}: {exc}") from None
    return roots, [s for i, s in enumerate(settings) if i not in used]


def _config_at(config: Any, path: str) -> Any:
    """The value at dotted ``path`` in a config, or None where it does not exist."""
    value = config
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else getattr(value, part, None)
    return value
