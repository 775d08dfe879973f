"""Results: every stored run of some tasks as one table, to compare runs (``cairn.results``).

One row per run record (and per failure record of a task that never succeeded): the task id,
its family, its state, every parameter (task parameters flattened to the parameters of the
task given, ``data.path``; dict parameters to their keys, ``model.lr``), its metrics
(``self.log_metric``), when it started, how long it ran, and how many bytes it wrote.
:func:`run_rows` makes the rows as plain dicts (the ui uses them without pandas);
:func:`results` makes the pandas ``DataFrame``.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from cairn._errors import CairnError, MissingExtraError
from cairn.identity.canonical import is_task
from cairn.inspect.status import walk
from cairn.model.targets import Target
from cairn.planning.plan import as_roots
from cairn.running.build import ConfigArg, open_workspace
from cairn.storage.failures import FailureRecord, failures_in
from cairn.storage.integrity import verify_file
from cairn.storage.layout import failure_path, id_in_name, record_id, records_in
from cairn.storage.records import RunRecord, read_json, read_record_or_none
from cairn.storage.store import Store

__all__ = ["FIXED_COLUMNS", "StoredRun", "collect_runs", "flatten_params", "results", "run_rows"]

#: The columns every results table starts with, before parameters and metrics.
FIXED_COLUMNS = ("task_id", "family", "task", "state")
#: The columns every results table ends with.
_TAIL_COLUMNS = ("start", "duration_s", "output_bytes", "error", "record_path")
#: How deep task parameters are flattened (``a.b.c.path``); deeper ones stay as ids.
_MAX_DEPTH = 8
#: Records read at once from a store (object stores answer each read in one round trip).
_READERS = 8


@dataclass(frozen=True)
class StoredRun:
    """One stored run: its run record (a complete task) or its failure record."""

    task_id: str
    family: str
    state: str  # "complete" or "failed"
    path: str
    record: RunRecord | None = None
    failure: FailureRecord | None = None

    @property
    def params(self) -> dict[str, Any]:
        """The parameters as the record stores them."""
        if self.record is not None:
            found = self.record.get("params")
            return found if isinstance(found, dict) else {}
        return dict(self.failure.params) if self.failure is not None else {}

    @property
    def name(self) -> str:
        """The class (or node) name: the family's last part."""
        return self.family.rpartition(".")[2]


def _matches(family: str, wanted: str) -> bool:
    return family == wanted or family.endswith(f".{wanted}")


def _family_of(what: Any) -> str | None:
    if isinstance(what, str):
        return what
    family = getattr(what, "family", None) if isinstance(what, type) else None
    if isinstance(family, str):
        return family
    return None


def collect_runs(store: Store, what: Any = None) -> list[StoredRun]:
    """Every stored run ``what`` selects, oldest first.

    ``what`` is None (the whole workspace), a family (``"pkg.train.Train"`` or ``"Train"``),
    a task class, or a task (or list of tasks): the runs of the tasks in its graph.

    Raises:
        CairnError: when ``what`` is none of those.
    """
    family = _family_of(what)
    ids: set[str] | None = None
    if what is not None and family is None:
        if not (is_task(what) or isinstance(what, list | tuple)):
            raise CairnError(
                f"results() takes a family name ('pkg.module.Train' or 'Train'), a task class, "
                f"a task (its graph) or nothing (the whole workspace); got "
                f"{type(what).__qualname__} {what!r:.100}"
            )
        roots, _ = as_roots(what)
        ids = {t.task_id for t in walk(roots)}
    paths = [
        p for p in records_in(store) if ids is None or record_id(p) in ids
    ]  # one listing; only the records asked for are read
    runs = [run for run in _read_all(store, paths) if run is not None]
    if family is not None:
        runs = [r for r in runs if _matches(r.family, family)]
    have = {r.task_id for r in runs}
    for path in failures_in(store):
        tid = id_in_name(path)
        if tid in have or (ids is not None and tid not in ids):
            continue
        raw = read_json(store, path)
        failure = FailureRecord.from_json(raw, path) if raw is not None else None
        if failure is None or (family is not None and not _matches(failure.family, family)):
            continue
        runs.append(StoredRun(failure.task_id, failure.family, "failed", path, failure=failure))
    runs.sort(key=lambda r: (_start(r), r.family, r.task_id))
    return runs


