"""Pictures of a task graph, coloured by state: Graphviz dot, svg and png (through
Graphviz's ``dot`` program), Mermaid, and one self-contained HTML page.

The HTML page needs no network and no Graphviz: the layout is computed here (layers by
longest path from the sources, orders improved by barycentre sweeps) and drawn as inline
SVG; a few lines of script show a task's run record when it is clicked. A content security
policy in the page forbids every request, so it stays self-contained.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cairn._errors import CairnError, MissingExtraError
from cairn._render import STATE_COLOURS
from cairn._settings import ConfigArg
from cairn.inspect.layout import (
    COLOURS,
    GAP_X,
    GAP_Y,
    MARGIN,
    NODE_H,
    NODE_W,
    asset,
    graph_svg,
    layered,
    shorten,
)
from cairn.inspect.status import status
from cairn.model.labels import SiblingLabels
from cairn.running.build import open_workspace
from cairn.storage.records import read_record_or_none

__all__ = ["FORMATS", "Graph", "GraphNode", "graph"]

FORMATS = ("dot", "svg", "png", "mermaid", "html")
_SUFFIXES = {
    ".dot": "dot",
    ".gv": "dot",
    ".svg": "svg",
    ".png": "png",
    ".mmd": "mermaid",
    ".mermaid": "mermaid",
    ".html": "html",
    ".htm": "html",
}
DOT_HINT = (
    "Graphviz's 'dot' program is not installed (not on PATH). Install Graphviz: "
    "'apt-get install graphviz' (Debian, Ubuntu), 'brew install graphviz' (macOS) or "
    "'conda install graphviz'; or use the html, mermaid or dot format, which need nothing else"
)


@dataclass(frozen=True)
class GraphNode:
    """One task in a picture."""

    task_id: str
    name: str
    label: str
    family: str
    state: str
    reason: str | None
    dependencies: tuple[str, ...]
    record: dict[str, Any] | None
    #: What the picture writes under the name: the parameters that tell the task from its
    #: siblings of the same family (``lr=0.05``); None: every parameter, from ``label``.
    short: str | None = None
    #: the parameters as a run record stores them (what tells tasks of one class apart)
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def params_text(self) -> str:
        """The label without the class name: ``lr=0.05, data=Load#1234abcd``; for a task
        with siblings of its family, only the parameters that differ among them."""
        text = self.label if self.short is None else self.short
        inner = text[len(self.name) :] if text.startswith(self.name) else text
        return inner[1:-1] if inner.startswith("(") and inner.endswith(")") else inner


class Graph:
    """A task graph with each task's state and run record; save it in any of
    :data:`FORMATS`, or display it in Jupyter."""

    def __init__(self, nodes: list[GraphNode], workspace: str) -> None:
        self.nodes = nodes  # dependencies first
        self.workspace = workspace
        self.by_id = {n.task_id: n for n in nodes}

    @property
    def edges(self) -> list[tuple[str, str]]:
        """``(dependency id, task id)`` pairs."""
        return [(dep, n.task_id) for n in self.nodes for dep in n.dependencies]

    def __len__(self) -> int:
        return len(self.nodes)

    def counts(self) -> dict[str, int]:
        """How many tasks are in each state."""
        out: dict[str, int] = {}
        for node in self.nodes:
            out[node.state] = out.get(node.state, 0) + 1
        return out

    def summary(self) -> str:
        """``'3 task(s), 2 edge(s): 2 complete, 1 will run'``."""
        parts = ", ".join(f"{n} {state}" for state, n in self.counts().items())
        return f"{len(self.nodes)} task(s), {len(self.edges)} edge(s): {parts}"

    def __str__(self) -> str:
        return f"{self.summary()}; save it with .save('graph.html') (or .svg, .png, .dot, .mmd)"

    def __repr__(self) -> str:
        return f"<Graph: {self.summary()}>"

    # --- formats ----------------------------------------------------------------------
    def to_dot(self) -> str:
        """Graphviz dot source, coloured by state."""
        lines = [
            "digraph cairn {",
            "  rankdir=LR;",
            '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10];',
        ]
        for node in self.nodes:
            label = f"{node.name}\n{_shorten(node.params_text, 60)}\n{node.state}"
            lines.append(
                f"  {_dot_str(node.task_id)} [label={_dot_str(label)}, "
                f"fillcolor={_dot_str(STATE_COLOURS.get(node.state, '#ffffff'))}, "
                f"tooltip={_dot_str(node.label)}];"
            )
        lines.extend(f"  {_dot_str(dep)} -> {_dot_str(tid)};" for dep, tid in self.edges)
        lines.append("}")
        return "\n".join(lines) + "\n"

    def to_mermaid(self) -> str:
        """A Mermaid flowchart, coloured by state."""
        ids = {n.task_id: f"t{i}" for i, n in enumerate(self.nodes)}
        lines = ["flowchart LR"]
        for node in self.nodes:
            params = _shorten(node.params_text, 60)
            label = f"{node.name}<br/>{params}" if params else node.name
            lines.append(f'  {ids[node.task_id]}["{_mermaid_text(label)}"]')
        lines.extend(f"  {ids[dep]} --> {ids[tid]}" for dep, tid in self.edges)
        for node in self.nodes:
            lines.append(f"  class {ids[node.task_id]} {_css_class(node.state)}")
        for state, colour in STATE_COLOURS.items():
            lines.append(f"  classDef {_css_class(state)} fill:{colour},stroke:#555")
        return "\n".join(lines) + "\n"

    def render(self, format: str) -> bytes:
        """The picture as bytes in ``format`` (one of :data:`FORMATS`).

        Raises:
            MissingExtraError: for svg or png when Graphviz's ``dot`` is not installed.
        """
        if format not in FORMATS:
            raise CairnError(f"unknown graph format {format!r}; use one of {', '.join(FORMATS)}")
        if format == "dot":
            return self.to_dot().encode()
        if format == "mermaid":
            return self.to_mermaid().encode()
        if format == "html":
            return self.to_html().encode()
        import shutil
        import subprocess

        dot = shutil.which("dot")
        if dot is None:
            raise MissingExtraError(f"drawing {format} needs Graphviz: {DOT_HINT}")
        done = subprocess.run(
            [dot, f"-T{format}"], input=self.to_dot().encode(), capture_output=True, check=False
        )
        if done.returncode != 0:
            message = done.stderr.decode(errors="replace").strip()
            raise CairnError(f"Graphviz's dot failed drawing {format}: {message}")
        return done.stdout

    def save(self, path: str | Path, format: str | None = None) -> Path:
        """Write the picture to ``path``; the format comes from its suffix unless given."""
        target = Path(path)
        if format is None:
            format = _SUFFIXES.get(target.suffix.lower())
            if format is None:
                raise CairnError(
                    f"cannot tell the picture format of {str(target)!r} from its suffix; "
                    f"give format= one of {', '.join(FORMATS)}"
                )
        data = self.render(format)
        target.write_bytes(data)
        return target

    # --- drawing ----------------------------------------------------------------------
    def _drawn(self) -> list[dict[str, Any]]:
        """The nodes as :mod:`cairn.inspect.layout` draws them."""
        return [
            {
                "id": n.task_id,
                "name": n.name,
                "label": n.label,
                "state": n.state,
                "dependencies": n.dependencies,
                "params": n.params,
                "duration_s": (n.record or {}).get("duration_s"),
            }
            for n in self.nodes
        ]

    def layout(self) -> dict[str, tuple[float, float]]:
        """The top-left corner of each task's box: dependencies left of their dependents."""
        where = layered(
            [n.task_id for n in self.nodes], {n.task_id: n.dependencies for n in self.nodes}
        )
        return {
            tid: (MARGIN + layer * (NODE_W + GAP_X), MARGIN + row * (NODE_H + GAP_Y))
            for tid, (layer, row) in where.items()
        }

    def to_svg_inline(self) -> str:
        """The graph as inline SVG (no Graphviz needed); nodes carry ``data-task-id``."""
        return graph_svg(self._drawn(), interactive=False)

    def _legend(self) -> str:
        counts = self.counts()
        return " ".join(
            f'<span class="state" style="background:{colour}">{html.escape(state)}: '
            f"{counts.get(state, 0)}</span>"
            for state, colour in STATE_COLOURS.items()
            if counts.get(state) or state in ("complete", "will run")
        )

    def _repr_html_(self) -> str:
        return (
            '<div style="font-family:sans-serif;font-size:13px">'
            f"<style>.state{{padding:0 6px;margin-right:6px;border:1px solid #999}}</style>"
            f"<div>{self._legend()}</div>"
            f'<div style="overflow:auto;max-height:600px">{self.to_svg_inline()}</div></div>'
        )

    def to_html(self, title: str = "cairn graph") -> str:
        """One self-contained HTML page: the graph (filling the window, with pan, zoom and
        fit), states, and each record on click."""
        data = {
            "workspace": self.workspace,
            "colours": COLOURS,
            "nodes": [
                {
                    "id": n.task_id,
                    "name": n.name,
                    "label": n.label,
                    "family": n.family,
                    "state": n.state,
                    "reason": n.reason,
                    "dependencies": list(n.dependencies),
                    "record": n.record,
                }
                for n in self.nodes
            ],
        }
        payload = json.dumps(data, default=str).replace("<", "\\u003c")
        return _PAGE.format(
            title=html.escape(title),
            summary=html.escape(self.summary()),
            workspace=html.escape(self.workspace),
            legend=self._legend(),
            svg=graph_svg(self._drawn()),
            data=payload,
            graph_css=asset("graph.css"),
            graph_js=asset("graph.js"),
            script=_SCRIPT,
        )


