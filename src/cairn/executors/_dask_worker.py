"""Set-up of the worker processes of a ``LocalCluster`` that the Dask executor starts.

Given to the cluster as a Dask *preload*: each worker process imports it and calls
:func:`dask_setup` as it starts. Ctrl-C in a terminal reaches every process of the
foreground job, these workers included; they ignore it, and the build decides what happens
to their tasks (it cancels them, see :func:`cairn.executors._remote.cancel_running`). Each
worker also does :func:`cairn.identity.environment.warm_up` while the cluster starts, not on
its first task.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

from cairn.identity.environment import warm_up

__all__ = ["dask_setup"]


def dask_setup(worker: Any) -> None:
    """Called by Dask in each new worker process: leave Ctrl-C to the build; warm up."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    warm_up()


#: Where the Dask executor writes the probe files that check workers see the workspace.
PROBE_DIR = ".cairn/probes"


def read_probe(store: Any, path: str, token: str) -> str | None:
    """On a worker: None when ``path`` in ``store`` holds ``token``, else what went wrong."""
    try:
        with store.open_read(path) as file:
            found = file.read().decode(errors="replace")
    except Exception as exc:
        return f"cannot read the probe file {path!r} there ({type(exc).__name__}: {exc})"
    if found != token:
        return f"reads a different probe file {path!r} there (another directory of that name)"
    return None
