"""The command line: ``cairn`` (also ``python -m cairn``).

::

    cairn run    module:Task [--param value ...] [options]    build what is not complete
    cairn run    module:pipe [--config-path value ...]        the same for a cairn.Pipeline
    cairn plan   module:Task ...                              what would run, and why
    cairn status module:Task ...                              the tree, each task's state
    cairn show   TASK_ID | OUTPUT_PATH                        one run record
    cairn ls                                                  what the workspace holds
    cairn results [Family] [--where EXPR] [--sort COL --desc] the stored runs, compared
    cairn ui [--workspace W] [--port P]                       the workspace in a browser
    cairn gc     module:Task ... [--dry-run]                  delete what no root needs
    cairn graph  module:Task ... -o graph.html                a picture of the graph
    cairn migrate PATH [--dry-run] [--config INI]             a gokart project onto cairn

Exit codes: 0 success, 1 tasks failed, 2 bad input (unknown module, task or option, a
parameter that does not parse, bad configuration), 130 interrupted (Ctrl-C). Errors are one
line; ``--debug`` adds the traceback. Each invocation loads the configuration once
(``--config``, else ``$CAIRN_CONFIG``, else ``cairn.toml``, else ``[tool.cairn]`` in
``pyproject.toml``) and passes it down: the root tasks are constructed, and built, inside
``config.active()``. ``--config FILE`` stands for ``CAIRN_CONFIG=FILE`` during the
invocation, so the file's fingerprint settings (which hold process-wide) and worker processes
follow it too.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import click
from rich.console import Console
from rich.text import Text

from cairn._config import Config, load_config
from cairn._errors import BuildError, CairnError
from cairn._version import __version__
from cairn.cli._output import BuildOutput
from cairn.cli._results import results_command
from cairn.cli._tasks import Spec, TaskGroup, construct_roots, merge_options, resolve_task
from cairn.cli._ui import ui_command
from cairn.hooks import SlackNotifier
from cairn.inspect import gc as _gc
from cairn.inspect import show as _inspect
from cairn.inspect import status as _status
from cairn.inspect import verify as _verify
from cairn.inspect.graph import FORMATS, graph
from cairn.running import build as _build
from cairn.running.failures import user_frames

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "cli",
    "main",
    "resolve_task",
]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
#: Ctrl-C (128 + SIGINT, as shells report it).
EXIT_INTERRUPTED = 130


@dataclass
class _State:
    """What one invocation shares between its commands."""

    debug: bool = False
    config_path: str | None = None
    abandoned: bool = False  # Ctrl-C left tasks running (threads): exit without waiting
    named_set: bool = False  # --config set CAIRN_CONFIG for this invocation
    named_before: str | None = None  # what CAIRN_CONFIG was before
    out: Console = field(default_factory=lambda: _console(stderr=False))
    err: Console = field(default_factory=lambda: _console(stderr=True))
    _config: Config | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config


def _console(*, stderr: bool) -> Console:
    """A console; writing to a pipe or file, lines are never broken (a path stays whole, for
    grep and logs) and tables are 200 columns wide unless ``COLUMNS`` says otherwise."""
    console = Console(stderr=stderr)
    if not console.is_terminal:
        width = None if "COLUMNS" in os.environ else 200
        console = Console(stderr=stderr, width=width, soft_wrap=True)
    return console


def _state() -> _State:
    state: _State = click.get_current_context().find_root().obj
    return state


# --- options ------------------------------------------------------------------------------
def _workspace() -> click.Option:
    return click.Option(
        ["--workspace", "-w"],
        metavar="DIR|URL",
        help="Where outputs live. [default: $CAIRN_WORKSPACE, the config's, else ./workspace]",
    )


def _lock() -> click.Option:
    return click.Option(
        ["--lock"],
        metavar="file|URL|none",
        help="Lock tasks against other runners: 'file' (one machine), redis://host:port/db.",
    )


def _run_options() -> list[click.Option]:
    return [
        _workspace(),
        click.Option(
            ["--executor", "-e"],
            metavar="NAME",
            help="inline (default), threads, processes, dask, or another registered executor.",
        ),
        click.Option(["--workers", "-j"], type=click.IntRange(min=1), help="Tasks at once."),
        _lock(),
        click.Option(["--rerun"], is_flag=True, default=False, help="Rerun the given tasks."),
        click.Option(
            ["--rerun-all"], is_flag=True, default=False, help="Rerun every task reached."
        ),
        click.Option(
            ["--retries"],
            type=click.IntRange(min=0),
            metavar="N",
            help="Run a failed task again up to N times (a task's own retries win). [default: 0]",
        ),
        click.Option(
            ["--retry-delay"],
            type=click.FloatRange(min=0),
            metavar="SECONDS",
            help="Seconds between two attempts of a failed task. [default: 0]",
        ),
        click.Option(
            ["--lock-wait"],
            type=click.FloatRange(min=0),
            metavar="SECONDS",
            help="Fail a task whose lock another runner holds longer than this. "
            "[default: wait as long as it takes]",
        ),
        _strict(),
    ]


def _strict() -> click.Option:
    return click.Option(
        ["--strict"],
        is_flag=True,
        default=False,
        help="Count a task complete only when everything it needs is complete too, so a "
        "deleted upstream output is rebuilt with what depends on it.",
    )


def _plan_options() -> list[click.Option]:
    return [
        _workspace(),
        click.Option(["--rerun"], is_flag=True, default=False, help="Plan with --rerun."),
        click.Option(["--rerun-all"], is_flag=True, default=False, help="Plan with --rerun-all."),
        _strict(),
    ]


def _status_options() -> list[click.Option]:
    return [_workspace(), _lock()]


def _verify_options() -> list[click.Option]:
    return [
        _workspace(),
        click.Option(
            ["--repair"],
            is_flag=True,
            default=False,
            help="Remove broken records and stale temporary files.",
        ),
    ]


def _gc_options() -> list[click.Option]:
    return [
        _workspace(),
        click.Option(
            ["--dry-run", "-n"], is_flag=True, default=False, help="Delete nothing; only list."
        ),
    ]


def _graph_options() -> list[click.Option]:
    return [
        _workspace(),
        _lock(),
        click.Option(
            ["--format", "-f", "fmt"],
            type=click.Choice(FORMATS),
            help="Picture format. [default: from the output's suffix, else dot]",
        ),
        click.Option(
            ["--output", "-o"],
            metavar="FILE",
            help="Write here (svg, png and html need it); dot and mermaid print otherwise.",
        ),
    ]


def _lock_value(text: str | None) -> Any:
    if text is None:
        return None
    return False if text.strip().lower() in ("none", "false", "off") else text


class _Commands(click.Group):
    """The top-level group: lists its commands in the order a user needs them."""

    ORDER = ("run", "plan", "status", "show", "ls", "verify", "gc", "graph")

    def list_commands(self, ctx: click.Context) -> list[str]:
        rank = {name: i for i, name in enumerate(self.ORDER)}
        return sorted(self.commands, key=lambda name: rank.get(name, len(rank)))


# --- the commands -------------------------------------------------------------------------
@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    metavar="FILE",
    help="Configuration file. [default: $CAIRN_CONFIG, ./cairn.toml, else pyproject.toml]",
)
@click.option("--debug", is_flag=True, help="Show tracebacks and log messages.")
@click.version_option(__version__, prog_name="cairn")
def cli(config_path: str | None, debug: bool) -> None:
    """cairn: reproducible pipelines. Build tasks, inspect what a workspace holds.

    Exit codes: 0 success, 1 tasks failed, 2 bad input, 130 interrupted (Ctrl-C).
    """
    state = _state()
    state.config_path = config_path
    if config_path is not None:  # the file for the whole invocation, fingerprints included
        state.named_before = os.environ.get("CAIRN_CONFIG")
        state.named_set = True
        os.environ["CAIRN_CONFIG"] = os.path.abspath(config_path)
    state.debug = state.debug or debug
    if state.debug:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")


@cli.group(cls=TaskGroup, options=_run_options, short_help="Build tasks: run what is not complete.")
def run(**_: Any) -> None:
    """Build tasks: run every task that is not complete, then print a summary.

    Exits 0 when everything succeeded, 1 when tasks failed.
    """


@run.result_callback()
def _run(specs: list[Spec], **group: Any) -> int:
    state = _state()
    opts = merge_options(group, specs)
    config = state.config
    hooks: list[Any] = []
    notifier = SlackNotifier.from_config(config)
    if notifier is not None:
        hooks.append(notifier)
    progress = BuildOutput(state.out)
    rerun: Any = "all" if opts.get("rerun_all") else bool(opts.get("rerun"))
    with config.active():
        roots = construct_roots(specs, "run", workspace=opts.get("workspace"))
        try:
            _build.build(
                roots,
                workspace=opts.get("workspace"),
                executor=opts.get("executor"),
                workers=opts.get("workers"),
                lock=_lock_value(opts.get("lock")),
                rerun=rerun,
                lock_wait=opts.get("lock_wait"),
                retries=opts.get("retries") or 0,
                retry_delay=opts.get("retry_delay") or 0.0,
                strict_check=bool(opts.get("strict")),
                listener=progress,
                hooks=hooks,
                config=config,
                progress=None,  # the live display on a terminal, as for Python builds
                summary=False,  # this command prints its own lines and summary
            )
        except BuildError as exc:
            progress.print_summary()
            _print_failures(state, exc)
            return EXIT_FAILED
        except KeyboardInterrupt as stop:
            progress.print_summary()
            outcome = getattr(stop, "outcome", None)
            state.abandoned = bool(outcome is not None and outcome.cancelled)
            state.err.print(
                Text(
                    "error: interrupted; what finished is stored, and building again reuses it",
                    style="red",
                )
            )
            return EXIT_INTERRUPTED
    progress.print_summary()
    return EXIT_OK


@cli.group(cls=TaskGroup, options=_plan_options, short_help="What would run, and why.")
def plan(**_: Any) -> None:
    """Show every task, complete or will run, with the reason it will run."""


@plan.result_callback()
def _plan(specs: list[Spec], **group: Any) -> int:
    state = _state()
    opts = merge_options(group, specs)
    rerun: Any = "all" if opts.get("rerun_all") else bool(opts.get("rerun"))
    with state.config.active():
        roots = construct_roots(specs, "plan", workspace=opts.get("workspace"))
        result = _build.plan(
            roots,
            workspace=opts.get("workspace"),
            rerun=rerun,
            config=state.config,
            strict_check=bool(opts.get("strict")),
        )
    state.out.print(Text(str(result)))
    return EXIT_OK


@cli.group(
    cls=TaskGroup, options=_status_options, short_help="The dependency tree, each task's state."
)
def status(**_: Any) -> None:
    """Show the dependency tree with each task's state (shared subtrees once)."""


