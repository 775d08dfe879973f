"""The layout and drawing of a task graph, shared by ``Graph`` pictures and ``cairn ui``.

:func:`layered` puts each task in a layer (its longest path from a source) and orders each
layer by barycentre sweeps (fewer crossings); :func:`node_details` finds the text that tells
tasks of one class apart (the parameters in which they differ); :func:`graph_svg` draws the
graph as SVG whose nodes carry their layer and row, so the page's script
(``assets/graph.js``) can place them to fill whatever pane it has, and pan and zoom.
Everything is iterative: a graph 100,000 deep lays out without recursion.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

from cairn._render import STATE_COLOURS, format_seconds
from cairn.model.labels import varying_names

__all__ = [
    "COLOURS",
    "NODE_H",
    "NODE_W",
    "asset",
    "graph_svg",
    "layered",
    "node_details",
    "shorten",
]

#: Box size and gaps of the static drawing (the page's script spreads the boxes further).
NODE_W, NODE_H, GAP_X, GAP_Y, MARGIN = 220, 62, 50, 18, 20
#: Fill colours of every state a node can show, "running" included (live views).
COLOURS = {**STATE_COLOURS, "running": "#8fc1ff", "reused": STATE_COLOURS["complete"]}


def asset(name: str) -> str:
    """The text of ``assets/{name}`` (package data: the graph's script and style)."""
    return (resources.files("cairn.inspect") / "assets" / name).read_text(encoding="utf-8")


def layered(
    ids: Sequence[str], dependencies: Mapping[str, Sequence[str]]
) -> dict[str, tuple[int, float]]:
    """Each task's ``(layer, row)``: dependencies in lower layers, rows centred per layer.

    ``ids`` lists the tasks dependencies first; ``dependencies`` maps an id to the ids it
    needs (ids outside ``ids`` are ignored).
    """
    known = set(ids)
    layer: dict[str, int] = {}
    for tid in ids:  # dependencies come first
        deps = [d for d in dependencies.get(tid, ()) if d in known]
        layer[tid] = 1 + max((layer.get(d, 0) for d in deps), default=-1)
    layers: list[list[str]] = [[] for _ in range(max(layer.values(), default=-1) + 1)]
    for tid in ids:
        layers[layer[tid]].append(tid)
    dependents: dict[str, list[str]] = {}
    for tid in ids:
        for dep in dependencies.get(tid, ()):
            if dep in known:
                dependents.setdefault(dep, []).append(tid)
    position = {tid: float(i) for column in layers for i, tid in enumerate(column)}

    def sweep(columns: list[list[str]], neighbours: Mapping[str, Sequence[str]]) -> None:
        for column in columns:
            keys = {}
            for tid in column:
                near = [position[n] for n in neighbours.get(tid, ()) if n in position]
                keys[tid] = sum(near) / len(near) if near else position[tid]
            column.sort(key=keys.__getitem__)
            for i, tid in enumerate(column):
                position[tid] = float(i)

    upstream = {tid: [d for d in dependencies.get(tid, ()) if d in known] for tid in ids}
    for _ in range(4):
        sweep(layers[1:], upstream)
        sweep(list(reversed(layers[:-1])), dependents)
    tallest = max((len(c) for c in layers), default=0)
    out: dict[str, tuple[int, float]] = {}
    for index, column in enumerate(layers):
        offset = (tallest - len(column)) / 2
        for i, tid in enumerate(column):
            out[tid] = (index, offset + i)
    return out


def _value_text(value: Any) -> str:
    if isinstance(value, dict) and set(value) == {"task", "task_id"}:
        return f"{str(value['task']).rpartition('.')[2]}#{str(value['task_id'])[:6]}"
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return "[" + ", ".join(_value_text(v) for v in value) + "]"
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str)


def _is_ref(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"task", "task_id"}


