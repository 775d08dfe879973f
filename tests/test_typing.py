"""Type checkers see task constructors like dataclasses, without a plugin."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("mypy")

USER_CODE = """
import datetime as dt
import cairn

class LoadData(cairn.Task):
    path: str = cairn.Parameter()

class Train(cairn.Task):
    data: LoadData = cairn.TaskParameter()
    lr: float = cairn.FloatParameter(default=0.1)
    day: dt.date = cairn.DateParameter(default="2024-01-01")

    def run(self) -> None:
        reveal_type(self.lr)

class Loose(cairn.Task):
    n = cairn.IntParameter(default=1)

Train(data=LoadData(path="x"), lr=0.05)
Loose(n=3)
Train(data=LoadData(path="x"), lr="fast")
Train(data=LoadData(path="x"), lrr=0.1)
Train(lr=0.1)
"""


def test_mypy_checks_parameter_names_types_and_required_ones(tmp_path):
    path = tmp_path / "user_tasks.py"
    path.write_text(textwrap.dedent(USER_CODE))
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--cache-dir",
            str(tmp_path / "cache"),
            str(path),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    ).stdout
    lines = [line.split(": ", 1)[1] for line in out.splitlines() if line.startswith(path.name)]
    assert lines == [
        'note: Revealed type is "float"',
        'error: Argument "lr" to "Train" has incompatible type "str"; expected "float"  [arg-type]',
        'error: Unexpected keyword argument "lrr" for "Train"; did you mean "lr"?  [call-arg]',
        'error: Missing named argument "data" for "Train"  [call-arg]',
    ], out