@status.result_callback()
def _status_command(specs: list[Spec], **group: Any) -> int:
    state = _state()
    opts = merge_options(group, specs)
    with state.config.active():
        roots = construct_roots(specs, "status", workspace=opts.get("workspace"))
        result = _status.status(
            roots,
            workspace=opts.get("workspace"),
            lock=_lock_value(opts.get("lock")),
            config=state.config,
        )
    state.out.print(result)
    return EXIT_OK


@cli.group(cls=TaskGroup, options=_gc_options, short_help="Delete what the tasks do not need.")
def gc(**_: Any) -> None:
    """Delete outputs and run records that no given task needs (see --dry-run)."""


@gc.result_callback()
def _gc_command(specs: list[Spec], **group: Any) -> int:
    state = _state()
    opts = merge_options(group, specs)
    with state.config.active():
        roots = construct_roots(specs, "gc", workspace=opts.get("workspace"))
        result = _gc.gc(
            roots,
            workspace=opts.get("workspace"),
            dry_run=bool(opts.get("dry_run")),
            config=state.config,
        )
    state.out.print(result)
    return EXIT_OK


@cli.group(
    "graph",
    cls=TaskGroup,
    options=_graph_options,
    short_help="Draw the graph (dot, svg, html, ...).",
)
def graph_command(**_: Any) -> None:
    """Draw the graph coloured by state: dot, svg, png (Graphviz), mermaid, or html.

    The html page is one self-contained file: click a task to see its run record.
    """


