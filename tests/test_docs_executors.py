"""The first example of docs/executors.md runs as a script, processes and all.

(tests/test_docs.py runs the page's blocks as an imported module, where the main guard keeps
this one from running.)"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

DOC = Path(__file__).parent.parent / "docs" / "executors.md"


def _blocks() -> list[str]:
    return re.findall(r"```python[^\n]*\n(.*?)```", DOC.read_text(), re.S)


def _run(script: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CAIRN_WORKSPACE"}
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=script.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done


@pytest.mark.timeout(120)
def test_the_processes_example_runs(tmp_path: Path) -> None:
    script = tmp_path / "executors_example.py"
    script.write_text(_blocks()[0])
    done = _run(script)
    assert re.search(r"^140 in \d", done.stdout, re.M), done.stdout
    assert "cairn: 9 ran, 0 reused, 0 failed" in done.stderr