def _shorten(text: str, limit: int) -> str:
    return shorten(text, limit)


def _dot_str(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _mermaid_text(text: str) -> str:
    keep = text.replace("<br/>", "\0")
    escaped = keep.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
    return escaped.replace("\0", "<br/>")


def _css_class(state: str) -> str:
    return state.replace(" ", "_")


def graph(
    tasks: Any,
    *,
    workspace: str | None = None,
    lock: Any = None,
    storage_options: dict[str, Any] | None = None,
    config: ConfigArg = None,
) -> Graph:
    """The graph of ``tasks`` with each task's state (as :func:`cairn.status` finds it)
    and the run record of every complete task."""
    found = status(
        tasks, workspace=workspace, lock=lock, storage_options=storage_options, config=config
    )
    store = open_workspace(workspace, storage_options, config)
    labels = SiblingLabels(entry.task for entry in found)
    nodes = []
    for entry in found:
        task = entry.task
        kind_name = type(task)._kind.label(task)
        found_record = (
            read_record_or_none(store, task.record_path()) if entry.state == "complete" else None
        )
        record = found_record.to_dict() if found_record is not None else None
        nodes.append(
            GraphNode(
                task_id=entry.task_id,
                name=kind_name or type(task).__name__,
                label=task.label(),
                short=labels.label(task)
                if kind_name is None and labels.has_siblings(task)
                else None,
                family=type(task).family,
                state=entry.state,
                reason=entry.holder or entry.reason,
                dependencies=entry.dependencies,
                record=record,
                params=dict(task._serialized()),
            )
        )
    return Graph(nodes, found.workspace)


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy"
 content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>{title}</title>
<style>
html, body {{ height: 100%; }}
body {{ margin: 0; font-family: sans-serif; font-size: 14px; color: #222; display: flex;
  flex-direction: column; }}
header {{ padding: 6px 12px; border-bottom: 1px solid #ccc; background: #fafafa; }}
header h1 {{ font-size: 16px; margin: 0 0 2px 0; display: inline; }}
header .summary {{ margin-left: 8px; color: #444; }}
.state {{ padding: 1px 6px; margin-right: 6px; border: 1px solid #999; border-radius: 3px; }}
main {{ flex: 1; position: relative; min-height: 0; }}
#graph {{ position: absolute; inset: 0; }}
#details {{ position: absolute; top: 0; right: 0; bottom: 0; width: 380px; max-width: 90%;
  overflow: auto; border-left: 1px solid #ccc; padding: 8px 12px; background: #fff;
  box-shadow: -4px 0 12px rgba(0, 0, 0, 0.12); box-sizing: border-box; }}
#details[hidden] {{ display: none; }}
#details h2 {{ font-size: 15px; margin: 4px 28px 4px 0; word-break: break-all; }}
#details h3 {{ font-size: 14px; margin: 10px 0 2px 0; }}
#details table {{ border-collapse: collapse; width: 100%; }}
#details td {{ border-top: 1px solid #eee; padding: 2px 4px; vertical-align: top;
  word-break: break-all; }}
#details td:first-child {{ width: 90px; white-space: nowrap; word-break: normal; color: #555; }}
#details pre {{ background: #f5f5f5; padding: 6px; white-space: pre-wrap; font-size: 12px; }}
#details a {{ color: #0645ad; cursor: pointer; }}
@media (max-width: 1000px) {{ header .hint {{ display: none; }} }}
#close {{ position: absolute; top: 6px; right: 8px; font-size: 14px; }}
{graph_css}
</style>
</head>
<body>
<header><h1>{title}</h1><span class="summary">{summary} &middot; workspace {workspace}
<span class="hint"> &middot; click a task for its run record; drag to pan, wheel to zoom</span>
</span>
<div style="margin-top:4px">{legend}</div></header>
<main>
<div id="graph" class="cairn-pane"><div class="cairn-controls" id="controls"></div>{svg}</div>
<aside id="details" hidden><button id="close" type="button">&times;</button>
<div id="record"></div></aside>
</main>
<script type="application/json" id="cairn-data">{data}</script>
<script>{graph_js}</script>
<script>{script}</script>
</body>
</html>
"""

_SCRIPT = """
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("cairn-data").textContent);
  var byId = {};
  data.nodes.forEach(function (n) { byId[n.id] = n; });
  var aside = document.getElementById("details");
  var details = document.getElementById("record");
  var graph = new window.CairnGraph(document.querySelector("#graph svg"), {
    colours: data.colours, onSelect: show
  });
  graph.controls(document.getElementById("controls"));
  document.getElementById("close").addEventListener("click", function () {
    aside.hidden = true;
    graph.select(null);
  });

  function add(parent, tag, text) {
    var el = document.createElement(tag);
    if (text !== undefined && text !== null) { el.textContent = String(text); }
    parent.appendChild(el);
    return el;
  }
  function table(title, rows) {
    if (!rows.length) { return; }
    add(details, "h3", title);
    var t = add(details, "table");
    rows.forEach(function (row) {
      var tr = add(t, "tr");
      add(tr, "td", row[0]);
      add(tr, "td", row[1]);
    });
  }
  function text(value) {
    return typeof value === "string" ? value : JSON.stringify(value);
  }
  function bytes(n) {
    var units = ["B", "KiB", "MiB", "GiB", "TiB"], i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
    return i ? n.toFixed(1) + " " + units[i] : n + " B";
  }
  function show(id) {
    var node = byId[id];
    if (!node) { return; }
    graph.select(id);
    aside.hidden = false;
    details.replaceChildren();
    add(details, "h2", node.label);
    table("task", [["family", node.family], ["id", node.id], ["state", node.state]]
      .concat(node.reason ? [["reason", node.reason]] : []));
    var needs = add(details, "div");
    node.dependencies.forEach(function (dep) {
      var a = add(needs, "a", "needs " + (byId[dep] ? byId[dep].name : dep) + " #" +
        dep.slice(0, 8));
      a.addEventListener("click", function () { show(dep); });
      add(needs, "br");
    });
    var r = node.record;
    if (!r) {
      add(details, "p", "No run record: this task has not run in this workspace.");
      return;
    }
    table("parameters", Object.keys(r.params || {}).map(function (k) {
      return [k, text(r.params[k])];
    }));
    var metrics = r.metrics || {};
    table("metrics", Object.keys(metrics).map(function (k) { return [k, metrics[k]]; }));
    var code = r.code || {};
    table("code", [["fingerprint", code.fingerprint]].concat(
      code.code_version ? [["code_version", code.code_version]] : []));
    var outputs = r.outputs || {};
    table("outputs", Object.keys(outputs).map(function (k) {
      return [k || "(output)", outputs[k].path + " (" + bytes(outputs[k].size || 0) + ")"];
    }));
    table("timing", [["started", r.start], ["finished", r.end],
      ["duration", window.cairnFormatSeconds(r.duration_s)], ["seed", r.seed]]);
    var env = r.environment || {};
    var packages = env.packages || {};
    table("environment", ["cairn", "python", "platform", "host"].filter(function (k) {
      return env[k];
    }).map(function (k) { return [k, env[k]]; }).concat(Object.keys(packages).length ?
      [["packages", Object.keys(packages).map(function (p) {
        return p + " " + packages[p];
      }).join(", ")]] : []));
    add(details, "h3", "log");
    add(details, "pre", (r.log || []).join("\\n") || "(empty)");
  }
  window.cairnShow = show;
  window.cairnGraph = graph;
  window.cairnReadyMs = performance.now();  // since the page started loading
  if (location.hash.length > 1) { show(location.hash.slice(1)); }
})();
"""