@graph_command.result_callback()
def _graph(specs: list[Spec], **group: Any) -> int:
    state = _state()
    opts = merge_options(group, specs)
    output, fmt = opts.get("output"), opts.get("fmt")
    if fmt is None:
        suffix = os.path.splitext(output)[1].lower() if output else ""
        fmt = {".svg": "svg", ".png": "png", ".html": "html", ".htm": "html"}.get(suffix)
        fmt = fmt or {".mmd": "mermaid", ".mermaid": "mermaid"}.get(suffix, "dot")
    if output is None and fmt in ("svg", "png", "html"):
        raise click.UsageError(f"--format {fmt} writes a file: give it with -o FILE")
    with state.config.active():
        roots = construct_roots(specs, "graph", workspace=opts.get("workspace"))
        picture = graph(
            roots,
            workspace=opts.get("workspace"),
            lock=_lock_value(opts.get("lock")),
            config=state.config,
        )
    data = picture.render(fmt)
    if output is None:
        click.echo(data.decode(), nl=False)
    else:
        try:
            with open(output, "wb") as file:
                file.write(data)
        except OSError as exc:
            raise click.UsageError(
                f"cannot write the picture to {output}: {exc.strerror or exc}; give --output "
                "a file in a directory that exists and you can write to"
            ) from None
        state.err.print(Text(f"wrote {output} ({fmt}): {picture.summary()}"))
    return EXIT_OK


