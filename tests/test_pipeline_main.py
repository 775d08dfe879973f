"""A function pipeline keeps its task ids when its module is started as ``python -m``."""

from __future__ import annotations

import json
from pathlib import Path

from _processes import run_python

FLOW = """
import json
import sys

import cairn


def load_raw(path):
    return [1, 2, 3]


def total(raw):
    return sum(raw)


pipe = cairn.Pipeline(
    [
        cairn.node(load_raw, inputs=["config.path"], outputs="raw"),
        cairn.node(total, inputs=["raw"], outputs="total"),
    ],
    config={"path": "a.csv"},
)


def ids():
    return sorted(t.task_id for t in pipe.tasks())


if __name__ == "__main__":
    print(json.dumps(ids()))
"""


def _python(project: Path, *args: str) -> str:
    result = run_python(*args, cwd=project, env={"PYTHONPATH": str(project)}, check=True)
    return result.stdout.strip().splitlines()[-1]


def test_python_dash_m_gives_the_ids_the_imported_module_has(tmp_path):
    package = tmp_path / "mlpipe"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "flow.py").write_text(FLOW)
    as_main = json.loads(_python(tmp_path, "-m", "mlpipe.flow"))
    imported = json.loads(
        _python(tmp_path, "-c", "import json, mlpipe.flow as f; print(json.dumps(f.ids()))")
    )
    assert len(as_main) == 2
    assert as_main == imported
    by_path = json.loads(_python(tmp_path, str(package / "flow.py")))
    assert by_path != imported  # a script by path has no module name: it stays __main__