def _read_all(store: Store, paths: list[str]) -> Iterable[StoredRun | None]:
    if len(paths) < 2 * _READERS:
        return [_read_one(store, p) for p in paths]
    with ThreadPoolExecutor(_READERS) as pool:
        return list(pool.map(lambda p: _read_one(store, p), paths))


def _read_one(store: Store, path: str) -> StoredRun | None:
    record = read_record_or_none(store, path)
    if record is None:
        return None
    tid = str(record.get("task_id") or record_id(path) or "")
    return StoredRun(tid, str(record.get("family", "")), "complete", path, record=record)


def _start(run: StoredRun) -> str:
    if run.record is not None:
        return str(run.record.get("start", ""))
    return run.failure.failed_at if run.failure is not None else ""


class _Upstream:
    """Finds the parameters of tasks given as parameters, by id, reading each record once."""

    def __init__(self, store: Store, runs: list[StoredRun]) -> None:
        self.store = store
        self.params: dict[str, dict[str, Any] | None] = {r.task_id: r.params for r in runs}
        self._paths: dict[str, str] | None = None

    def of(self, task_id: str) -> dict[str, Any] | None:
        if task_id not in self.params:
            if self._paths is None:
                self._paths = {record_id(p) or "": p for p in records_in(self.store)}
            path = self._paths.get(task_id)
            found = read_record_or_none(self.store, path) if path is not None else None
            if found is None and path is not None:
                raw = read_json(self.store, failure_path(path))
                failed = FailureRecord.from_json(raw) if raw is not None else None
                self.params[task_id] = dict(failed.params) if failed is not None else None
            else:
                params = found.get("params") if found is not None else None
                self.params[task_id] = params if isinstance(params, dict) else None
        return self.params[task_id]


def _is_task_ref(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and set(value) == {"task", "task_id"}
        and isinstance(value["task_id"], str)
    )


def flatten_params(params: dict[str, Any], upstream: Any = None) -> dict[str, Any]:
    """``params`` (as a record stores them) as flat columns: a task parameter becomes
    ``name.task`` and ``name.task_id`` plus the given task's parameters as ``name.param``
    (found with ``upstream(task_id)``, deeper tasks likewise); a dict parameter becomes one
    column per key. No recursion: a stack of prefixes."""
    out: dict[str, Any] = {}
    stack: list[tuple[str, Any, int]] = [(name, value, 0) for name, value in params.items()]
    stack.reverse()
    while stack:
        name, value, depth = stack.pop()
        if _is_task_ref(value):
            out[f"{name}.task"] = str(value["task"]).rpartition(".")[2]
            out[f"{name}.task_id"] = value["task_id"]
            found = upstream(value["task_id"]) if upstream is not None else None
            if found and depth < _MAX_DEPTH:
                stack.extend(reversed([(f"{name}.{k}", v, depth + 1) for k, v in found.items()]))
        elif isinstance(value, list) and value and all(_is_task_ref(v) for v in value):
            items = [(f"{name}.{i}", v, depth) for i, v in enumerate(value)]
            stack.extend(reversed(items))
        elif isinstance(value, dict) and value and depth < _MAX_DEPTH:
            items = [(f"{name}.{k}", v, depth + 1) for k, v in value.items()]
            stack.extend(reversed(items))
        else:
            out[name] = _cell(value)
    return out


def _cell(value: Any) -> Any:
    """A parameter value as one table cell: lists (unhashable, so not sortable) as text."""
    if isinstance(value, list | dict):
        import json

        return json.dumps(value, default=str)
    return value


