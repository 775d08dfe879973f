"""Helpers shared by the benchmark scripts: timing, fresh workspaces, subprocess runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def fresh_dir(prefix: str) -> Iterator[str]:
    """A temporary directory, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix=prefix) as path:
        yield path


def timed(func: Callable[[], Any]) -> tuple[float, Any]:
    """Run ``func`` once; return (seconds, result)."""
    start = time.perf_counter()
    result = func()
    return time.perf_counter() - start, result


def run_python(code: str, *args: str, timeout: float = 1800) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter; it prints one JSON object as its last line."""
    # this folder first, then whatever the caller put on the path (a checkout's src/)
    path = [os.path.dirname(os.path.abspath(__file__)), os.environ.get("PYTHONPATH")]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, path)))
    proc = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"error": (proc.stderr.strip().splitlines() or ["no output"])[-1]}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def have(module: str) -> bool:
    """True when ``module`` can be imported."""
    import importlib.util

    return importlib.util.find_spec(module) is not None


def row(*cells: Any, widths: tuple[int, ...] = (34, 12, 12, 12)) -> str:
    """Format one table row."""
    out = []
    for cell, width in zip(cells, widths, strict=False):
        text = f"{cell:.3f}" if isinstance(cell, float) else str(cell)
        out.append(text.rjust(width) if out else text.ljust(width))
    return " ".join(out)
