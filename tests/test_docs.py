"""Every ```python block in README.md and docs/*.md runs, so the docs cannot rot.

The blocks of one file are joined, in order, into one module written to a fresh directory and
imported there with a fresh workspace (a real file, so cairn can fingerprint its code). A
block fenced as ```python norun is shown but not run (say why beside it).
"""

from __future__ import annotations

import importlib.util
import re
import sys
import traceback
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
FENCE = re.compile(r"^```python[ \t]*(?P<flags>[^\n]*)\n(?P<code>.*?)^```", re.S | re.M)


def blocks(path: Path) -> list[str]:
    return [
        m.group("code")
        for m in FENCE.finditer(path.read_text())
        if "norun" not in m.group("flags").split()
    ]


@pytest.mark.parametrize("path", [p for p in DOCS if blocks(p)], ids=lambda p: p.name)
def test_doc_code_blocks_run(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CAIRN_WORKSPACE", str(tmp_path / "workspace"))
    name = "docs_" + re.sub(r"\W", "_", path.stem)
    starts, lines = [], []
    for code in blocks(path):
        starts.append(len(lines) + 1)
        lines.extend(code.splitlines())
    module_file = tmp_path / f"{name}.py"
    module_file.write_text("\n".join(lines) + "\n")
    spec = importlib.util.spec_from_file_location(name, module_file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        frames = [
            f for f in traceback.extract_tb(exc.__traceback__) if f.filename == str(module_file)
        ]
        line = frames[-1].lineno if frames else 0
        block = sum(1 for start in starts if start <= (line or 0))
        pytest.fail(f"{path.name}, code block {block} failed: {type(exc).__name__}: {exc}")