@cli.command(short_help="Show one run record.")
@click.argument("what")
@click.option("--workspace", "-w", metavar="DIR|URL", help="Where outputs live.")
@click.option("--json", "as_json", is_flag=True, help="Print the record as JSON.")
def show(what: str, workspace: str | None, as_json: bool) -> int:
    """Show a run record: WHAT is a task id (or its first digits) or an output path."""
    state = _state()
    if os.path.exists(what):
        what = os.path.abspath(what)
    record = _inspect.show(what, workspace=workspace, config=state.config)
    if as_json:
        click.echo(json.dumps(dict(record.data), indent=2))
    else:
        state.out.print(record)
    return EXIT_OK


@cli.command(name="ls", short_help="List what the workspace holds.")
@click.option("--workspace", "-w", metavar="DIR|URL", help="Where outputs live.")
@click.option("--family", metavar="NAME", help="Only tasks of this family (or class name).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines.")
def ls_command(workspace: str | None, family: str | None, as_json: bool) -> int:
    """List what the workspace holds: family, id, size, finished at, duration."""
    state = _state()
    listing = _inspect.ls(workspace=workspace, family=family, config=state.config)
    if as_json:
        for entry in listing:
            click.echo(json.dumps(entry.__dict__ | {"outputs": list(entry.outputs)}))
    else:
        state.out.print(listing)
    return EXIT_OK


cli.add_command(results_command)
cli.add_command(ui_command)


@cli.group(
    cls=TaskGroup,
    options=_verify_options,
    short_help="Check run records against their outputs.",
)
def verify(**_: Any) -> None:
    """Check run records against their outputs (size and CRC-32): every record of the
    workspace, or with tasks (module:Task --param value, as run takes them) only those of
    the graph below them. Reports broken entries, and for the whole workspace orphaned
    outputs and stale temporary files. --repair removes the records of broken entries and
    the stale temporary files, so the next build reruns exactly those tasks.

    Exit code 0 when clean, 1 when problems were found (even if repaired), 2 for bad input.
    """


@verify.result_callback()
def _verify_command(specs: list[Spec], **group: Any) -> int:
    state = _state()
    opts = merge_options(group, specs)
    with state.config.active():
        roots = construct_roots(specs, "verify") if specs else None
        result = _verify.verify(
            roots,
            workspace=opts.get("workspace"),
            repair=bool(opts.get("repair")),
            config=state.config,
        )
    click.echo(str(result))
    return EXIT_OK if result.clean else EXIT_FAILED


