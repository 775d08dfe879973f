"""Short labels tell siblings apart: the class name and only the parameters whose values
differ among the tasks of that class (in ``ls``, the graph and the live display); and a
build or plan with nothing to run says so."""

from __future__ import annotations

import re

import cairn


class LoadData(cairn.Task):
    path = cairn.Parameter(default="train.csv")

    def run(self):
        return [1.0, 2.0, 3.0]


class Train(cairn.Task):
    data = cairn.TaskParameter(default=None)
    lr = cairn.FloatParameter(default=0.1)
    epochs = cairn.IntParameter(default=10)

    def requires(self):
        return {"data": self.data or LoadData()}

    def run(self):
        return sum(self.load("data")) * self.lr


class Score(cairn.Task):
    model = cairn.TaskParameter()

    def run(self):
        return self.load("model")


class Compare(cairn.Task):
    def requires(self):
        return [Score(model=Train(lr=lr)) for lr in (0.01, 0.1)]

    def run(self):
        return self.load()


def test_ls_labels_stored_siblings_by_the_parameters_that_differ(workspace):
    cairn.build(Compare(), progress=False)
    labels = sorted(entry.label for entry in cairn.ls())
    assert labels == [
        "Compare",
        "LoadData",
        "Score(model=Train#" + Train(lr=0.01).task_id[:8] + ")",
        "Score(model=Train#" + Train(lr=0.1).task_id[:8] + ")",
        "Train(lr=0.01)",
        "Train(lr=0.1)",
    ]
    table = str(cairn.ls(family="Train"))
    assert re.search(r"│ Train\(lr=0\.01\) +│ test_labels\.Train +│", table), table


def test_the_graph_writes_only_what_tells_siblings_apart(workspace):
    picture = cairn.graph(Compare()).to_mermaid()
    assert '["Train<br/>lr=0.01"]' in picture and '["Train<br/>lr=0.1"]' in picture
    # one level of nesting: a Score is shown by the Train it scores
    assert '["Score<br/>model=Train(lr=0.01)"]' in picture
    assert '["LoadData<br/>path=' in picture  # no sibling: its parameters, being short


def test_a_build_that_runs_nothing_says_every_task_was_reused(workspace, capsys):
    cairn.build(Compare(), progress=False)
    capsys.readouterr()
    cairn.build(Compare(), progress=False)
    assert re.fullmatch(r"cairn: all 6 task\(s\) reused in \d+\.\ds\n", capsys.readouterr().err)
    plan = cairn.plan(Compare())
    assert str(plan).splitlines()[-1] == (
        "nothing will run: every task is complete (building reuses them all)"
    )
    assert (
        repr(plan) == "<Plan: nothing will run: every task is complete (building reuses them all)>"
    )
    assert str(cairn.plan(Train(lr=0.5))).splitlines()[-1] == "1 of 2 task(s) will run"
