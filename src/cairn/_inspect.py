"""Inspection: the state of every task in a graph (``status``), run records (``show``) and
what a store holds (``ls``).

Each function returns a value that prints readably in a terminal (``__str__``, and
``__rich__`` for rich consoles) and renders as HTML in Jupyter (``_repr_html_``). Walks are
iterative, so deep graphs work.
"""

from __future__ import annotations

import datetime as _dt
import html
import json
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from cairn._build import ConfigArg, open_workspace, settings_for
from cairn._errors import CairnError, OutputNotFoundError
from cairn._graph import as_roots, make_plan
from cairn._records import is_complete
from cairn._render import STATE_COLOURS, STATE_STYLES, html_block, html_table, human_bytes, to_text
from cairn._store import LocalStore, Store, open_store
from cairn._task import Task
from cairn.locks import get_lock

__all__ = [
    "Listing",
    "RunRecord",
    "Status",
    "StoredTask",
    "TaskStatus",
    "ls",
    "record_id",
    "records_in",
    "show",
    "status",
    "walk",
]

RECORD_SUFFIX = ".run.json"
NOT_NEEDED = "its output is missing, but every task that needs it is complete"
_ID = re.compile(r"_([0-9a-f]{32})(?:\.|$)")


def walk(roots: Sequence[Task[Any]]) -> list[Task[Any]]:
    """Every task reachable from ``roots`` (below complete tasks too), dependencies first."""
    order: list[Task[Any]] = []
    seen: set[str] = set()
    stack: list[tuple[Task[Any], bool]] = [(root, False) for root in reversed(roots)]
    while stack:
        task, expanded = stack.pop()
        if expanded:
            order.append(task)
            continue
        tid = task.task_id
        if tid in seen:
            continue
        seen.add(tid)
        stack.append((task, True))
        stack.extend((dep, False) for dep in reversed(task._dependencies()))
    return order


def format_time(iso: str | None) -> str:
    """A record's ISO UTC time as local ``YYYY-MM-DD HH:MM:SS``."""
    if not iso:
        return ""
    try:
        return _dt.datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return iso


def format_duration(seconds: float | None) -> str:
    """``0.0123`` -> ``'12ms'``; ``83`` -> ``'1m 23s'``."""
    if seconds is None:
        return ""
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.2f}s" if seconds < 10 else f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes}m {secs}s" if hours else f"{minutes}m {secs}s"


# --- status -------------------------------------------------------------------------------
@dataclass(frozen=True)
class TaskStatus:
    """One task's state: ``complete``, ``will run``, ``running elsewhere`` or ``not needed``."""

    task: Task[Any]
    state: str
    reason: str | None
    dependencies: tuple[str, ...]
    holder: str | None = None

    @property
    def task_id(self) -> str:
        """The task's id."""
        return self.task.task_id


