"""A task's entry in its family's history: what the next plan compares it with.

An entry (see :mod:`cairn.storage.history` for the files) holds, for the latest run of one
parameter set: the id, the end time, the parameters (short JSON forms for display, short
digests for matching, and which were at their default), the code fingerprint and
``code_version``, the dependency ids and the input files' content fingerprints (those of
them that are empty left out, which a reader takes as empty). The build
writes one per finished task (:mod:`cairn.running.recorder`); :mod:`cairn.planning.explain`
reads them back to name what changed.
"""

from __future__ import annotations

import json
from typing import Any

from cairn._errors import CairnError
from cairn.identity.canonical import digest
from cairn.model.params import FileParameter
from cairn.model.task import Task

__all__ = ["at_default", "display", "entry_for", "keys_of", "param_key"]


def param_key(text: str) -> str:
    """What a history keeps of a parameter's canonical text, to match runs by parameters."""
    return text if len(text) <= 24 else digest(text)[:16]


def keys_of(task: Task[Any]) -> dict[str, str]:
    """``task``'s significant parameters as matching keys (tasks by value key, not by id)."""
    return {n: param_key(t) for n, _, t in (p.partition("=") for p in task._vkey_parts())}


_MAX_DEPTH = 12  # nested task parameters shown in full, for a plan's reasons


def display(task: Task[Any], name: str, depth: int = 0) -> Any:
    """A short JSON-compatible form of ``task``'s parameter ``name``, for explanations.

    A task value is ``{"task": short repr, "params": {its parameters, the same way}}``, so
    a plan can say which nested value changed (``model.split.path``)."""
    value = task._values[name]
    if value is None or type(value) in (str, int, float, bool):
        return value
    if getattr(type(value), "__cairn_task__", False):
        text = repr(value)
        as_task: dict[str, Any] = {"task": text if len(text) <= 80 else text[:77] + "..."}
        if depth < _MAX_DEPTH:
            as_task["params"] = {n: display(value, n, depth + 1) for n in keys_of(value)}
        return as_task
    if isinstance(value, tuple) and value and getattr(type(value[0]), "__cairn_task__", False):
        return f"[{len(value)} task(s)]"
    try:
        shown = task._serialized()[name]
        json.dumps(shown)
    except (TypeError, ValueError, CairnError):
        shown = repr(value)
    return shown


def entry_for(task: Task[Any], record: dict[str, Any]) -> dict[str, Any]:
    """The history entry of ``task``, which has just run and written ``record``."""
    cls = type(task)
    keys = keys_of(task)
    params = {name: display(task, name) for name in keys}
    files = {
        name: task._content(name)
        for name, param in cls._params.items()
        if isinstance(param, FileParameter) and param.significant
    }
    code = record.get("code") or {}
    entry: dict[str, Any] = {
        "id": task.task_id,
        "end": record.get("end") or "",
        "code": code.get("fingerprint"),
        "params": params,
        "keys": keys,
    }
    # the empty ones are left out: a reader takes a missing one as None, [] or {}
    if code.get("code_version") is not None:
        entry["code_version"] = code["code_version"]
    optional = {
        "deps": list(record.get("dependencies") or []),
        "defaults": at_default(task),
        "files": files,
    }
    entry.update((name, value) for name, value in optional.items() if value)
    return entry


def at_default(task: Task[Any]) -> list[str]:
    """Names of ``task``'s significant parameters whose value is the parameter's default."""
    out = []
    for name, param in type(task)._params.items():
        if param.significant and param.has_default:
            try:
                same = bool(task._values[name] == param.default)
            except Exception:  # a value whose == does not give a bool
                same = False
            if same:
                out.append(name)
    return out
