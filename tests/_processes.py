"""Run this interpreter, or cairn's command line, in a child process, as users do.

One place for what every such test needs: text output captured, a timeout so a hang fails
the test instead of the suite, and the environment of the test plus what it sets (a value
of None removes a variable).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

__all__ = ["run_cairn", "run_python"]


def run_python(
    *args: str,
    cwd: str | Path | None = None,
    env: Mapping[str, str | None] | None = None,
    timeout: float = 120,
    check: bool = False,
) -> subprocess.CompletedProcess[str]:
    """``python ARGS`` with this interpreter, in ``cwd``, with ``env`` over os.environ."""
    merged = dict(os.environ)
    for name, value in (env or {}).items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = value
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=merged,
        timeout=timeout,
        check=check,
    )


def run_cairn(
    *args: str,
    cwd: str | Path | None = None,
    env: Mapping[str, str | None] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """``cairn ARGS`` (as ``python -m cairn``): the real command line; never raises on exit."""
    return run_python("-m", "cairn", *args, cwd=cwd, env=env, timeout=timeout)
