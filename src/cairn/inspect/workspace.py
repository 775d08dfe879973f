"""What a workspace holds, as JSON-ready data for viewers (``cairn ui``): the overview, one
task's page, two runs side by side, a build's graph and a stored task's graph.

Everything here reads the store and returns plain dicts and lists; nothing serves or
prints. A :class:`WorkspaceView` keeps the run records it has read (a record does not change
once written, except when a task reruns, which its build's events report: :meth:`forget`).
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from cairn._errors import CairnError, OutputNotFoundError
from cairn._render import format_seconds
from cairn.inspect.layout import graph_svg, node_details
from cairn.inspect.results import StoredRun, collect_runs, load_stored_output, run_rows
from cairn.storage.builds import build_ids, read_build_events, read_build_plan
from cairn.storage.failures import failures_in, read_failure
from cairn.storage.history import read_manifest
from cairn.storage.layout import failure_path, id_in_name, record_id, records_in
from cairn.storage.records import RunRecord, read_record_or_none
from cairn.storage.store import Store

__all__ = ["LISTING_SECONDS", "PREVIEW_LIMIT", "WorkspaceView", "apply_events"]

#: Seconds one listing of the store's records serves lookups for.
LISTING_SECONDS = 2.0
#: Outputs larger than this (bytes) are not loaded for a preview.
PREVIEW_LIMIT = 64 << 20
_IMAGES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif"}
_TEXT = (".txt", ".md", ".log", ".json", ".csv", ".tsv", ".yaml", ".yml", ".html")
#: Formats that run code when read (pickle): previewed only when asked.
_UNSAFE = (".pkl", ".pickle", ".joblib", ".cloudpickle")


def apply_events(
    nodes: list[dict[str, Any]], events: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], bool]:
    """``nodes`` of a build's plan with the states its ``events`` give them (``running``,
    ``complete``, ``failed``) and durations; and whether the build has finished."""
    by_id = {n["id"]: n for n in nodes}
    finished = False
    for event in events:
        kind = event.get("event")
        node = by_id.get(event.get("id", ""))
        if kind == "build_finished":
            finished = True
        if node is None:
            continue
        if kind == "started":
            node["state"] = "running"
            node["started_t"] = event.get("t")
        elif kind in ("succeeded", "reused"):
            node["state"] = "complete"
            if event.get("duration_s") is not None:
                node["duration_s"] = event["duration_s"]
        elif kind == "failed":
            node["state"] = "failed"
            node["error"] = event.get("error")
    return nodes, finished


class WorkspaceView:
    """Read-only views of one store, for ``cairn ui``'s pages."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._records: dict[str, RunRecord | None] = {}
        self._lock = threading.Lock()
        self._listing: tuple[float, dict[str, str]] = (-LISTING_SECONDS, {})

    # --- records ------------------------------------------------------------------------
    def forget(self, task_id: str) -> None:
        """Drop what is cached of ``task_id`` (it ran again)."""
        with self._lock:
            for path in [p for p in self._records if record_id(p) == task_id]:
                del self._records[path]

    def _record(self, path: str) -> RunRecord | None:
        with self._lock:
            if path in self._records:
                return self._records[path]
        found = read_record_or_none(self.store, path)
        with self._lock:
            self._records[path] = found
        return found

    def _paths(self, fresh: bool = False) -> dict[str, str]:
        """Record path by task id, from one listing of the store reused for
        :data:`LISTING_SECONDS` (a page asks for many tasks at once); ``fresh`` lists again."""
        with self._lock:
            stamp, paths = self._listing
            if not fresh and time.monotonic() - stamp < LISTING_SECONDS:
                return paths
        paths = {record_id(p) or "": p for p in records_in(self.store)}
        with self._lock:
            self._listing = (time.monotonic(), paths)
        return paths

    def _path_of(self, task_id: str) -> str | None:
        if len(task_id) < 4:
            return None
        paths = self._paths()
        if task_id in paths:
            return paths[task_id]
        if not any(tid.startswith(task_id) for tid in paths):  # maybe it has just finished
            paths = self._paths(fresh=True)
        matches = [p for tid, p in paths.items() if tid.startswith(task_id)]
        return matches[0] if len(matches) == 1 else None

    def runs(self, what: Any = None) -> list[StoredRun]:
        """Every stored run (of family ``what``), as :func:`cairn.inspect.results.collect_runs`."""
        return collect_runs(self.store, what)

    # --- pages --------------------------------------------------------------------------
    def overview(self, recent: int = 10) -> dict[str, Any]:
        """Families (runs, complete, failed, bytes, last run), totals, recent builds and the
        tasks whose last attempt failed."""
        families: dict[str, dict[str, Any]] = {}
        runs = self.runs()
        for run in runs:
            entry = families.setdefault(
                run.family,
                {"family": run.family, "name": run.name, "runs": 0, "complete": 0,
                 "failed": 0, "bytes": 0, "last": ""},
            )  # fmt: skip
            entry["runs"] += 1
            entry[run.state] += 1
            if run.record is not None:
                entry["bytes"] += sum(
                    int(o.get("size", 0) or 0) for o in run.record.outputs.values()
                )
                entry["last"] = max(entry["last"], str(run.record.get("end", "")))
            elif run.failure is not None:
                entry["last"] = max(entry["last"], run.failure.failed_at)
        failures = [
            {
                "task_id": r.task_id,
                "family": r.family,
                "name": r.name,
                "label": r.failure.label,
                "summary": r.failure.summary,
                "failed_at": r.failure.failed_at,
            }
            for r in runs
            if r.failure is not None
        ]
        return {
            "workspace": self.store.url,
            "families": sorted(families.values(), key=lambda f: f["family"]),
            "tasks": len(runs),
            "bytes": sum(f["bytes"] for f in families.values()),
            "failures": failures[::-1],
            "builds": [self.build_summary(b) for b in build_ids(self.store)[:recent]],
        }

    def family_runs(self, family: str) -> dict[str, Any]:
        """The results table of ``family``: column names and one row (a dict) per run."""
        runs = self.runs(family)
        rows = run_rows(self.store, runs)
        columns: dict[str, None] = {}
        for row in rows:
            columns.update(dict.fromkeys(row))
        return {"family": family, "columns": list(columns), "rows": _jsonable(rows)}

    def task(self, task_id: str) -> dict[str, Any]:
        """One task's page: its run record (or failure record), log, outputs (with what
        kind of preview each gets), and the tasks upstream and downstream of it.

        Raises:
            OutputNotFoundError: when the workspace holds no run of ``task_id``.
        """
        path = self._path_of(task_id)
        record = self._record(path) if path is not None else None
        failure = None
        if record is None:
            fpath = next(
                (p for p in failures_in(self.store) if (id_in_name(p) or "").startswith(task_id)),
                None,
            )
            failure = read_failure(self.store, fpath) if fpath is not None else None
            if failure is None:
                raise OutputNotFoundError(
                    f"the workspace {self.store.url} holds no run of task {task_id!r}; "
                    "'cairn ls' lists the ids it holds"
                )
        if record is not None and path is not None:
            data = record.to_dict()
            tid = str(data.get("task_id") or record_id(path))
            code = data.get("code") or {}
            if isinstance(code, dict) and code.get("fingerprint") and "components" not in code:
                components = read_manifest(self.store, str(code["fingerprint"]))
                if components:
                    data["code"] = {**code, "components": components}
            failed_too = read_failure(self.store, failure_path(path))
            out: dict[str, Any] = {
                "task_id": tid,
                "state": "complete",
                "family": data.get("family", ""),
                "name": str(data.get("family", "")).rpartition(".")[2],
                "record_path": path,
                "record": data,
                "duration": format_seconds(data.get("duration_s")),
                "outputs": [
                    self._output_entry(tid, key, entry) for key, entry in record.outputs.items()
                ],
                "failure": failed_too.to_json() if failed_too is not None else None,
            }
            upstream = [str(d) for d in data.get("dependencies") or []]
        else:
            assert failure is not None  # for the type checker: checked above
            tid = failure.task_id
            out = {
                "task_id": tid,
                "state": "failed",
                "family": failure.family,
                "name": failure.family.rpartition(".")[2],
                "record_path": failure.path,
                "record": None,
                "duration": format_seconds(failure.duration_s),
                "outputs": [],
                "failure": failure.to_json(),
            }
            upstream = []
        out["upstream"] = [self._brief(d) for d in upstream]
        out["downstream"] = self._downstream(tid)
        return out

    def _brief(self, task_id: str) -> dict[str, Any]:
        path = self._path_of(task_id)
        record = self._record(path) if path is not None else None
        family = str(record.get("family", "")) if record is not None else ""
        return {
            "task_id": task_id,
            "name": family.rpartition(".")[2] or task_id[:8],
            "state": "complete" if record is not None else "missing",
        }

    def _downstream(self, task_id: str) -> list[dict[str, Any]]:
        out = []
        for path in self._paths().values():
            record = self._record(path)
            if record is not None and task_id in (record.get("dependencies") or ()):
                family = str(record.get("family", ""))
                out.append(
                    {
                        "task_id": str(record.get("task_id") or record_id(path)),
                        "name": family.rpartition(".")[2],
                        "state": "complete",
                    }
                )
        return out

    def _output_entry(self, task_id: str, key: str, entry: dict[str, Any]) -> dict[str, Any]:
        path = str(entry.get("path", ""))
        ext = "." + path.rpartition(".")[2].lower() if "." in path else ""
        kind = "image" if ext in _IMAGES else "unsafe" if ext in _UNSAFE else "load"
        return {
            "key": key,
            "path": path,
            "size": entry.get("size"),
            "type": entry.get("type"),
            "preview": kind,
            "url": f"/api/output/{task_id}/{key or '_'}",
        }

    def output_bytes(self, task_id: str, key: str) -> tuple[bytes, str]:
        """The stored bytes of output ``key`` (``_``: the single one) and a media type.

        Raises:
            OutputNotFoundError: when there is no such task or output.
        """
        _, entry = self._entry(task_id, key)
        path = str(entry["path"])
        ext = "." + path.rpartition(".")[2].lower()
        with self.store.open_read(path) as file:
            data = file.read()
        kind = _IMAGES.get(ext) or (
            "text/plain; charset=utf-8" if ext in _TEXT else "application/octet-stream"
        )
        return data, kind

    def _entry(self, task_id: str, key: str) -> tuple[RunRecord, dict[str, Any]]:
        path = self._path_of(task_id)
        record = self._record(path) if path is not None else None
        name = "" if key == "_" else key
        if record is None or name not in record.outputs:
            raise OutputNotFoundError(f"task {task_id!r} has no stored output {key!r}")
        return record, record.outputs[name]

    def preview(self, task_id: str, key: str) -> dict[str, Any]:
        """What output ``key`` of ``task_id`` holds, for a page: a frame's first rows and
        column types, an array's shape, text, or the type and ``repr`` of anything else.

        Raises:
            OutputNotFoundError: when there is no such task or output.
            CairnError: when the output cannot be read (corrupt, too large).
        """
        record, entry = self._entry(task_id, key)
        size = int(entry.get("size") or 0)
        if size > PREVIEW_LIMIT:
            raise CairnError(f"the output is {size} bytes, too large to preview here")
        value = load_stored_output(self.store, record, "" if key == "_" else key)
        return _preview_of(value)

    def diff(self, a: str, b: str) -> dict[str, Any]:
        """Two runs side by side: parameters (flattened), code, inputs and metrics; each row
        ``[name, value in a, value in b, differs]``.

        Raises:
            OutputNotFoundError: when either has no run in the workspace.
        """
        left, right = self.task(a), self.task(b)
        row_a, row_b = self._flat(left), self._flat(right)

        def rows(section: str) -> list[list[Any]]:
            keys = list(dict.fromkeys([*row_a[section], *row_b[section]]))
            return [
                [k, row_a[section].get(k), row_b[section].get(k),
                 _same(row_a[section].get(k), row_b[section].get(k)) is False]
                for k in keys
            ]  # fmt: skip

        return {
            "a": {"task_id": left["task_id"], "name": left["name"], "state": left["state"]},
            "b": {"task_id": right["task_id"], "name": right["name"], "state": right["state"]},
            "sections": {s: rows(s) for s in ("parameters", "metrics", "inputs", "code", "run")},
        }

    def _flat(self, page: dict[str, Any]) -> dict[str, dict[str, Any]]:
        record = page["record"] or {}
        failure = page["failure"] or {}
        run = StoredRun(page["task_id"], page["family"], page["state"], page["record_path"],
                        record=RunRecord.from_dict(record) if record else None)  # fmt: skip
        params = dict(record.get("params") or failure.get("params") or {})
        row = run_rows(self.store, [run])[0] if record else {}
        flat = {
            k: v
            for k, v in row.items()
            if k not in ("task_id", "family", "task", "state", "start", "duration_s",
                         "output_bytes", "error", "record_path")
            and k not in (record.get("metrics") or {})
        }  # fmt: skip
        if not record:
            flat = {k: json.dumps(v, default=str) if isinstance(v, dict | list) else v
                    for k, v in params.items()}  # fmt: skip
        code = record.get("code") or {}
        components = code.get("components") or {}
        env = record.get("environment") or {}
        return {
            "parameters": flat,
            "metrics": dict(record.get("metrics") or {}),
            "inputs": {
                **{f"requires {i}": d for i, d in enumerate(record.get("dependencies") or [])},
                **{f"file {k}": v for k, v in (record.get("files") or {}).items()},
            },
            "code": {"fingerprint": code.get("fingerprint"), **components},
            "run": {
                "duration": page["duration"],
                "start": record.get("start") or failure.get("failed_at"),
                "python": env.get("python"),
                "host": env.get("host"),
                "error": failure.get("message") and f"{failure.get('error')}: {failure['message']}",
                **{f"package {k}": v for k, v in (env.get("packages") or {}).items()},
            },
        }

    # --- graphs -------------------------------------------------------------------------
    def build_summary(self, build_id: str) -> dict[str, Any]:
        """A build's id, start, size and counts of each state so far."""
        plan = read_build_plan(self.store, build_id) or {}
        nodes, finished = apply_events(
            [dict(n) for n in plan.get("nodes") or []], read_build_events(self.store, build_id)
        )
        counts: dict[str, int] = {}
        for node in nodes:
            counts[node["state"]] = counts.get(node["state"], 0) + 1
        roots = set(plan.get("roots") or [])
        return {
            "build": build_id,
            "started": plan.get("started"),
            "tasks": len(nodes),
            "counts": counts,
            "finished": finished,
            "roots": [n["name"] for n in nodes if n["id"] in roots][:5],
        }

    def build_graph(self, build_id: str) -> dict[str, Any]:
        """A build's graph: the SVG, the nodes with their states so far, how many events
        are applied (where the live stream starts) and whether it has finished.

        Raises:
            OutputNotFoundError: when there is no such build.
        """
        if build_id == "latest":
            ids = build_ids(self.store)
            if not ids:
                raise OutputNotFoundError(
                    f"no build is logged in {self.store.url} yet; run a build "
                    "(cairn run ..., or cairn.build(...)) and it appears here"
                )
            build_id = ids[0]
        plan = read_build_plan(self.store, build_id)
        if plan is None:
            raise OutputNotFoundError(f"no build {build_id!r} is logged in {self.store.url}")
        events = read_build_events(self.store, build_id)
        nodes, finished = apply_events([dict(n) for n in plan.get("nodes") or []], events)
        return {
            "build": build_id,
            "started": plan.get("started"),
            "svg": graph_svg(nodes),
            "nodes": _graph_nodes(nodes),
            "events": len(events),
            "finished": finished,
        }

    def task_graph(self, task_id: str) -> dict[str, Any]:
        """The stored graph of ``task_id``: it and every task upstream of it that the
        workspace holds a run of (found from the records, without running anything).

        Raises:
            OutputNotFoundError: when the workspace holds no run of ``task_id``.
        """
        root = self.task(task_id)
        order: list[dict[str, Any]] = []
        seen: set[str] = set()
        stack: list[tuple[str, bool]] = [(root["task_id"], False)]
        while stack:  # iterative depth-first: dependencies before dependents
            tid, expanded = stack.pop()
            if expanded:
                order.append(self._node(tid))
                continue
            if tid in seen:
                continue
            seen.add(tid)
            stack.append((tid, True))
            path = self._path_of(tid)
            record = self._record(path) if path is not None else None
            deps = [str(d) for d in (record.get("dependencies") or [])] if record else []
            stack.extend((d, False) for d in reversed(deps) if d not in seen)
        return {"root": root["task_id"], "svg": graph_svg(order), "nodes": _graph_nodes(order)}

    def _node(self, task_id: str) -> dict[str, Any]:
        path = self._path_of(task_id)
        record = self._record(path) if path is not None else None
        if record is None:
            return {"id": task_id, "name": task_id[:8], "label": task_id, "state": "missing",
                    "dependencies": [], "params": {}}  # fmt: skip
        family = str(record.get("family", ""))
        return {
            "id": task_id,
            "name": family.rpartition(".")[2],
            "label": family,
            "family": family,
            "state": "complete",
            "dependencies": [str(d) for d in record.get("dependencies") or []],
            "params": record.get("params") or {},
            "duration_s": record.get("duration_s"),
            "metrics": record.metrics,
        }


