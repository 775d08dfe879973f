"""Code fingerprints: what code contributes to an id.

A fingerprint is a digest over *components*, each the AST-normalised source of one piece of
the user's own code, keyed by qualified name: a method (``pkg.tasks.Train.run``), the rest of
a class body (``pkg.tasks.Train``, parameter declarations left out: parameters count through
their values), a function (``pkg.helpers.clean``), a lambda, a module-level constant
(``pkg.config.THRESHOLD``: its value when it has a canonical encoding, else the statements
that assign it) or a closure variable. Comments, docstrings, blank lines and formatting do
not change a component. The components are kept so a plan can say *which* piece changed.

From a task class (with the user's base classes it inherits from) or a plain function, the
walk follows the reference graph of :mod:`cairn.identity.codegraph` to everything of the user's code
it reaches, transitively; each object is visited once, so cycles end.

Fingerprints are cached per class (and per function) for the life of the process, so a build
of 5,000 tasks of one class fingerprints once. A cached fingerprint is checked against the
modification time and size of the source files it was read from at most every
:data:`RECHECK_SECONDS`; when one changed (a module edited and reloaded in a notebook), every
fingerprint is computed again.

Reuse: :func:`class_fingerprint` serves tasks; :func:`function_fingerprint` serves anything
defined by a plain function (the nodes of a function pipeline): same components, same cache,
same settings.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cairn._errors import FingerprintWarning
from cairn.identity.canonical import digest
from cairn.identity.usercode import current_settings, is_user_module, on_settings_change

if TYPE_CHECKING:
    from cairn.identity import source as _source
    from cairn.identity.codegraph import Node

__all__ = [
    "DISABLED",
    "RECHECK_SECONDS",
    "Fingerprint",
    "FingerprintWarning",
    "class_fingerprint",
    "function_fingerprint",
    "remember",
]

#: How often, at most, a cached fingerprint checks whether its source files changed.
RECHECK_SECONDS = 0.5


@dataclass(frozen=True)
class Fingerprint:
    """A digest and the per-object components (qualified name -> digest) it was made from."""

    digest: str
    components: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, str]]) -> Fingerprint:
        """Combine ``(name, digest)`` pairs; several objects sharing a name merge."""
        grouped: dict[str, set[str]] = {}
        for key, value in pairs:
            grouped.setdefault(key, set()).add(value)
        components = {
            key: next(iter(values)) if len(values) == 1 else digest(*sorted(values))
            for key, values in sorted(grouped.items())
        }
        return cls(digest("fp1", *(f"{k}={v}" for k, v in components.items())), components)


#: The fingerprint of every class and function while fingerprinting is turned off.
DISABLED = Fingerprint(digest("fingerprint-off"), {})


@dataclass
class _Root:
    fingerprint: Fingerprint
    stamps: tuple[tuple[str, _source.Stamp], ...]
    checked: float


_classes: dict[type, _Root] = {}
_functions: dict[Any, _Root] = {}


def _codegraph() -> Any:
    """The code-graph machinery (ast, symtable, inspect), imported on first fingerprint."""
    from cairn.identity import codegraph as _codegraph

    return _codegraph


def _stamp(path: str) -> Any:
    from cairn.identity.source import stamp

    return stamp(path)


def _reset() -> None:
    graph = sys.modules.get("cairn.identity.codegraph")
    if graph is None:  # nothing fingerprinted yet
        _classes.clear()
        _functions.clear()
        return
    with graph.lock:
        graph.reset()
        _classes.clear()
        _functions.clear()


on_settings_change(_reset)


def _walk(start: list[Node]) -> _Root:
    pairs: list[tuple[str, str]] = []
    files: set[str] = set()
    seen: set[Node] = set()
    stack = list(reversed(start))
    graph = _codegraph()
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        info = graph.info(node)
        pairs.extend(info.components)
        files.update(info.files)
        stack.extend(r for r in reversed(info.refs) if r not in seen)
    graph.save()  # what was learnt of the files, for the next process
    stamps = tuple((f, _stamp(f)) for f in sorted(files))
    return _Root(Fingerprint.of(pairs), stamps, time.monotonic())


def _fresh(root: _Root) -> bool:
    """True when ``root`` is still valid: checked recently, or its files did not change."""
    now = time.monotonic()
    if now - root.checked < RECHECK_SECONDS:
        return True
    if all(_stamp(f) == stamp for f, stamp in root.stamps):
        root.checked = now
        return True
    _reset()  # a source file changed: modules may have been reloaded, start over
    return False


def class_fingerprint(cls: type, stop: type | None = None) -> Fingerprint:
    """Fingerprint class ``cls``: its body, the user's base classes it inherits from (up to
    ``stop``), and everything of the user's code they reference, transitively.

    Cached per class; :data:`DISABLED` while fingerprinting is off.
    """
    root = _classes.get(cls)
    if root is not None and time.monotonic() - root.checked < RECHECK_SECONDS:
        return root.fingerprint  # the hot path: once per task id
    if not current_settings().enabled:
        return DISABLED
    root = _classes.get(cls)  # again: a change of settings empties the cache
    if root is not None and _fresh(root):
        return root.fingerprint
    graph = _codegraph()
    with graph.lock:
        if cls is stop or not is_user_module(cls.__module__):
            root = _Root(Fingerprint.of([]), (), float("inf"))
        else:
            root = _walk([graph.class_node(cls)])
        _classes[cls] = root
    return root.fingerprint


def function_fingerprint(func: Any) -> Fingerprint:
    """Fingerprint a plain function (or a lambda, partial, bound method or callable object)
    and everything of the user's code it references, transitively.

    Cached per function; :data:`DISABLED` while fingerprinting is off.
    """
    if not current_settings().enabled:
        return DISABLED
    try:
        root = _functions.get(func)
    except TypeError:  # an unhashable callable object
        root = None
    if root is not None and _fresh(root):
        return root.fingerprint
    graph = _codegraph()
    with graph.lock:
        root = _walk(graph.roots_of(func))
        with contextlib.suppress(TypeError):
            _functions[func] = root
    return root.fingerprint


def remember(cls: type, fingerprint: Fingerprint) -> None:
    """Use ``fingerprint`` for class ``cls`` from now on in this process, without checks.

    A worker process running a task sent from elsewhere (possibly a class defined in the
    sender's ``__main__``, with no source here) records the fingerprint its sender computed,
    the one the task id was made from.
    """
    _classes[cls] = _Root(fingerprint, (), float("inf"))
