"""Tasks as command-line arguments: ``module:Task`` followed by its parameters as options.

:class:`TaskGroup` is a click group in chain mode whose "subcommands" are tasks: each
``module:Task`` on the line becomes a :class:`TaskCommand` whose options are the task's
parameters (parsed by each parameter's own ``parse``), followed by the command's options.
Unknown modules and tasks are usage errors that suggest close names.
"""

from __future__ import annotations

import difflib
import importlib
import os
import pkgutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import click

from cairn._config import Config, active_values, using_values
from cairn._errors import CairnError
from cairn.cli._pipelines import PipelineCommand, PipelineSpec, nodes_as_pipeline, pipeline_roots
from cairn.cli._settings import (
    Setting,
    apply_settings,
    extract_settings,
    format_own_options,
    split_given,
    unknown_families,
)
from cairn.cli._spelling import (
    explicit_booleans,
    missing_required,
    negative_names,
    option_names,
    unknown_option,
)
from cairn.cli._stored_ids import ID_PREFIX, StoredTaskRef, restore_refs
from cairn.model.params import (
    BoolParameter,
    EnumParameter,
    Parameter,
    TaskListParameter,
    TaskParameter,
)
from cairn.model.task import Task
from cairn.pipeline import Node, Pipeline
from cairn.running.failures import location

__all__ = [
    "Spec",
    "TaskCommand",
    "TaskGroup",
    "TaskSpec",
    "construct_roots",
    "merge_options",
    "resolve",
    "resolve_task",
]


SETTINGS_KEY = "cairn.settings"


# --- finding tasks ------------------------------------------------------------------------
def resolve_task(spec: str) -> type[Task[Any]]:
    """The task class named by ``module:Task`` (or ``module.Task``).

    Raises:
        click.UsageError: for an unknown module or task (suggesting close names), a module
            that fails to import, or a name that is a pipeline.
    """
    found = resolve(spec)
    if isinstance(found, Pipeline):
        raise click.UsageError(f"{spec} is a cairn.Pipeline, not a task class")
    return found


def _pipelines_in(module: Any) -> list[str]:
    return sorted(name for name, value in vars(module).items() if isinstance(value, Pipeline))


def resolve(spec: str) -> type[Task[Any]] | Pipeline:
    """The task class or the :class:`cairn.Pipeline` named by ``module:name`` (or
    ``module.name``). A list of nodes that needs no config is taken as their pipeline.

    Raises:
        click.UsageError: for an unknown module or name (suggesting close names), or a
            module that fails to import.
    """
    if ":" in spec:
        module_name, _, attr = spec.partition(":")
    elif "." in spec:
        module_name, _, attr = spec.rpartition(".")
    else:
        raise click.UsageError(
            f"give the task as module:Task (like mypkg.train:Train), not {spec!r}"
        )
    if not module_name or not attr:
        raise click.UsageError(
            f"give the task as module:Task (like mypkg.train:Train), not {spec!r}"
        )
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if module_name == missing or module_name.startswith(missing + "."):
            raise click.UsageError(
                f"no module named {missing!r}.{_suggest_module(missing)} Run cairn from the "
                "directory that holds your code, or install your package"
            ) from exc
        raise click.UsageError(_import_failed(module_name, exc)) from exc
    except Exception as exc:
        raise click.UsageError(_import_failed(module_name, exc)) from exc
    found = getattr(module, attr, None)
    tasks = sorted(
        name
        for name, value in vars(module).items()
        if isinstance(value, type) and issubclass(value, Task) and value is not Task
    )
    pipelines = _pipelines_in(module)
    if found is None:
        close = difflib.get_close_matches(attr, tasks + pipelines, n=1, cutoff=0.6)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        listing = "".join(
            f" {kind} in {module_name}: {', '.join(names)}."
            for kind, names in (("Tasks", tasks), ("Pipelines", pipelines))
            if names
        )
        if not listing:
            listing = f" {module_name} defines no cairn tasks or pipelines; is it the right module?"
        raise click.UsageError(f"module {module_name} has no task {attr!r}.{hint}{listing}")
    if isinstance(found, Pipeline) or (isinstance(found, type) and issubclass(found, Task)):
        return found
    if isinstance(found, list | tuple) and found and all(isinstance(n, Node) for n in found):
        return nodes_as_pipeline(f"{module_name}:{attr}", found, pipelines)
    raise click.UsageError(
        f"{module_name}:{attr} is a {type(found).__name__}, not a cairn.Task subclass or a "
        "cairn.Pipeline"
    )