def run_rows(store: Store, runs: list[StoredRun]) -> list[dict[str, Any]]:
    """One flat dict per run: the :data:`FIXED_COLUMNS`, parameters, metrics, then start,
    duration, output bytes, error and record path. A metric named like a parameter is
    ``metrics.{name}``."""
    upstream = _Upstream(store, runs)
    rows = []
    for run in runs:
        row: dict[str, Any] = {
            "task_id": run.task_id,
            "family": run.family,
            "task": run.name,
            "state": run.state,
        }
        row.update(flatten_params(run.params, upstream.of))
        record = run.record
        if record is not None:
            metrics = record.metrics
        else:
            metrics = run.failure.metrics if run.failure is not None else {}
        for name, value in metrics.items():
            row["metrics." + name if name in row or name in _TAIL_COLUMNS else name] = value
        if record is not None:
            duration = record.get("duration_s")
            row["start"] = record.get("start")
            row["duration_s"] = duration
            row["output_bytes"] = sum(int(o.get("size", 0) or 0) for o in record.outputs.values())
            row["error"] = None
        else:
            failed = run.failure
            row["start"] = failed.failed_at if failed is not None else None
            row["duration_s"] = failed.duration_s if failed is not None else None
            row["output_bytes"] = 0
            row["error"] = failed.summary if failed is not None else None
        row["record_path"] = run.path
        rows.append(row)
    return rows


def load_stored_output(store: Store, record: RunRecord, key: str = "") -> Any:
    """The output ``key`` of a run record, checked against its size and checksum.

    Raises:
        CairnError: (``CorruptOutputError``, ``OutputNotFoundError``) when it is not the
            file its record describes, or missing.
    """
    from cairn._errors import CorruptOutputError

    entry = record.outputs[key]
    target = Target(entry["path"])
    with store.open_read(target.path) as file:
        problem = verify_file(file, entry)
        if problem is not None:
            raise CorruptOutputError(
                f"the output {target.path} is corrupt: {problem}; build its task again"
            )
        file.seek(0)
        written = entry.get("type")
        return target.read(file, None, written if isinstance(written, str) else None)


def results(
    what: Any = None,
    *,
    workspace: str | None = None,
    storage_options: dict[str, Any] | None = None,
    config: ConfigArg = None,
    load: bool = False,
) -> Any:
    """Every stored run as a pandas ``DataFrame``, one row per run, oldest first.

    ``what`` selects the runs: a family (``"pkg.train.Train"``, or just ``"Train"``), a task
    class, a task or list of tasks (the runs of every task in their graph), or None (the
    whole workspace). Columns: ``task_id``, ``family``, ``task`` (the class name), ``state``
    (``complete`` or ``failed``), every parameter (a task parameter flattened to the given
    task's parameters: ``data.path``), every metric logged with ``self.log_metric``,
    ``start`` (a UTC timestamp), ``duration_s``, ``output_bytes``, ``error`` (a failed
    run's) and ``record_path``. ``load=True`` adds ``output``: each complete run's output
    (a dict for a task with several), read and checked against its record.

    Raises:
        MissingExtraError: when pandas is not installed.
        CairnError: when ``what`` is not something that selects runs.
    """
    try:
        import pandas as pd
    except ImportError as exc:
        raise MissingExtraError(
            "cairn.results() returns a pandas DataFrame; install pandas: "
            "pip install 'cairn[pandas]'"
        ) from exc
    store = open_workspace(workspace, storage_options, config)
    runs = collect_runs(store, what)
    rows = run_rows(store, runs)
    columns = _columns(rows)
    frame = pd.DataFrame(rows, columns=columns)
    if not frame.empty:
        frame["start"] = pd.to_datetime(frame["start"], utc=True, errors="coerce", format="ISO8601")
    if load:
        outputs: list[Any] = []
        for run in runs:
            record = run.record
            if record is None:
                outputs.append(None)
            elif list(record.outputs) == [""]:
                outputs.append(load_stored_output(store, record))
            else:
                outputs.append({k: load_stored_output(store, record, k) for k in record.outputs})
        frame["output"] = outputs
    frame.attrs["workspace"] = store.url
    return frame


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    """Fixed columns, then parameters and metrics in first-seen order, then the tail."""
    seen: dict[str, None] = dict.fromkeys(FIXED_COLUMNS)
    for row in rows:
        for key in row:
            if key not in _TAIL_COLUMNS:
                seen.setdefault(key)
    return [*seen, *_TAIL_COLUMNS]
