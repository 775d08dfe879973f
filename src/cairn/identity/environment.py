"""What a run records of the code outside its id: the environment it ran in.

Third-party and standard-library code count in a task's record by version, not in its id
(the user's own code counts by fingerprint, see :mod:`cairn.identity.fingerprint`). So each
run record names the versions of the installed distributions whose modules are imported
(:func:`imported_packages`), and cairn, Python, the platform and the host
(:func:`static_environment`).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import platform
import socket
import sys
import threading
from functools import lru_cache

from cairn._version import __version__

__all__ = ["imported_packages", "static_environment", "warm_up"]


@lru_cache(maxsize=1)
def static_environment() -> dict[str, str]:
    """cairn's version, Python, the platform and the host (read once)."""
    return {
        "cairn": __version__,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "host": socket.gethostname(),
    }


_packages: dict[str, str] = {}
_packages_seen = -1
_packages_lock = threading.Lock()


@lru_cache(maxsize=1)
def _installed_distributions() -> tuple[dict[str, tuple[str, str]], list[tuple[str, str, str]]]:
    """What is installed: top-level module -> (distribution, version), and the
    ``(record file, distribution, version)`` of distributions that do not list their modules.

    Reads ``*.dist-info`` folder names and their small ``top_level.txt`` files only;
    ``importlib.metadata.packages_distributions()`` parses every RECORD and takes hundreds
    of milliseconds in a large environment.
    """
    mapping: dict[str, tuple[str, str]] = {}
    unlisted: list[tuple[str, str, str]] = []
    for directory in sys.path:
        try:
            entries = os.listdir(directory or ".")
        except OSError:
            continue
        for entry in entries:
            if not entry.endswith(".dist-info"):
                continue
            name, _, version = entry[: -len(".dist-info")].partition("-")
            folder = os.path.join(directory, entry)
            tops: list[str] = []
            with contextlib.suppress(OSError), open(os.path.join(folder, "top_level.txt")) as f:
                tops = f.read().split()
            if not tops:
                unlisted.append((os.path.join(folder, "RECORD"), name, version))
            for top in tops or [name.lower()]:
                mapping.setdefault(top.replace("/", "."), (name, version))
    return mapping, unlisted


_unresolved: dict[str, tuple[str, str] | None] = {}


def _find_in_records(top: str, unlisted: list[tuple[str, str, str]]) -> tuple[str, str] | None:
    """Find the distribution that installs module ``top`` by reading RECORD files (cached)."""
    if top in _unresolved:
        return _unresolved[top]
    prefixes = (f"{top}/", f"{top}.py,")
    found = None
    for record, name, version in unlisted:
        with contextlib.suppress(OSError), open(record) as file:
            if any(line.startswith(prefixes) for line in file):
                found = (name, version)
                break
    _unresolved[top] = found
    return found


def imported_packages() -> dict[str, str]:
    """Versions of the installed distributions whose modules are imported now."""
    global _packages_seen
    with _packages_lock:
        if len(sys.modules) == _packages_seen:
            return _packages
        installed, unlisted = _installed_distributions()
        found: dict[str, str] = {}
        for top in {name.partition(".")[0] for name in list(sys.modules)}:
            dist = installed.get(top)
            if dist is None and not top.startswith("_") and top not in sys.stdlib_module_names:
                path = getattr(sys.modules.get(top), "__file__", None) or ""
                if "-packages" in path:
                    dist = _find_in_records(top, unlisted)
            if dist is not None:
                found[dist[0]] = dist[1]
        _packages.clear()
        _packages.update(sorted(found.items()))
        _packages_seen = len(sys.modules)
        return _packages


def warm_up(numpy: bool = True) -> None:
    """Do now what the first task run in this process would do once: read the installed
    packages' metadata (for run records) and, with ``numpy``, import numpy (which a run
    seeds).

    Worker processes call it as they start, before their first task. A process that will
    fork (a forkserver) passes ``numpy=False``: numpy starts threads, and forking a process
    with threads can deadlock the child.
    """
    imported_packages()
    if numpy and "numpy" not in sys.modules and importlib.util.find_spec("numpy") is not None:
        import numpy as _  # noqa: F401