def _import_failed(module_name: str, exc: BaseException) -> str:
    """``importing m failed: NameError: ... at m.py:3``, with where in the user's code."""
    if isinstance(exc, SyntaxError) and exc.filename:
        where = f"{os.path.relpath(exc.filename)}:{exc.lineno}"
        what = f"{type(exc).__name__}: {exc.msg}"
    else:
        where, what = location(exc), f"{type(exc).__name__}: {exc}"
    at = f" at {where}" if where else ""
    debug = click.get_current_context().find_root().obj.debug
    hint = "" if debug else " (run with --debug to see the traceback)"
    return f"importing {module_name} failed: {what}{at}{hint}"


def _suggest_module(name: str) -> str:
    parent, _, last = name.rpartition(".")
    if parent:
        try:
            package = importlib.import_module(parent)
        except ImportError:
            return ""
        names = [m.name for m in pkgutil.iter_modules(getattr(package, "__path__", []))]
        close = difflib.get_close_matches(last, names, n=1, cutoff=0.6)
        return f" Did you mean {parent + '.' + close[0]!r}?" if close else ""
    names = [m.name for m in pkgutil.iter_modules()]
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    return f" Did you mean {close[0]!r}?" if close else ""


# --- task parameters as options -----------------------------------------------------------
class _ParameterType(click.ParamType[Any]):
    """Parses an option's text with the task parameter's own ``parse``; a task parameter
    also takes a stored task's id prefix (:class:`StoredTaskRef`)."""

    def __init__(self, param: Parameter[Any]) -> None:
        self.param = param
        self.name = param.type_name

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value
        if isinstance(self.param, TaskParameter) and ID_PREFIX.fullmatch(value.strip()):
            option = param.opts[0] if param is not None and param.opts else self.param.name
            return StoredTaskRef(value.strip().lower(), option)
        try:
            return self.param.parse(value)
        except CairnError as exc:
            self.fail(str(exc), param, ctx)


def _metavar(param: Parameter[Any]) -> str:
    if isinstance(param, EnumParameter):
        return "[" + "|".join(param.enum.__members__) + "]"
    if param.type_name in ("list", "dict"):
        return "JSON"
    return param.type_name.upper()


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if hasattr(value, "name") and hasattr(value, "value"):  # enum members
        return str(value.name)
    return str(value)


def _param_help(param: Parameter[Any], configured: dict[str, Any], source: str) -> str:
    notes = [param.type_name]
    if param.name in configured:
        notes.append(f"{source}: {_shown(configured[param.name])}")
    if param.has_default:
        notes.append(f"default: {_shown(param.default)}")
    elif param.name not in configured:
        notes.append("required")
    if not param.significant:
        notes.append("not part of the task id")
    text = param.description.strip()
    return f"{text}  [{'; '.join(notes)}]" if text else f"[{'; '.join(notes)}]"


class TaskCommand(click.Command):
    """The options of one task on the command line: its parameters, then the command's."""

    def __init__(
        self,
        spec: str,
        cls: type[Task[Any]],
        config: Config,
        options: list[click.Option],
    ) -> None:
        self.task_class = cls
        self.param_dests: dict[str, str] = {}
        self.fixed: list[tuple[str, str]] = []
        try:
            configured = config.parameter_values.for_class(cls)
        except CairnError:
            configured = {}  # reported when the task is constructed
        params: list[click.Parameter] = []
        taken: set[str] = set()
        for name, param in cls._params.items():
            if isinstance(param, TaskListParameter):
                self.fixed.append((name, f"{param.type_name}: set in Python code"))
                continue
            dest = f"param__{name}"
            self.param_dests[dest] = name
            flags = option_names(name)
            taken.update(flags)
            help_text = _param_help(param, configured, config.source)
            if isinstance(param, BoolParameter):
                negatives = negative_names(name)
                taken.update(negatives)
                decl = "/".join([flags[0], negatives[0]])
                params.append(click.Option([decl, dest], default=None, help=help_text))
            else:
                if isinstance(param, TaskParameter):
                    help_text = (
                        "a task (or set in Python code): module:Task, a stored task's id (4+ "
                        "hex digits, as 'cairn ls' lists them), or JSON "
                        '{"task": "module:Task", "params": {...}}  ' + help_text
                    )
                params.append(
                    click.Option(
                        [*flags, dest],
                        type=_ParameterType(param),
                        default=None,
                        metavar="MODULE:TASK|ID"
                        if isinstance(param, TaskParameter)
                        else _metavar(param),
                        help=help_text,
                    )
                )
        for option in options:  # the command's options, unless a parameter has the name
            if not taken.intersection(option.opts + option.secondary_opts):
                params.append(option)
        doc = (cls.__doc__ or "").strip().split("\n\n")[0]
        super().__init__(
            spec,
            params=params,
            callback=self._collect,
            help=doc or f"The task {cls.family}.",
            epilog=f"Parameter values: command line > {config.source} > default.",
        )

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        args = explicit_booleans(args, self.task_class._params)
        try:
            return super().parse_args(ctx, args)
        except click.NoSuchOption as exc:
            options = [o for p in self.get_params(ctx) for o in p.opts + p.secondary_opts]
            family = self.task_class.family
            message = unknown_option(exc.option_name, family, self._plain(), options)
            raise click.UsageError(message, ctx) from None

    def _plain(self) -> dict[str, Parameter[Any]]:
        return {
            name: param
            for name, param in self.task_class._params.items()
            if not isinstance(param, TaskParameter | TaskListParameter)
        }

    def _collect(self, **values: Any) -> TaskSpec:
        task_values, options = split_given(values, self.param_dests)
        return TaskSpec(self.task_class, task_values, options)

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        format_own_options(
            self,
            ctx,
            formatter,
            dests=self.param_dests,
            title=f"Parameters of {self.task_class.family}",
            extra=self.fixed,
        )