class Status(Sequence[TaskStatus]):
    """The state of every task reachable from some roots, dependencies first.

    Index it by position, or by task or task id: ``status[task].state``.
    """

    def __init__(self, entries: list[TaskStatus], roots: list[Task[Any]], workspace: str) -> None:
        self.entries = entries
        self.roots = roots
        self.workspace = workspace
        self.by_id = {e.task_id: e for e in entries}

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[TaskStatus]:
        return iter(self.entries)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, Task):
            key = key.task_id
        if isinstance(key, str):
            return self.by_id[key]
        return self.entries[key]

    def counts(self) -> dict[str, int]:
        """How many tasks are in each state."""
        out: dict[str, int] = {}
        for entry in self.entries:
            out[entry.state] = out.get(entry.state, 0) + 1
        return out

    def summary(self) -> str:
        """``'3 tasks: 2 complete, 1 will run'``."""
        parts = ", ".join(f"{n} {state}" for state, n in self.counts().items())
        return f"{len(self.entries)} task(s): {parts}"

    def lines(self) -> Iterator[tuple[int, TaskStatus, bool]]:
        """The tree, depth first from each root: ``(depth, entry, shown_above)``.

        A task reached a second time is yielded once more with ``shown_above=True`` and
        its subtree is not repeated.
        """
        shown: set[str] = set()
        stack = [(0, root.task_id) for root in reversed(self.roots)]
        while stack:
            depth, tid = stack.pop()
            entry = self.by_id[tid]
            if tid in shown:
                yield depth, entry, True
                continue
            shown.add(tid)
            yield depth, entry, False
            stack.extend((depth + 1, dep) for dep in reversed(entry.dependencies))

    #: Deeper levels are not drawn (a terminal cannot indent them); a note counts them.
    MAX_DEPTH = 24

    def _shown_lines(self) -> tuple[list[tuple[int, TaskStatus, bool]], int]:
        shown, hidden = [], set()
        for depth, entry, above in self.lines():
            if depth > self.MAX_DEPTH:
                hidden.add(entry.task_id)
            else:
                shown.append((depth, entry, above))
        drawn = {entry.task_id for _, entry, _ in shown}
        return shown, len(hidden - drawn)

    def _hidden_note(self, hidden: int) -> str:
        return (
            f"({hidden} task(s) more than {self.MAX_DEPTH} levels deep not drawn; "
            "the plan lists every task)"
        )

    def __rich__(self) -> Any:
        from rich.console import Group
        from rich.text import Text
        from rich.tree import Tree

        trees: list[Any] = []
        parents: list[Any] = []
        shown, hidden = self._shown_lines()
        for depth, entry, above in shown:
            label = _status_label(entry, above)
            if depth == 0:
                tree = Tree(label, guide_style="dim")
                trees.append(tree)
                parents = [tree]
            else:
                del parents[depth:]
                parents.append(parents[depth - 1].add(label))
        if hidden:
            trees.append(Text(self._hidden_note(hidden), style="dim"))
        return Group(*trees, Text(self.summary(), style="bold"))

    def __str__(self) -> str:
        return to_text(self)

    def __repr__(self) -> str:
        return f"<Status: {self.summary()}>"

    def _repr_html_(self) -> str:
        out = ['<div style="font-family:monospace;font-size:13px">']
        shown, hidden = self._shown_lines()
        for depth, entry, above in shown:
            colour = STATE_COLOURS.get(entry.state, "#fff")
            text = entry.task.label() + (" (shown above)" if above else "")
            reason = f" - {entry.reason}" if entry.reason and not above else ""
            out.append(
                f'<div style="margin-left:{depth * 1.5}em"><span style="background:{colour};'
                f'padding:0 4px">{html.escape(entry.state)}</span> {html.escape(text)} '
                f'<span style="color:#888">#{entry.task_id[:8]}{html.escape(reason)}</span></div>'
            )
        if hidden:
            out.append(f"<div>{html.escape(self._hidden_note(hidden))}</div>")
        out.append(f"<div><b>{html.escape(self.summary())}</b></div></div>")
        return "".join(out)


def _status_label(entry: TaskStatus, above: bool) -> Any:
    from rich.text import Text

    text = Text()
    text.append(f"{entry.state:<9}", style=STATE_STYLES.get(entry.state, ""))
    text.append(" ")
    text.append(entry.task.label(), style="dim" if above else "bold")
    text.append(f"  #{entry.task_id[:8]}", style="dim")
    if above:
        text.append("  (shown above)", style="dim")
    elif entry.holder:
        text.append(f"  held by {entry.holder}", style="dim")
    elif entry.reason and entry.state == "will run":
        text.append(f"  {entry.reason}", style="dim")
    return text


def status(
    tasks: Any,
    *,
    workspace: str | None = None,
    lock: Any = None,
    storage_options: dict[str, Any] | None = None,
    config: ConfigArg = None,
) -> Status:
    """The dependency tree of ``tasks`` with each task's state.

    States: ``complete``; ``will run`` (with the reason); ``running elsewhere`` when its
    lock is held by another runner (needs a lock: ``lock="file"`` or a Redis URL, or one
    from the environment or ``config``); ``not needed`` when its output is missing but
    everything that needs it is complete. Settings resolve as in :func:`cairn.build`.
    """
    roots, _ = as_roots(tasks)
    settings = settings_for(config, workspace=workspace, lock=lock, storage_options=storage_options)
    store = open_store(settings.workspace, settings.storage_options)
    planned = {e.task.task_id: e for e in make_plan(roots, store)}
    the_lock = get_lock(settings.lock, store.url)
    check_locks = bool(getattr(the_lock, "exclusive", True))
    entries: list[TaskStatus] = []
    try:
        for task in walk(roots):
            tid = task.task_id
            deps = tuple(d.task_id for d in task._dependencies())
            entry = planned.get(tid)
            holder = None
            if entry is None:
                done = is_complete(task, store)
                state, reason = ("complete", None) if done else ("not needed", NOT_NEEDED)
            else:
                state, reason = entry.state, entry.reason
            if state == "will run" and check_locks:
                key = f"{store.url}::{tid}"  # the key the scheduling loop locks
                lease = the_lock.acquire(key)
                if lease is None:
                    state, holder = "running elsewhere", the_lock.holder(key) or "another runner"
                else:
                    lease.release()
            entries.append(TaskStatus(task, state, reason, deps, holder))
    finally:
        if the_lock is not settings.lock:
            the_lock.close()
    return Status(entries, roots, store.url)


