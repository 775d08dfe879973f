"""Plans that explain: each task that will run says why, as text and as data."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import cairn
from cairn.planning import explain as _explain


class Load(cairn.Task):
    path = cairn.Parameter()

    def run(self):
        return [1, 2, 3]


class Train(cairn.Task):
    data = cairn.TaskParameter()
    lr = cairn.FloatParameter(default=0.1)

    def run(self):
        return sum(self.load("data")) * self.lr


class Lookup(cairn.Task):
    table = cairn.FileParameter()

    def run(self):
        with open(self.table) as f:
            return f.read()


class Report(cairn.Task):
    table = cairn.Parameter()

    def requires(self):
        return Lookup(table=self.table)

    def run(self):
        return self.load().upper()


def reasons(plan: cairn.Plan) -> dict[str, str | None]:
    return {repr(e.task): e.reason for e in plan}


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAIRN_CACHE_DIR", str(tmp_path / "cache"))


def test_a_first_plan_says_there_is_no_earlier_output(workspace):
    plan = cairn.plan(Train(data=Load(path="a")))
    assert reasons(plan) == {
        "Load(path='a')": "no earlier output",
        "Train(data=Load(path='a'), lr=0.1)": "no earlier output",
    }


def test_a_changed_parameter_is_named_with_its_old_and_new_value(workspace):
    cairn.build(Train(data=Load(path="a")))
    plan = cairn.plan(Train(data=Load(path="a"), lr=0.05))
    assert reasons(plan) == {
        "Load(path='a')": None,
        "Train(data=Load(path='a'), lr=0.05)": "parameter lr changed 0.1 -> 0.05",
    }


def test_a_changed_upstream_task_is_named_and_said_to_run(workspace):
    cairn.build(Train(data=Load(path="a")))
    plan = cairn.plan(Train(data=Load(path="b")))
    assert reasons(plan) == {
        "Load(path='b')": "parameter path changed 'a' -> 'b'",
        "Train(data=Load(path='b'), lr=0.1)": (
            "parameter data changed Load(path='a') -> Load(path='b'); upstream Load will run"
        ),
    }


def test_an_upstream_task_built_since_the_last_run_is_named_as_changed(tmp_path, workspace):
    table = tmp_path / "table.txt"
    table.write_text("a")
    cairn.build(Report(table=str(table)))
    table.write_text("bb")
    cairn.build(Lookup(table=str(table)))
    plan = cairn.plan(Report(table=str(table)))
    assert reasons(plan)[f"Report(table='{table}')"] == "upstream Lookup changed"


def test_rerun_says_the_task_is_forced(workspace):
    cairn.build(Train(data=Load(path="a")))
    plan = cairn.plan(Train(data=Load(path="a")), rerun=True)
    assert [e.reason for e in plan] == [None, "forced by rerun"]


def test_a_task_whose_output_was_deleted_says_so(workspace):
    task = Load(path="a")
    cairn.build(task)
    os.remove(Path(workspace) / task.record_path())
    assert cairn.plan(task)[0].reason == "its earlier output is gone"


def test_the_plan_is_data_for_tools(workspace):
    cairn.build(Train(data=Load(path="a")))
    data = cairn.plan(Train(data=Load(path="a"), lr=0.2)).to_dicts()
    assert json.loads(json.dumps(data)) == data
    assert [(d["task"], d["state"]) for d in data] == [
        ("Load(path='a')", "complete"),
        ("Train(data=Load(path='a'), lr=0.2)", "will run"),
    ]
    train = data[1]
    assert train["family"] == f"{__name__}.Train"
    assert train["reason"] == "parameter lr changed 0.1 -> 0.2"
    assert train["changes"] == [
        {"kind": "parameter", "subject": "lr", "text": "parameter lr changed 0.1 -> 0.2"}
    ]


def test_a_plan_where_everything_is_complete_reads_no_history(workspace, monkeypatch):
    cairn.build(Train(data=Load(path="a")))

    def fail(*args, **kwargs):
        raise AssertionError("history read on the warm path")

    monkeypatch.setattr(_explain, "read_history", fail)
    plan = cairn.plan(Train(data=Load(path="a")))
    assert [e.state for e in plan] == ["complete"]


def test_records_share_one_code_manifest_per_class_and_one_history_per_family(workspace):
    cairn.build([Load(path=str(i)) for i in range(30)])
    store = Path(workspace)
    assert len(list((store / ".cairn" / "code").iterdir())) == 1
    assert [p.name for p in (store / ".cairn" / "history").iterdir()] == [f"{__name__}.Load"]
    assert len(list((store / ".cairn" / "history" / f"{__name__}.Load").iterdir())) == 1
    record = json.loads((store / Load(path="0").record_path()).read_text())
    assert record["code"]["manifest"] == f".cairn/code/{record['code']['fingerprint']}.json"
