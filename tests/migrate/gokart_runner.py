"""Runs a gokart project with gokart itself, in a subprocess: its graph, or its build.

    python gokart_runner.py graph module:Task [CONFIG.ini]   # {"nodes": [...], "edges": [...]}
    python gokart_runner.py build module:Task [CONFIG.ini]   # the root's output, as JSON

Run from the project's folder. gokart 1.12 removed ``TaskOnKart.load_data_frame``, which
the gokart code bases being migrated still call (it was gokart's API until then); this
runner puts gokart's former implementation back before importing the project, so the
project runs on gokart exactly as it did.
"""

from __future__ import annotations

import importlib
import json
import sys
from typing import Any

import gokart
import luigi
import pandas as pd


def _load_data_frame(self, target=None, required_columns=None, drop_columns=False):
    """gokart's ``load_data_frame`` as it was before 1.12 (load, concatenate, check)."""

    def frames(data: Any) -> list[Any]:
        if isinstance(data, pd.DataFrame):
            return [data]
        if isinstance(data, dict):
            return [f for value in data.values() for f in frames(value)]
        return [f for value in data for f in frames(value)]

    loaded = self.load(target)
    if isinstance(loaded, dict) and len(loaded) == 1:
        loaded = next(iter(loaded.values()))
    data = pd.concat(frames(loaded))
    if data.empty and required_columns:
        return pd.DataFrame(columns=list(required_columns))
    assert required_columns is None or set(required_columns) <= set(data.columns), (
        f"missing columns: {set(required_columns) - set(data.columns)}"
    )
    if drop_columns:
        data = data[list(required_columns)]
    return data


if not hasattr(gokart.TaskOnKart, "load_data_frame"):
    gokart.TaskOnKart.load_data_frame = _load_data_frame


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, pd.DataFrame):
        return value.to_dict(orient="list")
    return value


def main(command: str, spec: str, *configs: str) -> None:
    sys.path.insert(0, ".")
    for config in configs:
        luigi.configuration.LuigiConfigParser.add_config_path(config)
    module, _, name = spec.partition(":")
    root = getattr(importlib.import_module(module), name)()
    if command == "graph":
        nodes, edges, seen, stack = [], [], set(), [root]
        while stack:
            task = stack.pop()
            if task.task_id in seen:
                continue
            seen.add(task.task_id)
            nodes.append(type(task).__name__)
            for dep in luigi.task.flatten(task.requires()):
                edges.append([type(dep).__name__, type(task).__name__])
                stack.append(dep)
        print(json.dumps({"nodes": sorted(nodes), "edges": sorted(edges)}))
    else:
        print(json.dumps(_jsonable(gokart.build(root))))


if __name__ == "__main__":
    main(*sys.argv[1:])
