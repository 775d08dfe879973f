"""cairn.results and `cairn results`: every stored run as one table, to compare runs."""

from __future__ import annotations

import json
import textwrap
from typing import Any

import pandas as pd
import pytest

import cairn
from _processes import run_cairn, run_python


class Load(cairn.Task):
    path = cairn.Parameter()

    def run(self):
        return [1, 2, 3]


class Fit(cairn.Task):
    data = cairn.TaskParameter()
    lr = cairn.FloatParameter(default=0.1)

    def run(self):
        if self.lr > 1:
            raise ValueError("lr too large")
        self.log_metrics({"auc": round(0.9 - self.lr, 3), "rows": 3})
        return sum(self.load("data")) * self.lr


class Report(cairn.Task):
    model = cairn.TaskParameter()

    def run(self):
        return {"value": self.load("model")}


def _grid(**where: Any) -> list[Fit]:
    tasks = [Fit(data=Load(path="train.csv"), lr=lr) for lr in (0.01, 0.1, 0.3)]
    cairn.build(tasks, **where)
    return tasks


def test_results_of_a_family_has_one_row_per_run_with_flat_parameters_and_metrics(store):
    tasks = _grid(**store)
    frame = cairn.results("Fit", **store)
    assert isinstance(frame, pd.DataFrame)
    assert len(frame) == 3
    assert set(frame["task_id"]) == {t.task_id for t in tasks}
    assert set(frame["state"]) == {"complete"}
    assert list(frame.columns[:4]) == ["task_id", "family", "task", "state"]
    assert set(frame["data.path"]) == {"train.csv"}
    assert set(frame["data.task"]) == {"Load"}
    assert set(frame["data.task_id"]) == {tasks[0].data.task_id}
    best = frame.sort_values("auc", ascending=False).iloc[0]
    assert best["lr"] == 0.01 and best["auc"] == 0.89
    assert (frame["output_bytes"] > 0).all()
    assert (frame["duration_s"] >= 0).all()
    assert str(frame["start"].dtype).startswith("datetime64")
    assert frame["rows"].tolist() == [3, 3, 3]


def test_results_by_class_by_full_family_and_of_a_whole_workspace(workspace):
    _grid()
    by_class = cairn.results(Fit)
    assert len(by_class) == 3
    assert len(cairn.results(Fit.family)) == 3
    everything = cairn.results()
    assert sorted(everything["task"]) == ["Fit", "Fit", "Fit", "Load"]


def test_results_of_a_root_are_the_runs_of_its_graph(workspace):
    fits = _grid()
    root = Report(model=fits[1])
    cairn.build(root)
    frame = cairn.results(root)
    assert sorted(frame["task"]) == ["Fit", "Load", "Report"]
    report = frame[frame["task"] == "Report"].iloc[0]
    # a task parameter's own task parameters are flattened too
    assert report["model.lr"] == 0.1
    assert report["model.data.path"] == "train.csv"


def test_a_failed_run_is_a_row_with_its_error(workspace):
    _grid()
    with pytest.raises(cairn.BuildError):
        cairn.build(Fit(data=Load(path="train.csv"), lr=2.0))
    frame = cairn.results("Fit")
    failed = frame[frame["state"] == "failed"]
    assert len(failed) == 1
    row = failed.iloc[0]
    assert row["lr"] == 2.0 and row["data.path"] == "train.csv"
    assert "ValueError" in row["error"] and "lr too large" in row["error"]
    assert pd.isna(row["auc"])


def test_load_true_adds_each_runs_output(store):
    _grid(**store)
    frame = cairn.results("Fit", load=True, **store)
    assert sorted(frame["output"]) == pytest.approx([0.06, 0.6, 1.8])


def test_results_of_something_that_selects_no_runs_is_a_cairn_error(workspace):
    with pytest.raises(cairn.CairnError, match="family name"):
        cairn.results(42)
    assert cairn.results("Nothing").empty


MODULE = textwrap.dedent(
    """
    import cairn

    class Load(cairn.Task):
        path = cairn.Parameter()

        def run(self):
            return [1, 2, 3]

    class Fit(cairn.Task):
        data = cairn.TaskParameter()
        lr = cairn.FloatParameter(default=0.1)

        def run(self):
            self.log_metric("auc", round(0.9 - self.lr, 3))
            return self.lr

    if __name__ == "__main__":
        cairn.build([Fit(data=Load(path="a.csv"), lr=lr) for lr in (0.01, 0.05, 0.1, 0.3)])
    """
)


@pytest.fixture
def cli_workspace(tmp_path):
    (tmp_path / "grid.py").write_text(MODULE)
    env = {"CAIRN_WORKSPACE": str(tmp_path / "ws")}
    done = run_python("grid.py", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    return tmp_path, env


def test_cli_results_filters_sorts_and_prints_json(cli_workspace):
    cwd, env = cli_workspace
    done = run_cairn(
        "results",
        "Fit",
        "--where",
        "lr < 0.2",
        "--sort",
        "auc",
        "--desc",
        "--json",
        cwd=cwd,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["lr"] for r in rows] == [0.01, 0.05, 0.1]
    assert [r["data.path"] for r in rows] == ["a.csv"] * 3
    table = run_cairn(
        "results",
        "Fit",
        "--where",
        "data.path == 'a.csv' and lr > 0.07",
        "--sort",
        "lr",
        cwd=cwd,
        env=env,
    )
    assert table.returncode == 0, table.stderr
    assert "2 of 4 run(s) of Fit" in table.stdout
    assert table.stdout.index("0.1 ") < table.stdout.index("0.3 ")


def test_cli_results_with_a_bad_expression_or_column_exits_2_naming_the_columns(cli_workspace):
    cwd, env = cli_workspace
    bad = run_cairn("results", "Fit", "--where", "lr <<", cwd=cwd, env=env)
    assert bad.returncode == 2
    assert "cannot filter by 'lr <<'" in bad.stderr and "data.path" in bad.stderr
    unknown = run_cairn("results", "Fit", "--sort", "aucc", cwd=cwd, env=env)
    assert unknown.returncode == 2
    assert "Did you mean 'auc'" in unknown.stderr


class Diverges(cairn.Task):
    lr = cairn.FloatParameter()

    def run(self):
        self.log_metric("loss", 12.5)
        raise FloatingPointError("the loss diverged")


def test_metrics_logged_before_a_failure_are_kept_in_its_row(workspace):
    with pytest.raises(cairn.BuildError):
        cairn.build(Diverges(lr=3.0))
    (row,) = cairn.results(Diverges).to_dict("records")
    assert row["state"] == "failed" and row["loss"] == 12.5
    assert "the loss diverged" in row["error"]
