"""Run records (``show``) and what a store holds (``ls``).

Each function returns a value that prints readably in a terminal (``__str__``, and
``__rich__`` for rich consoles) and renders as HTML in Jupyter (``_repr_html_``).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from cairn._errors import CairnError, OutputNotFoundError
from cairn._render import format_duration, format_time, html_block, html_table, human_bytes, to_text
from cairn._settings import ConfigArg
from cairn.model.labels import record_labels
from cairn.model.task import Task
from cairn.pipeline._node_task import recorded_node
from cairn.running.build import open_workspace
from cairn.storage.failures import FailureRecord, failures_in
from cairn.storage.history import read_manifest
from cairn.storage.layout import (
    FAILURE_SUFFIX,
    RECORD_SUFFIX,
    failure_path,
    id_in_name,
    record_id,
    records_in,
)
from cairn.storage.records import read_json, read_record_or_none, read_run_record
from cairn.storage.store import LocalStore, Store

__all__ = [
    "FailedRun",
    "Listing",
    "RunRecord",
    "StoredTask",
    "find_record",
    "ls",
    "show",
]


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
            (
                "task",
                [
                    *_node_rows(self.family, d.get("params")),
                    ("family", self.family),
                    ("id", self.task_id),
                    ("record", self.path),
                ],
            ),
            ("parameters", params),
            ("metrics", [(k, _number(v)) for k, v in (d.get("metrics") or {}).items()]),
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


class FailedRun(RunRecord):
    """The failure record of a task whose last attempt failed (it has no run record):
    ``failed.failure`` is the typed :class:`~cairn.storage.failures.FailureRecord`."""

    def __init__(self, failure: FailureRecord, data: dict[str, Any], workspace: str) -> None:
        super().__init__(data, failure.path, workspace)
        self.failure = failure

    def sections(self) -> list[tuple[str, list[tuple[str, str]]]]:
        f = self.failure
        params = [(k, json.dumps(v, default=str)) for k, v in f.params.items()]
        return [
            (
                "task (failed)",
                [
                    *_node_rows(f.family, f.params),
                    ("family", f.family),
                    ("id", f.task_id),
                    ("failure record", self.path),
                ],
            ),
            ("parameters", params),
            (
                "failure",
                [
                    ("error", f"{f.error}: {f.message}"),
                    ("where", f.location or "(not in your code)"),
                    ("attempt", str(f.attempt)),
                    ("failed at", format_time(f.failed_at)),
                    ("duration", format_duration(f.duration_s)),
                    ("host", f"{f.host} (pid {f.pid})"),
                ],
            ),
        ]

    def __rich__(self) -> Any:
        from rich.console import Group
        from rich.text import Text

        parts: list[Any] = [super().__rich__()]
        parts[0] = Group(*list(parts[0].renderables)[:-2])  # without the run record's log
        parts.append(Text("traceback", style="italic"))
        parts.append(Text(self.failure.traceback.rstrip() or "(none)", style="red"))
        parts.append(Text("log", style="italic"))
        parts.append(Text("\n".join(self.failure.log) if self.failure.log else "(empty)"))
        return Group(*parts)

    def __repr__(self) -> str:
        return f"<FailedRun {self.family} {self.task_id}>"


def _node_rows(family: str, params: Any) -> list[tuple[str, str]]:
    """A pipeline node's record starts with the node's name and function."""
    node = recorded_node(family, params)
    if node is None:
        return []
    return [("node", node[0]), ("function", node[1])]


def _number(value: Any) -> str:
    """A metric as text: ints as they are, floats with up to 6 significant digits."""
    return f"{value:.6g}" if isinstance(value, float) else str(value)


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
        candidates = [what.record_path(), failure_path(what.record_path())]
    else:
        text = _relative(store, os.fspath(what))
        if text.endswith(RECORD_SUFFIX):
            candidates = [text, failure_path(text)]
        elif text.endswith(FAILURE_SUFFIX):
            candidates = [text]
        else:
            prefix = id_in_name(text) or text.lower()
            if re.fullmatch(r"[0-9a-f]{1,3}", prefix):
                raise CairnError(
                    f"{text!r} is too short to name a task: give at least 4 hex digits of its "
                    "id ('cairn ls' lists the ids)"
                )
            if not re.fullmatch(r"[0-9a-f]{4,32}", prefix):
                prefix = ""
            candidates = [p for p in records_in(store) if (record_id(p) or "").startswith(prefix)]
            if not prefix:  # an output path without an id in its name: ask the records
                candidates = [p for p in candidates if _lists_output(store, p, text)]
            else:
                have = {record_id(p) for p in candidates}
                candidates += [
                    p
                    for p in failures_in(store)
                    if (id_in_name(p) or "").startswith(prefix) and id_in_name(p) not in have
                ]
                if len(candidates) > 1:
                    raise CairnError(_ambiguous(text, candidates))
    for path in candidates:
        try:
            return path, read_run_record(store, path).to_dict()
        except OutputNotFoundError:
            continue
    raise OutputNotFoundError(
        f"no run record for {what!r} in the workspace {store.url}; give a task id (or its "
        "first digits), an output path or a record path. 'cairn ls' lists what it holds."
    )


def _ambiguous(text: str, paths: list[str]) -> str:
    shown = [
        f"{id_in_name(p)} ({p.rpartition('/')[2].rpartition('_')[0]}"
        f"{', failed' if p.endswith(FAILURE_SUFFIX) else ''})"
        for p in paths[:10]
    ]
    more = f" and {len(paths) - 10} more" if len(paths) > 10 else ""
    return (
        f"{text!r} matches {len(paths)} run records: {', '.join(shown)}{more}; "
        "give more digits of the id"
    )


def _lists_output(store: Store, record_path: str, output: str) -> bool:
    record = read_record_or_none(store, record_path)
    return record is not None and any(o["path"] == output for o in record.outputs.values())


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
    if path.endswith(FAILURE_SUFFIX):
        failure = FailureRecord.from_json(data, path)
        if failure is not None:
            return FailedRun(failure, data, store.url)
    code = data.get("code")
    if isinstance(code, dict) and "components" not in code and code.get("manifest"):
        components = read_manifest(store, str(code.get("fingerprint")))  # kept once per code
        if components is not None:
            data = {**data, "code": {**code, "components": components}}
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
    state: str = "complete"  # or "failed": its last attempt failed (record_path is then
    # the failure record's) and it has no run record
    label: str = ""  # short: the class (or node) name and the parameters that differ among
    # the stored runs of its family


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

    def _rows(self) -> list[tuple[str, str, str, str, str, str]]:
        return [
            (
                e.label,
                e.family,
                e.task_id,
                human_bytes(e.size),
                format_time(e.finished)
                if e.state == "complete"
                else f"failed {format_time(e.finished)}",
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

    _COLUMNS = ("task", "family", "id", "size", "finished at", "duration")

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
    """What the workspace holds: a short label, family, id, size, finished at and duration
    of each task. A pipeline node is labelled by its name and listed under its function's
    family (``mlpipe.flow.clean``); other tasks by class name and the parameters that differ
    among the stored runs of their family (``Train(lr=0.05)``).

    ``family`` keeps tasks of one family (``"mypkg.train.Train"`` or just ``"Train"``; a
    node's function, or its name).
    """
    store = open_workspace(workspace, storage_options, config)
    entries: list[StoredTask] = []
    unreadable: list[str] = []
    params: dict[str, Any] = {}
    for path in records_in(store):
        record = read_record_or_none(store, path)
        if record is None:
            unreadable.append(path)
            continue
        data = record.to_dict()
        fam = _family(str(data.get("family", "")), data.get("params"))
        if family is not None and not _is_family(fam, family):
            continue
        outputs = data.get("outputs") or {}
        task_id = str(data.get("task_id", record_id(path) or ""))
        params[task_id] = _label_params(str(data.get("family", "")), data.get("params"))
        entries.append(
            StoredTask(
                family=fam,
                task_id=task_id,
                size=sum(int(o.get("size", 0)) for o in outputs.values()),
                finished=str(data.get("end", "")),
                duration_s=data.get("duration_s"),
                record_path=path,
                outputs=tuple(str(o.get("path")) for o in outputs.values()),
            )
        )
    have = {e.task_id for e in entries}
    for path in failures_in(store):
        raw = read_json(store, path)
        failure = FailureRecord.from_json(raw, path) if raw is not None else None
        if failure is None or failure.task_id in have:
            continue
        fam = _family(failure.family, failure.params)
        if family is not None and not _is_family(fam, family):
            continue
        params[failure.task_id] = _label_params(failure.family, failure.params)
        entries.append(
            StoredTask(
                family=fam,
                task_id=failure.task_id,
                size=0,
                finished=failure.failed_at,
                duration_s=failure.duration_s,
                record_path=path,
                outputs=(),
                state="failed",
            )
        )
    labels = record_labels((e.task_id, e.family, params[e.task_id]) for e in entries)
    entries = [dataclasses.replace(e, label=labels[e.task_id]) for e in entries]
    entries.sort(key=lambda e: (e.finished, e.family))
    return Listing(entries, store.url, unreadable)


def _family(family: str, params: Any) -> str:
    """The family ``ls`` lists a task under: a pipeline node's is its function's."""
    node = recorded_node(family, params)
    return node[1] if node is not None else family


def _label_params(family: str, params: Any) -> Mapping[str, Any]:
    """What tells stored runs apart in their labels: a node's config values (by path),
    another task's parameters."""
    if not isinstance(params, Mapping):
        return {}
    if recorded_node(family, params) is not None:
        config = params.get("config")
        if isinstance(config, Mapping):
            return {str(k).removeprefix("config."): v for k, v in config.items()}
        return {}
    return params


def _is_family(family: str, wanted: str) -> bool:
    return family == wanted or family.endswith(f".{wanted}")
