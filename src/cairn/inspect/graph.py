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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cairn._errors import CairnError, MissingExtraError
from cairn._render import STATE_COLOURS
from cairn._settings import ConfigArg
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

NODE_W, NODE_H, GAP_X, GAP_Y, MARGIN = 200, 46, 50, 18, 20


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
    def layout(self) -> dict[str, tuple[float, float]]:
        """The top-left corner of each task's box: dependencies left of their dependents."""
        layer: dict[str, int] = {}
        for node in self.nodes:  # dependencies come first
            layer[node.task_id] = 1 + max((layer[d] for d in node.dependencies), default=-1)
        layers: list[list[str]] = [[] for _ in range(max(layer.values(), default=-1) + 1)]
        for node in self.nodes:
            layers[layer[node.task_id]].append(node.task_id)
        dependents: dict[str, list[str]] = {}
        for dep, tid in self.edges:
            dependents.setdefault(dep, []).append(tid)
        position = {tid: float(i) for column in layers for i, tid in enumerate(column)}

        def sweep(columns: list[list[str]], neighbours: Any) -> None:
            for column in columns:

                def centre(tid: str) -> float:
                    near = [position[n] for n in neighbours(tid)]
                    return sum(near) / len(near) if near else position[tid]

                column.sort(key=centre)
                for i, tid in enumerate(column):
                    position[tid] = float(i)

        for _ in range(4):  # barycentre sweeps: fewer crossings
            sweep(layers[1:], lambda t: self.by_id[t].dependencies)
            sweep(list(reversed(layers[:-1])), lambda t: dependents.get(t, ()))
        tallest = max((len(c) for c in layers), default=0)
        out: dict[str, tuple[float, float]] = {}
        for index, column in enumerate(layers):
            offset = (tallest - len(column)) * (NODE_H + GAP_Y) / 2
            for i, tid in enumerate(column):
                out[tid] = (
                    MARGIN + index * (NODE_W + GAP_X),
                    MARGIN + offset + i * (NODE_H + GAP_Y),
                )
        return out

    def to_svg_inline(self) -> str:
        """The graph as inline SVG (no Graphviz needed); nodes carry ``data-task-id``."""
        where = self.layout()
        width = max((x for x, _ in where.values()), default=0) + NODE_W + MARGIN
        height = max((y for _, y in where.values()), default=0) + NODE_H + MARGIN
        out = [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="sans-serif" font-size="12">',
            '<defs><marker id="cairn-arrow" viewBox="0 0 10 10" refX="10" refY="5" '
            'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
            '<path d="M 0 0 L 10 5 L 0 10 z" fill="#777"/></marker></defs>',
        ]
        for dep, tid in self.edges:
            (x1, y1), (x2, y2) = where[dep], where[tid]
            x1, y1, y2 = x1 + NODE_W, y1 + NODE_H / 2, y2 + NODE_H / 2
            bend = (x2 - x1) / 2
            out.append(
                f'<path class="edge" d="M {x1:.1f} {y1:.1f} C {x1 + bend:.1f} {y1:.1f} '
                f'{x2 - bend:.1f} {y2:.1f} {x2:.1f} {y2:.1f}" fill="none" stroke="#999" '
                'marker-end="url(#cairn-arrow)"/>'
            )
        chars = NODE_W // 7
        for node in self.nodes:
            x, y = where[node.task_id]
            colour = STATE_COLOURS.get(node.state, "#ffffff")
            out.append(
                f'<g class="node" data-task-id="{node.task_id}" '
                f'data-state="{html.escape(node.state)}" tabindex="0" style="cursor:pointer">'
                f"<title>{html.escape(node.label)} ({html.escape(node.state)})</title>"
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{NODE_W}" height="{NODE_H}" rx="6" '
                f'fill="{colour}" stroke="#555"/>'
                f'<text x="{x + 8:.1f}" y="{y + 18:.1f}" font-weight="bold">'
                f"{html.escape(_shorten(node.name, chars))}</text>"
                f'<text x="{x + 8:.1f}" y="{y + 35:.1f}" fill="#333" font-size="11">'
                f"{html.escape(_shorten(node.params_text, chars + 4))}</text></g>"
            )
        out.append("</svg>")
        return "".join(out)

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
        """One self-contained HTML page: the graph, states, and each record on click."""
        data = {
            "workspace": self.workspace,
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
            svg=self.to_svg_inline(),
            data=payload,
            script=_SCRIPT,
        )


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 1)] + "…"


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
            )
        )
    return Graph(nodes, found.workspace)


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
 content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>{title}</title>
