"""A task parameter on the command line given as a stored task's id (or its first digits):
``cairn run flow:Train --data 5d3916fd`` uses that stored task, rebuilt from its run record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from _processes import run_cairn

FLOW = """
import cairn


class LoadData(cairn.Task):
    path = cairn.Parameter()

    def run(self):
        return {"x": [1.0, 2.0, 3.0], "y": [2.0, 4.0, 6.0], "path": self.path}


class Train(cairn.Task):
    data = cairn.TaskParameter(expected_type=LoadData)
    lr = cairn.FloatParameter(default=0.1)

    def run(self):
        data = self.load("data")
        return {"slope": sum(data["y"]) / sum(data["x"]), "lr": self.lr, "from": data["path"]}


class Broken(cairn.Task):
    def run(self):
        raise RuntimeError("no")
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "flow.py").write_text(FLOW)
    return tmp_path


def _cairn(project: Path, *args: str):
    env = {"CAIRN_WORKSPACE": str(project / "ws"), "PYTHONPATH": str(project), "COLUMNS": None}
    return run_cairn(*args, cwd=project, env=env)


def _ids(project: Path, family: str) -> list[str]:
    listing = _cairn(project, "ls", "--family", family, "--json").stdout.splitlines()
    return [json.loads(line)["task_id"] for line in listing]


def test_a_task_parameter_takes_a_stored_tasks_id_prefix(project):
    made = _cairn(
        project,
        "run",
        "flow:Train",
        "--data",
        '{"task": "flow:LoadData", "params": {"path": "a.csv"}}',
    )
    assert made.returncode == 0, made.stderr
    (data_id,) = _ids(project, "LoadData")
    again = _cairn(project, "run", "flow:Train", "--data", data_id[:8], "--lr", "0.5")
    assert again.returncode == 0, again.stderr
    assert f"Train(data=LoadData#{data_id[:8]}, lr=0.5)" in again.stdout
    assert "2 task(s): 1 ran, 1 reused" in again.stdout  # the stored LoadData is reused
    # the whole id, in capitals, names it too, and the same task is complete now
    same = _cairn(project, "plan", "flow:Train", "--data", data_id.upper(), "--lr", "0.5")
    assert "nothing will run" in same.stdout, same.stdout


@pytest.mark.parametrize(
    ("which", "message"),
    [
        ("unknown", "--data 0000abcd: no run record for '0000abcd' in the workspace"),
        ("failed", "failed when it last ran, so it has no output to use"),
        ("wrong-class", "expects an instance of LoadData"),
    ],
)
def test_an_id_that_names_no_usable_task_is_a_usage_error(project, which, message):
    assert _cairn(project, "run", "flow:Broken").returncode == 1
    prefix = {
        "unknown": "0000abcd",
        "failed": _ids(project, "Broken")[0][:6],
        "wrong-class": "",
    }[which]
    if which == "wrong-class":
        made = _cairn(project, "run", "flow:LoadData", "--path", "b.csv")
        assert made.returncode == 0, made.stderr
        trained = _cairn(project, "run", "flow:Train", "--data", _ids(project, "LoadData")[0])
        assert trained.returncode == 0, trained.stderr
        prefix = _ids(project, "Train")[0][:8]
    done = _cairn(project, "run", "flow:Train", "--data", prefix)
    assert done.returncode == 2
    assert message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
