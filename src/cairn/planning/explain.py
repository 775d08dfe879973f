"""Why a task will run: what differs from the latest earlier run of its family.

For a task that is not complete, the plan looks up its family's history (one small file per
family, see :mod:`cairn.storage.history`) and picks the earlier run to compare with: the run of the
same parameter values if there was one, else the latest run that differs in one parameter
only, else the family's latest run. It then names what differs: parameters (with old and new
values), code (which functions, methods or constants), ``code_version``, input files, and
upstream tasks (that will run, or that changed). A family with no history has "no earlier
output".

Only tasks that will run are explained, so a build where everything is complete reads
nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cairn.identity.canonical import digest
from cairn.identity.fingerprint import DISABLED, Fingerprint
from cairn.model.params import FileParameter
from cairn.model.task import Task
from cairn.planning.entries import at_default, display, keys_of
from cairn.storage.history import read_history, read_manifest
from cairn.storage.store import Store

__all__ = ["Change", "Explainer", "FORCED", "NO_OUTPUT"]

NO_OUTPUT = "no earlier output"
FORCED = "forced by rerun"
_ABSENT: Any = object()
_MAX_NAMES = 4


def _show(value: Any) -> str:
    if isinstance(value, dict) and "task" in value and set(value) <= {"task", "params"}:
        text = str(value["task"])
    elif isinstance(value, str) or value is None or isinstance(value, bool | int | float):
        text = repr(value)
    else:
        try:
            text = json.dumps(value, sort_keys=True)
        except (TypeError, ValueError):
            text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _names(items: Iterable[str]) -> str:
    unique = list(dict.fromkeys(items))
    shown = ", ".join(unique[:_MAX_NAMES])
    more = len(unique) - _MAX_NAMES
    return f"{shown} and {more} more" if more > 0 else shown


@dataclass(frozen=True)
class Change:
    """One reason a task will run.

    ``kind`` is one of ``"new"`` (no earlier output), ``"forced"`` (``rerun``),
    ``"parameter"`` (``subject`` changed from ``old`` to ``new``), ``"code"`` (``subject``
    names the functions, methods or constants that changed), ``"code_version"``, ``"input"``
    (an input file's content changed; ``subject`` is its path), ``"upstream"`` (``subject``
    names upstream tasks; ``new`` is ``"will run"`` or ``"changed"``), ``"deleted"`` (the
    earlier output of this very id is gone) or ``"other"``.
    """

    kind: str
    subject: str = ""
    old: Any = None
    new: Any = None
    note: str = ""

    def __str__(self) -> str:
        text = self._text()
        return f"{text} ({self.note})" if self.note else text

    def _text(self) -> str:
        kind, subject = self.kind, self.subject
        if kind == "new":
            return NO_OUTPUT
        if kind == "forced":
            return FORCED
        if kind == "parameter":
            return _transition(f"parameter {subject}", self.old, self.new, _ABSENT, "added")
        if kind == "code":
            if self.new in ("turned on", "turned off"):
                return f"code fingerprinting {self.new}"
            return f"code changed in {subject}" if subject else "code changed"
        if kind == "code_version":
            return _transition("code_version", self.old, self.new, None, "set")
        if kind == "input":
            return f"input file {subject} changed"
        if kind == "upstream":
            return f"upstream {subject} {self.new}"
        if kind == "deleted":
            return "its earlier output is gone"
        return subject or "inputs changed since the last run"


def _transition(what: str, old: Any, new: Any, absent: Any, appeared: str) -> str:
    """``what changed old -> new``, or that it appeared or went away (``absent``)."""
    if old is absent:
        return f"{what} {appeared} ({_show(new)})"
    if new is absent:
        return f"{what} removed (was {_show(old)})"
    return f"{what} changed {_show(old)} -> {_show(new)}"


def _dict_changes(name: str, old: dict[str, Any], new: dict[str, Any]) -> Iterable[Change]:
    """One change per key of a dict-valued parameter (``config.model.lr``, ``opts.depth``)."""
    for key in sorted(set(old) | set(new), key=str):
        before, after = old.get(key, _ABSENT), new.get(key, _ABSENT)
        if before != after:
            subject = key if str(key).startswith(name + ".") else f"{name}.{key}"
            yield Change("parameter", subject, before, after)


def _task_name(text: str) -> str:
    return text.partition("(")[0]


def _nests(old: Any, new: Any) -> bool:
    """Whether a changed task parameter is told by its nested values: the task holds tasks
    itself, or both sides read the same once shortened (a plain one reads as it is)."""
    if not (isinstance(new, dict) and isinstance(new.get("params"), dict)):
        return False
    if _show(old) == _show(new):
        return True
    return any(isinstance(v, dict) and "task" in v for v in new["params"].values())


def _task_changes(name: str, old: Any, new: Any) -> Iterable[Change]:
    """For a task parameter whose task is of the same class before and after: the nested
    values that changed (``model.split.features.path``); nothing otherwise."""
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return
    if "params" not in old or "params" not in new or "task" not in old or "task" not in new:
        return
    if _task_name(str(old["task"])) != _task_name(str(new["task"])):
        return
    before, after = old["params"], new["params"]
    for key in sorted(set(before) | set(after), key=str):
        was, now = before.get(key, _ABSENT), after.get(key, _ABSENT)
        if was == now:
            continue
        subject = f"{name}.{key}"
        deeper = list(_task_changes(subject, was, now))
        if deeper:
            yield from deeper
        elif isinstance(was, dict) and isinstance(now, dict) and "task" not in now:
            yield from _dict_changes(subject, was, now)
        else:
            yield Change("parameter", subject, was, now)


def _short(task: Task[Any]) -> str:
    """How a reason names a task: its class name (a pipeline node: the node's name)."""
    family = type(task)._kind.history_family(task)
    return family.rpartition(":")[2] if ":" in family else type(task).__name__


#: The reason of every task with no history: one shared tuple, not one per task.
_NEW = (Change("new"),)


class Explainer:
    """Explains tasks of one plan against one store; reads each history file once."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._histories: dict[str, dict[str, dict[str, Any]]] = {}
        self._near: dict[str, dict[str, dict[str, list[dict[str, Any]]]]] = {}
        self._manifests: dict[str, dict[str, str] | None] = {}
        self._code_changes: dict[tuple[Any, ...], tuple[Change, ...]] = {}

    def _history(self, family: str) -> dict[str, dict[str, Any]]:
        found = self._histories.get(family)
        if found is None:
            found = self._histories[family] = read_history(self.store, family)
        return found

    def _manifest(self, fingerprint: str) -> dict[str, str] | None:
        if fingerprint not in self._manifests:
            self._manifests[fingerprint] = read_manifest(self.store, fingerprint)
        return self._manifests[fingerprint]

    def explain(self, task: Task[Any], will_run: set[str]) -> tuple[Change, ...]:
        """The reasons ``task`` (not complete) will run; ``will_run`` holds the ids that will."""
        history = self._history(type(task)._kind.history_family(task))
        if not history:
            return _NEW
        entry = history.get(task._vkey)
        exact = entry is not None
        if entry is None:
            entry = self._nearest(task, history)
        if entry.get("id") == task.task_id:
            return (Change("deleted"),)
        changes: list[Change] = []
        if not exact:
            changes.extend(self._parameters(task, entry))
        changes.extend(self._code(task, entry))
        if exact:
            changes.extend(self._files(task, entry))
        changes.extend(self._upstream(task, entry if exact else None, will_run))
        return tuple(changes) or (Change("other"),)

    # --- choosing the earlier run ---------------------------------------------------------
    def _nearest(self, task: Task[Any], history: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """The latest run that differs from ``task`` in one parameter only (preferring one
        where that parameter was at its default, as it is now), else the latest run."""
        keys = keys_of(task)
        defaults = set(at_default(task))
        near = self._near_index(type(task)._kind.history_family(task), history)
        best: tuple[bool, str] | None = None
        chosen: dict[str, Any] | None = None
        for name, index in near.items():
            rest = {k: v for k, v in keys.items() if k != name}
            for candidate in index.get(digest(json.dumps(rest, sort_keys=True)), ()):
                both = name in defaults and name in (candidate.get("defaults") or ())
                score = (both, str(candidate.get("end", "")))
                if best is None or score > best:
                    best, chosen = score, candidate
        if chosen is None:
            chosen = max(history.values(), key=lambda e: str(e.get("end", "")))
        return chosen

    def _near_index(
        self, family: str, history: dict[str, dict[str, Any]]
    ) -> dict[str, dict[str, list[dict[str, Any]]]]:
        """For each parameter name: digest of the other parameters -> runs with those."""
        found = self._near.get(family)
        if found is None:
            found = {}
            for entry in history.values():
                keys = entry.get("keys") or {}
                for name in keys:
                    rest = {k: v for k, v in keys.items() if k != name}
                    slot = found.setdefault(name, {})
                    slot.setdefault(digest(json.dumps(rest, sort_keys=True)), []).append(entry)
            self._near[family] = found
        return found

    # --- what differs ---------------------------------------------------------------------
    def _parameters(self, task: Task[Any], entry: dict[str, Any]) -> Iterable[Change]:
        old_keys: dict[str, str] = entry.get("keys") or {}
        old_params: dict[str, Any] = entry.get("params") or {}
        defaults = set(at_default(task)) & set(entry.get("defaults") or ())
        keys = keys_of(task)
        for name, key in keys.items():
            if old_keys.get(name) == key:
                continue
            new = display(task, name)
            old = old_params.get(name, _ABSENT)
            if old == new and isinstance(new, str) and new.endswith("task(s)]"):
                continue  # the same number of upstream tasks: the upstream reasons say more
            if isinstance(old, dict) and isinstance(new, dict) and "task" not in new:
                yield from _dict_changes(name, old, new)
                continue
            nested = list(_task_changes(name, old, new)) if _nests(old, new) else []
            if nested:
                yield from nested
                continue
            note = "its default" if name in defaults else ""
            yield Change("parameter", name, old, new, note)
        for name in old_keys:
            if name not in keys:
                yield Change("parameter", name, old_params.get(name), _ABSENT)

    def _code(self, task: Task[Any], entry: dict[str, Any]) -> tuple[Change, ...]:
        kind = type(task)._kind  # per task: a pipeline node carries its function's
        fp, version = kind.code(task), kind.code_version(task)
        key = (fp.digest, version, entry.get("code"), entry.get("code_version"))
        found = self._code_changes.get(key)
        if found is None:
            found = tuple(self._code_diff(fp, version, key[2], key[3]))
            self._code_changes[key] = found
        return found

    def _code_diff(
        self, fp: Fingerprint, version: str | None, old: Any, old_version: Any
    ) -> Iterable[Change]:
        if old == fp.digest:
            return
        if old_version != version:
            yield Change("code_version", "", old_version, version)
            return
        if DISABLED.digest in (fp.digest, old):
            state = "turned off" if fp.digest == DISABLED.digest else "turned on"
            yield Change("code", "", new=state)
            return
        before = self._manifest(str(old)) if old else None
        if before is None:
            yield Change("code")
            return
        now = fp.components
        names = [k for k in now if k in before and before[k] != now[k]]
        names += [f"{k} (new)" for k in now if k not in before]
        names += [f"{k} (removed)" for k in before if k not in now]
        yield Change("code", _names(names))

    def _files(self, task: Task[Any], entry: dict[str, Any]) -> Iterable[Change]:
        old = entry.get("files") or {}
        for name, param in type(task)._params.items():
            changed = name in old and old[name] != task._content(name)
            if changed and isinstance(param, FileParameter) and param.significant:
                yield Change("input", str(task._values[name]))

    def _upstream(
        self, task: Task[Any], entry: dict[str, Any] | None, will_run: set[str]
    ) -> Iterable[Change]:
        deps = task._dependencies()
        running = [d for d in deps if d.task_id in will_run]
        if running:
            yield Change("upstream", _names(_short(d) for d in running), new="will run")
        if entry is None:
            return
        before = set(entry.get("deps") or ())
        changed = [d for d in deps if d.task_id not in will_run and d.task_id not in before]
        others = []
        for dep in changed:
            outside = type(dep)._kind.outside_input(dep)
            if outside is None:
                others.append(dep)
            else:
                yield Change("input", outside)
        if others:
            yield Change("upstream", _names(_short(d) for d in others), new="changed")
        elif not running and not changed and len(before) != len({d.task_id for d in deps}):
            yield Change("other", "requirements changed")