# --- records ------------------------------------------------------------------------------
def record_id(path: str) -> str | None:
    """The task id in a record path ``.../Name_{id}.run.json``, or None."""
    if not path.endswith(RECORD_SUFFIX):
        return None
    stem = path[: -len(RECORD_SUFFIX)]
    tid = stem.rpartition("_")[2]
    return tid if len(tid) == 32 else None


def records_in(store: Store) -> list[str]:
    """Paths of every run record in ``store``."""
    return sorted(p for p in store.list() if p.endswith(RECORD_SUFFIX))


def read_json(store: Store, path: str) -> dict[str, Any] | None:
    """A record's content, or None when it cannot be read or parsed."""
    try:
        with store.open_read(path) as file:
            data = json.loads(file.read())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


class RunRecord(Mapping[str, Any]):
    """A run record, read-only: ``record["params"]``, ``record.task_id``, ``record.data``."""

    def __init__(self, data: dict[str, Any], path: str, workspace: str) -> None:
        self._data = data
        self.path = path
        self.workspace = workspace

    @property
    def data(self) -> MappingProxyType[str, Any]:
        """The whole record (read-only mapping)."""
        return MappingProxyType(self._data)

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    @property
    def task_id(self) -> str:
        """The task's id."""
        return str(self._data.get("task_id", ""))

    @property
    def family(self) -> str:
        """The task's family (module and class)."""
        return str(self._data.get("family", ""))

    def sections(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """The record as titled lists of ``(name, value)`` rows."""
        d = self._data
        params = [(k, json.dumps(v, default=str)) for k, v in (d.get("params") or {}).items()]
        code = d.get("code") or {}
        env = d.get("environment") or {}
        outputs = [
            (key or "(output)", f"{o.get('path')}  {human_bytes(int(o.get('size', 0)))}")
            for key, o in (d.get("outputs") or {}).items()
        ]
        timing = [
            ("started", format_time(d.get("start"))),
            ("finished", format_time(d.get("end"))),
            ("duration", format_duration(d.get("duration_s"))),
            ("seed", str(d.get("seed", ""))),
            ("attempt", str(d.get("attempt", ""))),
        ]
        packages = env.get("packages") or {}
        environment = [
            (k, str(env[k])) for k in ("cairn", "python", "platform", "host") if k in env
        ]
        if packages:
            environment.append(("packages", ", ".join(f"{n} {v}" for n, v in packages.items())))
        return [
            ("task", [("family", self.family), ("id", self.task_id), ("record", self.path)]),
            ("parameters", params),
            ("dependencies", [("", tid) for tid in d.get("dependencies") or []]),
            (
                "code",
                [("fingerprint", str(code.get("fingerprint", "")))]
                + (
                    [("code_version", str(code["code_version"]))]
                    if code.get("code_version")
                    else []
                )
                + [(name, str(v)) for name, v in (code.get("components") or {}).items()],
            ),
            ("outputs", outputs),
            ("timing", timing),
            ("environment", environment),
        ]

    def __rich__(self) -> Any:
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        parts: list[Any] = []
        for title, rows in self.sections():
            if not rows:
                continue
            table = Table(title=title, title_justify="left", show_header=False, box=None)
            table.add_column(style="bold")
            table.add_column(overflow="fold")
            for name, value in rows:
                table.add_row(name, value)
            parts.append(table)
        log = self._data.get("log") or []
        parts.append(Text("log", style="italic"))
        parts.append(Text("\n".join(log) if log else "(empty)"))
        return Group(*parts)

    def __str__(self) -> str:
        return to_text(self)

    def __repr__(self) -> str:
        return f"<RunRecord {self.family} {self.task_id}>"

    def _repr_html_(self) -> str:
        out = []
        for title, rows in self.sections():
            if rows:
                out.append(html_table(["", ""], rows, title=title))
        out.append("<div><b>log</b></div>")
        out.append(html_block("\n".join(self._data.get("log") or []) or "(empty)"))
        return "".join(out)


def _relative(store: Store, text: str) -> str:
    if isinstance(store, LocalStore) and os.path.isabs(text):
        rel = os.path.relpath(os.path.abspath(text), store.root)
        if not rel.startswith(".."):
            return rel.replace(os.sep, "/")
    if text.startswith(store.url.rstrip("/") + "/"):
        return text[len(store.url.rstrip("/")) + 1 :]
    return text.replace(os.sep, "/").removeprefix("./")


def find_record(store: Store, what: Any) -> tuple[str, dict[str, Any]]:
    """Find the run record for a task, a task id (or unique prefix), a record or output path.

    Raises:
        OutputNotFoundError: when nothing matches.
        CairnError: when an id prefix matches several records.
    """
    if isinstance(what, Task):
        candidates = [what.record_path()]
    else:
        text = _relative(store, os.fspath(what))
        if text.endswith(RECORD_SUFFIX):
            candidates = [text]
        else:
            match = _ID.search(text.rpartition("/")[2])
            prefix = match.group(1) if match else text.lower()
            if not re.fullmatch(r"[0-9a-f]{4,32}", prefix):
                prefix = ""
            candidates = [p for p in records_in(store) if (record_id(p) or "").startswith(prefix)]
            if not prefix:  # an output path without an id in its name: ask the records
                candidates = [p for p in candidates if _lists_output(store, p, text)]
            elif len(candidates) > 1:
                shown = ", ".join(record_id(p) or p for p in candidates[:5])
                raise CairnError(
                    f"{text!r} matches {len(candidates)} run records ({shown}, ...); "
                    "give more digits of the id"
                )
    for path in candidates:
        data = read_json(store, path)
        if data is not None:
            return path, data
    raise OutputNotFoundError(
        f"no run record for {what!r} in the workspace {store.url}; give a task id (or its "
        "first digits), an output path or a record path. 'cairn ls' lists what it holds."
    )


def _lists_output(store: Store, record_path: str, output: str) -> bool:
    data = read_json(store, record_path) or {}
    return any(o.get("path") == output for o in (data.get("outputs") or {}).values())


def show(
    what: Any,
    *,
    workspace: str | None = None,
    storage_options: dict[str, Any] | None = None,
    config: ConfigArg = None,
) -> RunRecord:
    """The run record of a task: ``what`` is a task, a task id (or its first digits), an
    output path or a record path (relative to the workspace, or absolute).

    Raises:
        OutputNotFoundError: when no record matches.
    """
    store = open_workspace(workspace, storage_options, config)
    path, data = find_record(store, what)
    return RunRecord(data, path, store.url)


# --- ls -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class StoredTask:
    """One task held by a store, from its run record."""

    family: str
    task_id: str
    size: int
    finished: str
    duration_s: float | None
    record_path: str
    outputs: tuple[str, ...]


class Listing(Sequence[StoredTask]):
    """What a store holds: one entry per run record, oldest first."""

    def __init__(self, entries: list[StoredTask], workspace: str, unreadable: list[str]) -> None:
        self.entries = entries
        self.workspace = workspace
        self.unreadable = unreadable

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[StoredTask]:
        return iter(self.entries)

    def __getitem__(self, index: Any) -> Any:
        return self.entries[index]

    @property
    def size(self) -> int:
        """Total bytes of the outputs listed."""
        return sum(e.size for e in self.entries)

    def _rows(self) -> list[tuple[str, str, str, str, str]]:
        return [
            (
                e.family,
                e.task_id,
                human_bytes(e.size),
                format_time(e.finished),
                format_duration(e.duration_s),
            )
            for e in self.entries
        ]

    def summary(self) -> str:
        """``'12 task(s), 3.4 MiB in /path'``."""
        text = f"{len(self.entries)} task(s), {human_bytes(self.size)} in {self.workspace}"
        if self.unreadable:
            text += f"; {len(self.unreadable)} unreadable record(s)"
        return text

    _COLUMNS = ("family", "id", "size", "finished at", "duration")

    def __rich__(self) -> Any:
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        table = Table()
        for column in self._COLUMNS:
            table.add_column(column, justify="right" if column in ("size", "duration") else "left")
        for row in self._rows():
            table.add_row(*row)
        return Group(table, Text(self.summary()))

    def __str__(self) -> str:
        return to_text(self)

    def __repr__(self) -> str:
        return f"<Listing: {self.summary()}>"

    def _repr_html_(self) -> str:
        return html_table(self._COLUMNS, self._rows(), footer=self.summary())


def ls(
    *,
    workspace: str | None = None,
    family: str | None = None,
    storage_options: dict[str, Any] | None = None,
    config: ConfigArg = None,
) -> Listing:
    """What the workspace holds: family, id, size, finished at and duration of each task.

    ``family`` keeps tasks of one family (``"mypkg.train.Train"`` or just ``"Train"``).
    """
    store = open_workspace(workspace, storage_options, config)
    entries: list[StoredTask] = []
    unreadable: list[str] = []
    for path in records_in(store):
        data = read_json(store, path)
        if data is None:
            unreadable.append(path)
            continue
        fam = str(data.get("family", ""))
        if family is not None and fam != family and not fam.endswith(f".{family}"):
            continue
        outputs = data.get("outputs") or {}
        entries.append(
            StoredTask(
                family=fam,
                task_id=str(data.get("task_id", record_id(path) or "")),
                size=sum(int(o.get("size", 0)) for o in outputs.values()),
                finished=str(data.get("end", "")),
                duration_s=data.get("duration_s"),
                record_path=path,
                outputs=tuple(str(o.get("path")) for o in outputs.values()),
            )
        )
    entries.sort(key=lambda e: (e.finished, e.family))
    return Listing(entries, store.url, unreadable)