<style>
body {{ margin: 0; font-family: sans-serif; font-size: 13px; color: #222; }}
header {{ padding: 8px 12px; border-bottom: 1px solid #ccc; background: #fafafa; }}
header h1 {{ font-size: 16px; margin: 0 0 4px 0; }}
.state {{ padding: 1px 6px; margin-right: 6px; border: 1px solid #999; border-radius: 3px; }}
main {{ display: flex; height: calc(100vh - 70px); }}
#graph {{ flex: 1; overflow: auto; position: relative; }}
#graph.fit svg {{ max-width: 100%; height: auto; }}
#zoom {{ position: sticky; top: 4px; left: 4px; float: left; font-size: 12px; }}
#details {{ width: 380px; overflow: auto; border-left: 1px solid #ccc; padding: 8px 12px; }}
#details h2 {{ font-size: 14px; margin: 4px 0; word-break: break-all; }}
#details h3 {{ font-size: 13px; margin: 10px 0 2px 0; }}
#details table {{ border-collapse: collapse; width: 100%; }}
#details td {{ border-top: 1px solid #eee; padding: 2px 4px; vertical-align: top;
  word-break: break-all; }}
#details td:first-child {{ width: 90px; white-space: nowrap; word-break: normal; color: #555; }}
#details pre {{ background: #f5f5f5; padding: 6px; white-space: pre-wrap; font-size: 11px; }}
#details a {{ color: #0645ad; cursor: pointer; }}
.node.selected rect {{ stroke: #000; stroke-width: 3px; }}
.node:focus {{ outline: none; }}
.node:focus rect {{ stroke-width: 2px; }}
</style>
</head>
<body>
<header><h1>{title}</h1><div>{summary} &middot; workspace {workspace}</div>
<div style="margin-top:4px">{legend}</div></header>
<main>
<div id="graph" class="fit"><button id="zoom" type="button">actual size</button>{svg}</div>
<aside id="details"><p>Click a task to see its state and run record.</p></aside>
</main>
<script type="application/json" id="cairn-data">{data}</script>
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
  var details = document.getElementById("details");

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
  function show(id) {
    var node = byId[id];
    if (!node) { return; }
    document.querySelectorAll(".node.selected").forEach(function (g) {
      g.classList.remove("selected");
    });
    var g = document.querySelector('.node[data-task-id="' + id + '"]');
    if (g) { g.classList.add("selected"); }
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
    var code = r.code || {};
    table("code", [["fingerprint", code.fingerprint]].concat(
      code.code_version ? [["code_version", code.code_version]] : []));
    var outputs = r.outputs || {};
    table("outputs", Object.keys(outputs).map(function (k) {
      return [k || "(output)", outputs[k].path + " (" + outputs[k].size + " bytes)"];
    }));
    table("timing", [["started", r.start], ["finished", r.end],
      ["duration", r.duration_s + " s"], ["seed", r.seed]]);
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
  document.querySelectorAll("#graph .node").forEach(function (g) {
    g.addEventListener("click", function () { show(g.getAttribute("data-task-id")); });
    g.addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") { show(g.getAttribute("data-task-id")); }
    });
  });
  var zoom = document.getElementById("zoom");
  zoom.addEventListener("click", function () {
    var fit = document.getElementById("graph").classList.toggle("fit");
    zoom.textContent = fit ? "actual size" : "fit to window";
  });
  window.cairnShow = show;
  if (location.hash.length > 1) { show(location.hash.slice(1)); }
})();
"""
