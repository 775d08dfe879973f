"""build() and plan(): reuse, reruns, failures, requirement shapes, deep graphs."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest

import cairn

RUNS: Counter[str] = Counter()


@pytest.fixture(autouse=True)
def _reset_runs():
    RUNS.clear()


class LoadData(cairn.Task):
    path = cairn.Parameter()

    def run(self):
        RUNS["LoadData"] += 1
        self.logger.info("loading %s", self.path)
        self.dump({"x": [1.0, 2.0, 3.0], "y": [2.0, 4.0, 6.0]})


class Train(cairn.Task):
    data = cairn.TaskParameter()
    lr = cairn.FloatParameter(default=0.1)

    def output(self):
        return self.make_target("models/model.pkl")

    def run(self):
        RUNS["Train"] += 1
        data = self.load("data")
        slope = sum(data["y"]) / sum(data["x"])
        self.dump({"slope": slope, "lr": self.lr})


class Evaluate(cairn.Task):
    model = cairn.TaskParameter()

    def output(self):
        return self.make_target("reports/score.json")

    def run(self):
        RUNS["Evaluate"] += 1
        self.dump({"score": self.load("model")["slope"] * 10})


def pipeline(lr=0.05, path="train.csv"):
    return Evaluate(model=Train(data=LoadData(path=path), lr=lr))


def test_build_returns_the_root_output_and_a_second_build_recomputes_nothing(workspace):
    assert cairn.build(pipeline()) == {"score": 20.0}
    assert RUNS == {"LoadData": 1, "Train": 1, "Evaluate": 1}
    assert cairn.build(pipeline()) == {"score": 20.0}
    assert RUNS == {"LoadData": 1, "Train": 1, "Evaluate": 1}


def test_changing_a_parameter_reruns_exactly_that_task_and_downstream(workspace):
    cairn.build(pipeline(lr=0.05))
    RUNS.clear()
    cairn.build(pipeline(lr=0.01))
    assert RUNS == {"Train": 1, "Evaluate": 1}


def test_plan_says_what_will_run_and_why(workspace):
    before = cairn.plan(pipeline())
    assert [(type(e.task).__name__, e.will_run, e.reason) for e in before] == [
        ("LoadData", True, "no earlier output"),
        ("Train", True, "no earlier output"),
        ("Evaluate", True, "no earlier output"),
    ]
    cairn.build(pipeline())
    after = cairn.plan(pipeline())
    assert [(e.will_run, e.reason, e.state) for e in after] == [(False, None, "complete")]
    forced = cairn.plan(pipeline(), rerun=True)
    assert [e.reason for e in forced if e.will_run] == ["forced by rerun"]
    assert "will run" in str(cairn.plan(pipeline(lr=0.3)))


def test_rerun_true_reruns_roots_and_all_reruns_everything(workspace):
    cairn.build(pipeline())
    RUNS.clear()
    cairn.build(pipeline(), rerun=True)
    assert RUNS == {"Evaluate": 1}
    RUNS.clear()
    cairn.build(pipeline(), rerun="all")
    assert RUNS == {"LoadData": 1, "Train": 1, "Evaluate": 1}


def test_list_of_roots_returns_a_list_and_shared_tasks_run_once(workspace):
    roots = [pipeline(lr=0.1), pipeline(lr=0.2), Train(data=LoadData(path="train.csv"), lr=0.1)]
    results = cairn.build(roots)
    assert results[0] == results[1] == {"score": 20.0}
    assert results[2]["lr"] == 0.1
    assert RUNS == {"LoadData": 1, "Train": 2, "Evaluate": 2}


def test_outputs_live_under_the_module_path_with_the_task_id(workspace):
    task = pipeline()
    cairn.build(task)
    ws = Path(workspace)
    load = task.model.data
    assert (ws / "test_build" / f"LoadData_{load.task_id}.pkl").is_file()
    assert (ws / "models" / f"model_{task.model.task_id}.pkl").is_file()
    assert (ws / "reports" / f"score_{task.task_id}.json").is_file()
    assert json.loads((ws / "reports" / f"score_{task.task_id}.json").read_text()) == {
        "score": 20.0
    }


def test_workspace_argument_beats_environment_variable(workspace, tmp_path):
    other = tmp_path / "other"
    cairn.build(LoadData(path="a"), workspace=str(other))
    assert list(other.rglob("LoadData_*.pkl"))
    assert not Path(workspace).exists()


def test_default_workspace_is_dot_workspace(tmp_path, monkeypatch):
    monkeypatch.delenv("CAIRN_WORKSPACE", raising=False)
    monkeypatch.chdir(tmp_path)
    cairn.build(LoadData(path="a"))
    assert list((tmp_path / "workspace").rglob("LoadData_*.pkl"))


class Boom(cairn.Task):
    n = cairn.IntParameter()

    def run(self):
        RUNS["Boom"] += 1
        raise ValueError(f"boom {self.n}")


class Fine(cairn.Task):
    n = cairn.IntParameter()

    def run(self):
        RUNS["Fine"] += 1
        return self.n


class After(cairn.Task):
    up = cairn.TaskParameter()

    def run(self):
        RUNS["After"] += 1
        return self.load("up")


class Gather(cairn.Task):
    parts = cairn.TaskListParameter()

    def run(self):
        RUNS["Gather"] += 1
        return self.load("parts")


def test_failure_keeps_going_then_raises_build_error_naming_failed_and_skipped(workspace):
    root = Gather(parts=[After(up=Boom(n=1)), Fine(n=2), After(up=Fine(n=3))])
    with pytest.raises(cairn.BuildError) as info:
        cairn.build(root)
    error = info.value
    assert list(error.failures) == [Boom(n=1)]
    assert isinstance(error.failures[Boom(n=1)], ValueError)
    assert isinstance(error.__cause__, ValueError)
    assert error.failures[Boom(n=1)].__traceback__ is not None
    assert set(error.skipped) == {After(up=Boom(n=1)), root}
    assert "boom 1" in str(error) and "not run because an upstream task failed" in str(error)
    assert RUNS == {"Boom": 1, "Fine": 2, "After": 1}
    # what succeeded stays stored: the next build only retries the failed part
    RUNS.clear()
    with pytest.raises(cairn.BuildError):
        cairn.build(root)
    assert RUNS == {"Boom": 1}


class Shapes(cairn.Task):
    def requires(self):
        return {
            "one": Fine(n=1),
            "pair": [Fine(n=2), Fine(n=3)],
            "nested": {"deep": (Fine(n=4),)},
        }

    def run(self):
        return {
            "all": self.load(),
            "one": self.load("one"),
            "pair": self.load("pair"),
        }


def test_load_follows_the_shape_of_requires(workspace):
    result = cairn.build(Shapes())
    assert result["all"] == {"one": 1, "pair": [2, 3], "nested": {"deep": (4,)}}
    assert result["one"] == 1
    assert result["pair"] == [2, 3]


class Split(cairn.Task):
    def output(self):
        return {
            "train": self.make_target("split/train.pkl"),
            "test": self.make_target("split/test.json"),
        }

    def run(self):
        self.dump([1, 2, 3], "train")
        self.dump([4], "test")


class UseSplit(cairn.Task):
    def requires(self):
        return Split()

    def run(self):
        return self.load()


def test_dict_outputs_are_dumped_and_loaded_by_key(workspace):
    assert cairn.build(UseSplit()) == {"train": [1, 2, 3], "test": [4]}
    assert cairn.build(Split()) == {"train": [1, 2, 3], "test": [4]}


def test_run_returning_a_dict_fills_dict_outputs(workspace):
    class ReturnSplit(Split):
        def run(self):
            return {"train": [0], "test": [9]}

    assert cairn.build(ReturnSplit()) == {"train": [0], "test": [9]}


def test_unknown_output_key_lists_the_keys(workspace):
    class BadKey(Split):
        def run(self):
            self.dump([1], "trian")

    with pytest.raises(cairn.BuildError) as info:
        cairn.build(BadKey())
    (error,) = info.value.failures.values()
    assert isinstance(error, cairn.KeyNotFoundError)
    assert "Did you mean 'train'?" in str(error)


def test_forgetting_to_dump_is_an_error_and_leaves_the_task_incomplete(workspace):
    class Lazy(cairn.Task):
        def run(self):
            pass

    with pytest.raises(cairn.BuildError) as info:
        cairn.build(Lazy())
    assert "finished without writing its output" in str(info.value)
    assert cairn.plan(Lazy())[0].will_run


def test_load_of_a_missing_key_lists_the_keys(workspace):
    class Wrong(cairn.Task):
        def requires(self):
            return {"data": Fine(n=1)}

        def run(self):
            return self.load("date")

    with pytest.raises(cairn.BuildError) as info:
        cairn.build(Wrong())
    (error,) = info.value.failures.values()
    assert isinstance(error, cairn.KeyNotFoundError)
    assert "no requirement 'date'" in str(error) and "'data'" in str(error)


def test_requires_returning_a_non_task_is_a_requirement_error(workspace):
    class NotATask(cairn.Task):
        def requires(self):
            return {"data": "train.csv"}

        def run(self):
            return 1

    with pytest.raises(cairn.RequirementError, match=r"str 'train\.csv', which is not a task"):
        cairn.build(NotATask())


class Ping(cairn.Task):
    n = cairn.IntParameter()

    def requires(self):
        return Pong(n=self.n)


class Pong(cairn.Task):
    n = cairn.IntParameter()

    def requires(self):
        return Ping(n=self.n)


def test_dependency_cycle_is_named(workspace):
    with pytest.raises(cairn.DependencyCycleError) as info:
        cairn.build(Ping(n=1))
    message = str(info.value)
    assert "Ping(n=1) -> Pong(n=1) -> Ping(n=1)" in message
    assert [type(t).__name__ for t in info.value.cycle] == ["Ping", "Pong"]


def test_target_paths_cannot_escape_the_workspace(workspace):
    for path in ["../outside.pkl", "/etc/passwd.txt", "a/../../b.pkl"]:

        class Escape(cairn.Task):
            where = path

            def output(self):
                return self.make_target(self.where)

        with pytest.raises(cairn.TargetError, match="workspace"):
            cairn.build(Escape())


def test_unknown_extension_is_a_format_error_naming_the_known_ones(workspace):
    class Weird(cairn.Task):
        def output(self):
            return self.make_target("out.weird")

    with pytest.raises(cairn.FormatError, match=r"knows .*\.json.*\.pkl"):
        cairn.build(Weird())


def test_use_unique_id_false_keeps_the_path_as_given(workspace):
    class Fixed(cairn.Task):
        def output(self):
            return self.make_target("fixed/name.txt", use_unique_id=False)

        def run(self):
            return "hello"

    assert cairn.build(Fixed()) == "hello"
    assert (Path(workspace) / "fixed" / "name.txt").read_text() == "hello"


class Link(cairn.Task):
    depth = cairn.IntParameter()

    def requires(self):
        return Link(depth=self.depth - 1) if self.depth > 0 else []

    def run(self):
        return self.depth


def test_a_chain_100000_deep_plans_without_recursion(workspace):
    plan = cairn.plan(Link(depth=100_000))
    assert len(plan) == 100_001
    assert plan[0].task.depth == 0 and plan[-1].task.depth == 100_000


def test_a_chain_3000_deep_builds_and_rebuilds(workspace):
    assert cairn.build(Link(depth=3000)) == 3000
    assert cairn.plan(Link(depth=3000)).to_run == []


def test_build_refuses_things_that_are_not_tasks(workspace):
    with pytest.raises(cairn.CairnError, match="a task or a list of tasks"):
        cairn.build("Train")


def test_unknown_executor_suggests_the_closest(workspace):
    with pytest.raises(cairn.CairnError, match="Did you mean 'inline'"):
        cairn.build(Fine(n=1), executor="inlin")


def test_threads_executor_gives_the_same_results(workspace):
    assert cairn.build(pipeline(), executor="threads", workers=2) == {"score": 20.0}
    assert RUNS == {"LoadData": 1, "Train": 1, "Evaluate": 1}


def test_dump_outside_a_build_is_an_error():
    with pytest.raises(cairn.CairnError, match="outside a build"):
        Fine(n=1).dump(3)


def test_no_temporary_files_are_left_behind(workspace):
    cairn.build(pipeline())
    leftovers = [p for p in Path(workspace).rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []
    assert all(not name.startswith(".") for _, _, files in os.walk(workspace) for name in files)