@dataclass
class TaskSpec:
    cls: type[Task[Any]]
    values: dict[str, Any]
    options: dict[str, Any]


class TaskGroup(click.Group):
    """A command whose arguments are tasks, each ``module:Task`` followed by its parameters."""

    def __init__(self, name: str, options: Callable[[], list[click.Option]], **attrs: Any) -> None:
        self._options = options
        params = [*(attrs.pop("params", None) or []), *options()]
        super().__init__(name, params=params, chain=True, invoke_without_command=True, **attrs)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return []

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if "--help" in args or "-h" in args:
            return super().parse_args(ctx, args)
        rest, settings = extract_settings(args)
        ctx.meta[SETTINGS_KEY] = settings
        return super().parse_args(ctx, rest)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name.startswith("-"):
            return None
        found = resolve(cmd_name)
        if isinstance(found, Pipeline):
            return PipelineCommand(cmd_name, found, self._options())
        return TaskCommand(cmd_name, found, _config(), self._options())

    def collect_usage_pieces(self, ctx: click.Context) -> list[str]:
        return ["[OPTIONS]", "MODULE:TASK|MODULE:PIPELINE [--PARAM VALUE ...] ..."]

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Tasks"):
            formatter.write_text(
                "Name each task as module:Task (like mypkg.train:Train), followed by its "
                f"parameters as --name value. 'cairn {self.name} module:Task --help' lists a "
                "task's parameters with their types, defaults and descriptions. A "
                "cairn.Pipeline is named the same way (mypkg.flow:pipe), followed by config "
                "values (--min-count 5, or --set min_count=5). The options may also follow "
                "a task."
            )


Spec = TaskSpec | PipelineSpec


def merge_options(group_options: dict[str, Any], specs: Sequence[Spec]) -> dict[str, Any]:
    merged = dict(group_options)
    for spec in specs:
        merged.update(spec.options)
    return merged


def construct_roots(
    specs: Sequence[Spec], command: str, *, workspace: str | None = None
) -> list[Task[Any]]:
    """The root tasks the command line names, in order (a pipeline's: its final nodes).

    ``workspace`` is the ``--workspace`` given, for task parameters given as stored ids.
    """
    if not specs:
        raise click.UsageError(
            f"give at least one task to {command}, as module:Task (or a pipeline, module:pipeline)"
        )
    ctx = click.get_current_context()
    values = active_values()
    for warning in unknown_families(values):
        click.echo(warning, err=True)
    settings: list[Setting] = list(ctx.meta.get(SETTINGS_KEY) or [])
    pipelines = [spec for spec in specs if isinstance(spec, PipelineSpec)]
    from_pipelines, settings = pipeline_roots(pipelines, settings)
    task_specs = [spec for spec in specs if isinstance(spec, TaskSpec)]
    restore_refs([spec.values for spec in task_specs], workspace, _config())
    if settings:
        values = apply_settings(settings, values)
    for spec in task_specs:
        try:
            configured = values.for_class(spec.cls) if values is not None else {}
        except CairnError:
            continue  # the constructor reports it
        source = values.source if values is not None else "cairn.toml"
        message = missing_required(spec.cls, spec.values, configured, source)
        if message is not None:
            raise click.UsageError(message)
    with using_values(values):  # upstream tasks take these values from the roots
        tasks = [spec.cls(**spec.values) for spec in task_specs]
    made, from_each = iter(tasks), iter(from_pipelines)
    roots: list[Task[Any]] = []
    for given in specs:  # in the order given on the command line
        if isinstance(given, TaskSpec):
            roots.append(next(made))
        else:
            roots.extend(next(from_each))
    return roots


def _config() -> Config:
    """The configuration of this invocation (the root context's ``obj.config``)."""
    config: Config = click.get_current_context().find_root().obj.config
    return config
