"""Metrics: numbers a task logs while it runs, kept in its run record and shown by show."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import cairn
from cairn.storage.records import RunRecord


class Scored(cairn.Task):
    lr = cairn.FloatParameter(default=0.1)

    def run(self):
        self.log_metric("auc", 0.9 - self.lr)
        self.log_metrics({"f1": 0.8, "rows": 120})
        self.log_metric("auc", 1.0 - self.lr)  # logged again: the last value counts
        return self.lr


BAD = {"text": "high", "nan": float("nan"), "bool": True, "none": None, "list": [1]}


class BadMetric(cairn.Task):
    kind = cairn.Parameter()

    def run(self):
        self.log_metric("score", BAD[self.kind])
        return 1


def test_logged_metrics_are_stored_in_the_run_record_and_shown(workspace):
    task = Scored(lr=0.25)
    cairn.build(task)
    data = json.loads((Path(workspace) / task.record_path()).read_text())
    assert data["metrics"] == {"auc": 0.75, "f1": 0.8, "rows": 120}
    assert RunRecord.from_dict(data).metrics == {"auc": 0.75, "f1": 0.8, "rows": 120}
    shown = cairn.show(task)
    assert shown["metrics"]["auc"] == 0.75
    text = str(shown)
    assert "metrics" in text and "auc" in text and "0.75" in text


def test_a_record_without_metrics_reads_as_having_none(workspace):
    task = Scored(lr=0.5)
    cairn.build(task)
    path = Path(workspace) / task.record_path()
    data = json.loads(path.read_text())
    del data["metrics"]
    path.write_text(json.dumps(data))
    assert RunRecord.from_dict(data).metrics == {}
    assert cairn.show(task).get("metrics") is None
    assert cairn.build(task) == 0.5  # still complete


@pytest.mark.parametrize("kind", sorted(BAD))
def test_a_metric_that_is_not_a_finite_number_fails_the_task_saying_so(workspace, kind):
    with pytest.raises(cairn.BuildError) as caught:
        cairn.build(BadMetric(kind=kind))
    error = next(iter(caught.value.failures.values()))
    assert isinstance(error, cairn.CairnError)
    assert "finite number" in str(error)


def test_log_metric_outside_run_says_it_exists_only_while_running():
    with pytest.raises(cairn.CairnError, match="only while the task runs"):
        Scored().log_metric("auc", 0.5)


@pytest.mark.parametrize("executor", ["threads", "processes"])
def test_metrics_logged_on_other_threads_and_processes_reach_the_record(workspace, executor):
    tasks = [Scored(lr=lr) for lr in (0.1, 0.2, 0.3)]
    cairn.build(tasks, executor=executor, workers=2)
    for task in tasks:
        assert cairn.show(task)["metrics"]["auc"] == pytest.approx(1.0 - task.lr)