@cli.command(short_help="Rewrite a gokart/luigi project for cairn.")
@click.argument("path")
@click.option("--dry-run", "-n", is_flag=True, help="Print the diff; change nothing.")
@click.option("--config", "ini", multiple=True, metavar="INI", help="luigi config file to convert.")
def migrate(path: str, dry_run: bool, ini: tuple[str, ...]) -> int:
    """Rewrite the gokart/luigi code at PATH for cairn, in place (see --dry-run).

    Converts luigi.cfg / param.ini (or each --config INI) to cairn.toml and prints every
    change and every place marked "# cairn migrate:". Exits 2 when a file does not parse.
    """
    from cairn.migrate import migrate as run_migration

    state = _state()
    report = run_migration(path, dry_run=dry_run, config=list(ini) or None)
    if dry_run:
        click.echo(report.diff, nl=False)
    (state.err if dry_run else state.out).print(Text(str(report)), soft_wrap=True)
    return EXIT_OK if report.ok else EXIT_USAGE


def _print_failures(state: _State, exc: BuildError) -> None:
    for task, error in exc.failures.items():
        what = "traceback" if state.debug else "where it failed"
        state.err.print(Text(f"--- {what}: {task.label()} ---", style="red"))
        if state.debug:
            state.err.print(Text("".join(traceback.format_exception(error))))
        else:
            state.err.print(Text(user_frames(error)))
    hint = "" if state.debug else "; --debug shows the full tracebacks"
    state.err.print(
        Text(
            f"error: {len(exc.failures)} task(s) failed, {len(exc.skipped)} not run because "
            f"of them{hint}. Outputs of tasks that succeeded are kept; 'cairn show ID' shows "
            "a failure record.",
            style="red",
        )
    )


# --- entry point --------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if "--debug" in args:  # accepted anywhere, for `cairn run x:Task ... --debug`
        args = ["--debug", *(a for a in args if a != "--debug")]
    state = _State(debug="--debug" in args or os.environ.get("CAIRN_DEBUG") == "1")
    cwd = os.getcwd()
    added = cwd not in sys.path
    if added:  # tasks are found from the working directory, as with `python -m`
        sys.path.insert(0, cwd)
    try:
        result = cli.main(args, prog_name="cairn", standalone_mode=False, obj=state)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.exceptions.Abort:
        state.err.print(Text("error: interrupted", style="red"))
        return EXIT_INTERRUPTED
    except click.UsageError as exc:
        _error(state, exc.format_message(), exc, exc.ctx)
        return EXIT_USAGE
    except click.ClickException as exc:
        _error(state, exc.format_message(), exc, None)
        return exc.exit_code
    except CairnError as exc:
        _error(state, str(exc), exc, None)
        return EXIT_USAGE
    except Exception as exc:
        _error(state, f"unexpected {type(exc).__name__}: {exc}", exc, None)
        return EXIT_FAILED
    finally:
        if added and cwd in sys.path:
            sys.path.remove(cwd)
        if state.named_set:  # a call (not the program) leaves the environment as it was
            if state.named_before is None:
                os.environ.pop("CAIRN_CONFIG", None)
            else:
                os.environ["CAIRN_CONFIG"] = state.named_before
    code = result if isinstance(result, int) else EXIT_OK
    if state.abandoned and argv is None:  # the program, not a call: leave threads behind
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def _error(state: _State, message: str, exc: BaseException, ctx: click.Context | None) -> None:
    if state.debug:
        cause = exc.__cause__ or exc
        state.err.print(Text("".join(traceback.format_exception(cause)), style="dim"))
    where = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
    unexpected = not isinstance(exc, CairnError | click.ClickException)
    hint = " (run with --debug for the traceback)" if unexpected and not state.debug else ""
    first, *rest = message.strip().splitlines() or [""]
    state.err.print(Text(f"error: {first}{where}{hint}", style="red"), soft_wrap=True)
    for line in rest:
        state.err.print(Text(line), soft_wrap=True)