def _graph_nodes(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    details = node_details(nodes)
    keep = ("id", "name", "label", "family", "state", "reason", "duration_s", "error")
    return [{**{k: n.get(k) for k in keep}, "detail": details.get(n["id"], "")} for n in nodes]


def _same(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def _jsonable(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = json.loads(json.dumps(rows, default=str))
    return out


def _preview_of(value: Any) -> dict[str, Any]:
    """A JSON-ready look at a loaded output."""
    kind = type(value).__module__.partition(".")[0]
    if kind == "pandas" and hasattr(value, "dtypes") and hasattr(value, "head"):
        head = value.head(20)
        return {
            "kind": "frame",
            "shape": list(value.shape),
            "columns": [str(c) for c in head.columns],
            "dtypes": [str(t) for t in value.dtypes],
            "rows": json.loads(
                head.to_json(orient="values", date_format="iso", default_handler=str)
            ),
        }
    if kind == "polars" and hasattr(value, "schema") and hasattr(value, "head"):
        if hasattr(value, "collect"):
            value = value.head(20).collect()
        head = value.head(20)
        return {
            "kind": "frame",
            "shape": list(value.shape),
            "columns": list(head.columns),
            "dtypes": [str(t) for t in head.dtypes],
            "rows": json.loads(json.dumps(head.rows(), default=str)),
        }
    if kind == "numpy" and hasattr(value, "shape"):
        return {
            "kind": "array",
            "shape": list(value.shape),
            "dtype": str(value.dtype),
            "text": repr(value)[:4000],
        }
    if isinstance(value, str):
        return {"kind": "text", "text": value[:20000], "length": len(value)}
    if isinstance(value, bytes):
        return {"kind": "text", "text": value[:4000].decode(errors="replace"), "length": len(value)}
    return {"kind": "object", "type": f"{type(value).__module__}.{type(value).__qualname__}",
            "text": repr(value)[:4000]}  # fmt: skip