def _flat(params: Mapping[str, Any], by_id: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """``params`` with each upstream task's own parameters under ``name.param`` (found in
    ``by_id``, the graph's other nodes), the task itself kept under ``name``. A stack, no
    recursion; at most 6 levels deep."""
    out: dict[str, Any] = {}
    stack: list[tuple[str, Any, int]] = [(k, v, 0) for k, v in reversed(list(params.items()))]
    while stack:
        key, value, depth = stack.pop()
        out[key] = value
        if _is_ref(value) and depth < 6:
            inner = by_id.get(str(value["task_id"]))
            if inner:
                stack.extend((f"{key}.{k}", v, depth + 1) for k, v in reversed(list(inner.items())))
    return out


def _short_keys(keys: Sequence[str]) -> dict[str, str]:
    """Each dotted key as its shortest ending that no other key shares: ``features.kind``
    -> ``kind``."""
    out = {}
    for key in keys:
        parts = key.split(".")
        for n in range(1, len(parts) + 1):
            tail = ".".join(parts[-n:])
            if not any(o != key and (o == tail or o.endswith("." + tail)) for o in keys):
                out[key] = tail
                break
        else:
            out[key] = key
    return out


def node_details(nodes: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """For each node (``id``, ``name``, ``params``), the text under its name. For a class
    that appears once: its parameters, plain values first (``min_count=5, data=Load#ab12``).
    For several: what tells them apart, the parameters in which they differ, looking
    through upstream tasks (``lr=0.05, kind=rich`` when their ``features`` tasks differ in
    ``kind``); their ids when nothing does."""
    by_id = {str(n["id"]): dict(n.get("params") or {}) for n in nodes}
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for node in nodes:
        groups.setdefault(str(node["name"]), []).append(node)
    out: dict[str, str] = {}
    for group in groups.values():
        if len(group) == 1:
            only = by_id[str(group[0]["id"])]
            order = sorted(only, key=lambda k: _is_ref(only[k]) or isinstance(only[k], list))
            out[str(group[0]["id"])] = ", ".join(f"{k}={_value_text(only[k])}" for k in order)
            continue
        flats = [_flat(by_id[str(n["id"])], by_id) for n in group]
        differ = varying_names(flats)
        shown = [  # a task is named only when nothing inside it tells the boxes apart
            k for k in differ if not any(o.startswith(k + ".") for o in differ)
        ]
        shown.sort(key=lambda k: (any(_is_ref(f.get(k)) for f in flats), k.count(".")))
        names = _short_keys(shown)
        for node, flat in zip(group, flats, strict=True):
            text = ", ".join(f"{names[k]}={_value_text(flat.get(k))}" for k in shown)
            out[str(node["id"])] = text or f"#{str(node['id'])[:8]}"
    return out


def shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: max(limit - 1, 1)] + "…"


def status_text(state: str, duration: Any) -> str:
    """``complete · 1 min 26 s``: the third line of a node."""
    shown = format_seconds(duration) if isinstance(duration, int | float) else ""
    return f"{state} · {shown}" if shown else state


def graph_svg(nodes: Sequence[Mapping[str, Any]], *, interactive: bool = True) -> str:
    """The graph as SVG: nodes (``id``, ``name``, ``label``, ``state``, ``dependencies``,
    ``params``, optional ``duration_s``) dependencies first.

    Boxes stand where :func:`layered` puts them, left to right; each ``g.node`` carries
    ``data-task-id``, ``data-state``, ``data-layer`` and ``data-row``, each edge
    ``data-from`` and ``data-to``, for the page's script to re-place them.
    """
    ids = [str(n["id"]) for n in nodes]
    deps = {str(n["id"]): [str(d) for d in n.get("dependencies") or ()] for n in nodes}
    where = layered(ids, deps)
    details = node_details(nodes)

    def corner(tid: str) -> tuple[float, float]:
        layer, row = where[tid]
        return MARGIN + layer * (NODE_W + GAP_X), MARGIN + row * (NODE_H + GAP_Y)

    width = max((corner(t)[0] for t in ids), default=0) + NODE_W + MARGIN
    height = max((corner(t)[1] for t in ids), default=0) + NODE_H + MARGIN
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="cairn-graph" width="{width:.0f}" '
        f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
        'font-family="sans-serif" font-size="13">',
        '<defs><marker id="cairn-arrow" viewBox="0 0 10 10" refX="10" refY="5" '
        'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path d="M 0 0 L 10 5 L 0 10 z" fill="#777"/></marker></defs><g class="viewport">',
        '<g class="edges">',
    ]
    for tid in ids:
        x2, y2 = corner(tid)
        for dep in deps[tid]:
            if dep not in where:
                continue
            x1, y1 = corner(dep)
            x1, y1, y2m = x1 + NODE_W, y1 + NODE_H / 2, y2 + NODE_H / 2
            bend = (x2 - x1) / 2
            out.append(
                f'<path class="edge" data-from="{dep}" data-to="{tid}" d="M {x1:.1f} {y1:.1f} '
                f'C {x1 + bend:.1f} {y1:.1f} {x2 - bend:.1f} {y2m:.1f} {x2:.1f} {y2m:.1f}" '
                'fill="none" stroke="#999" marker-end="url(#cairn-arrow)"/>'
            )
    out.append('</g><g class="nodes">')
    chars = NODE_W // 8
    focus = ' tabindex="0"' if interactive else ""
    for node in nodes:
        tid = str(node["id"])
        x, y = corner(tid)
        layer, row = where[tid]
        state = str(node.get("state", ""))
        colour = COLOURS.get(state, "#ffffff")
        name = str(node["name"])
        detail = details.get(tid, "")
        out.append(
            f'<g class="node" data-task-id="{tid}" data-state="{html.escape(state)}" '
            f'data-layer="{layer}" data-row="{row:g}" transform="translate({x:.1f},{y:.1f})"'
            f"{focus}>"
            f"<title>{html.escape(str(node.get('label', name)))} ({html.escape(state)})</title>"
            f'<rect width="{NODE_W}" height="{NODE_H}" rx="6" fill="{colour}" stroke="#555"/>'
            f'<text class="name" x="8" y="19" font-weight="bold" font-size="14" '
            f'data-full="{html.escape(name)}">{html.escape(shorten(name, chars))}</text>'
            f'<text class="detail" x="8" y="37" fill="#222" font-size="12" '
            f'data-full="{html.escape(detail)}">{html.escape(shorten(detail, chars + 6))}</text>'
            f'<text class="status" x="8" y="54" fill="#444" font-size="12">'
            f"{html.escape(status_text(state, node.get('duration_s')))}</text></g>"
        )
    out.append("</g></g></svg>")
    return "".join(out)
