"""luigi's command line as cairn's: what ``main.py`` calls after ``gokart.run()`` is gone.

``python main.py shop.Train --local-scheduler --lr 0.1`` named a task by its luigi family
and mixed luigi's own options in; :func:`luigi_argv` turns such a line into the arguments
of ``cairn run`` (``cairn.cli.main`` runs them). It needs no libcst: a migrated project runs
with plain cairn installed.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from typing import cast

__all__ = ["luigi_argv"]

#: luigi options without a value that mean nothing to cairn.
_FLAGS = frozenset(
    {
        "--local-scheduler",
        "--no-lock",
        "--take-lock",
        "--assistant",
        "--parallel-scheduling",
        "--no-configure-logging",
        "--detailed-summary",
        "--delete-unnecessary-output-files",
    }
)
#: luigi options with a value that mean nothing to cairn.
_OPTIONS = frozenset(
    {
        "--scheduler-host",
        "--scheduler-port",
        "--scheduler-url",
        "--lock-pid-dir",
        "--lock-size",
        "--log-level",
        "--logging-conf-file",
        "--module",
        "--worker-timeout",
        "--parallel-scheduling-processes",
        "--tree-info-mode",
        "--tree-info-output-path",
        "--local-temporary-directory",
    }
)


def luigi_argv(argv: Sequence[str], tasks: Mapping[str, str]) -> list[str]:
    """The ``cairn run`` arguments for a luigi/gokart command line.

    ``tasks`` maps luigi task names (``Train``, ``namespace.Train``) to cairn's
    ``module:Task``. luigi's scheduler options are dropped; ``--workers N`` runs on N
    processes; ``--workspace-directory``, ``--redis-host``/``--redis-port`` become
    ``--workspace`` and ``--lock``; ``--flag true``/``false`` for a boolean parameter becomes
    ``--flag``/``--no-flag``. Everything else passes through unchanged.
    """
    out = ["run"]
    redis: dict[str, str] = {}
    task: str | None = None
    args = list(argv)
    i = 0
    while i < len(args):
        arg = args[i]
        name, eq, inline = arg.partition("=")
        has_next = i + 1 < len(args)
        given = inline if eq else (args[i + 1] if has_next else "")
        step = 1 if eq else 2
        if name in _FLAGS:
            i += 1
            continue
        if name in _OPTIONS:
            i += step
            continue
        if name == "--workers":
            if given.isdigit() and int(given) > 1:
                out += ["--executor", "processes", "--workers", given]
            i += step
            continue
        if name == "--workspace-directory":
            out += ["--workspace", given]
            i += step
            continue
        if name in ("--redis-host", "--redis-port"):
            redis[name] = given
            i += step
            continue
        if task is None and not arg.startswith("-"):
            task = tasks.get(arg, arg)
            out.append(task)
            i += 1
            continue
        if (
            task is not None
            and arg.startswith("--")
            and not eq
            and has_next
            and args[i + 1].lower() in ("true", "false")
            and arg[2:].replace("-", "_") in _bool_parameters(task)
        ):
            out.append(arg if args[i + 1].lower() == "true" else "--no-" + arg[2:])
            i += 2
            continue
        out.append(arg)
        i += 1
    if "--redis-host" in redis:
        out += ["--lock", f"redis://{redis['--redis-host']}:{redis.get('--redis-port', '6379')}/0"]
    return out


def _bool_parameters(spec: str) -> set[str]:
    """The names of the boolean parameters of the task ``module:Task`` (empty if unknown)."""
    from cairn import BoolParameter

    boolean = cast(type, BoolParameter)  # a class at run time; typed as a field for users

    module_name, _, name = spec.replace(":", ".").rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), name)
    except Exception:  # cairn run reports an unknown task itself
        return set()
    found: set[str] = set()
    for klass in reversed(getattr(cls, "__mro__", ())):
        for key, value in vars(klass).items():
            if isinstance(value, boolean):
                found.add(key)
            else:
                found.discard(key)
    return found
