"""Things gokart users rely on: custom parameter types, namespaces, clone, restore, generators."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import pytest

import cairn


class Window:
    """A user type that serialises itself."""

    def __init__(self, start: int, end: int) -> None:
        self.start, self.end = start, end

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Window) and (self.start, self.end) == (other.start, other.end)

    def __hash__(self) -> int:
        return hash((self.start, self.end))

    def __cairn_serialize__(self) -> str:
        return f"{self.start}:{self.end}"

    @classmethod
    def __cairn_deserialize__(cls, text: str) -> Window:
        start, end = text.split(":")
        return cls(int(start), int(end))


class Slice(cairn.Task):
    window = cairn.SerializableParameter(Window)
    at = cairn.DateTimeParameter(default="2024-01-01T00:00+00:00", timezone=dt.UTC)

    def run(self):
        return list(range(self.window.start, self.window.end))


class Total(cairn.Task):
    part = cairn.TaskParameter()
    scale = cairn.IntParameter(default=1)

    def run(self):
        return sum(self.load("part")) * self.scale


class Parts(cairn.Task):
    def requires(self):
        return {"a": Slice(window=Window(0, 3)), "b": [Slice(window=Window(3, 5))]}

    def run(self):
        return list(self.load_generator())


def test_serializable_parameter_takes_objects_or_their_text(workspace):
    assert Slice(window="1:4") == Slice(window=Window(1, 4))
    assert Slice(window="1:4").task_id != Slice(window="1:5").task_id
    assert cairn.build(Slice(window="1:4")) == [1, 2, 3]
    with pytest.raises(cairn.ParameterError, match="Window or its string form"):
        Slice(window=(1, 4))


def test_serializable_parameter_needs_a_way_to_serialise():
    with pytest.raises(cairn.ParameterError, match="__cairn_serialize__"):
        cairn.SerializableParameter(dt.timedelta)


def test_serializable_parameter_accepts_functions():
    class Lag(cairn.Task):
        by = cairn.SerializableParameter(
            dt.timedelta,
            serialize=lambda d: str(d.total_seconds()),
            deserialize=lambda s: dt.timedelta(seconds=float(s)),
        )

    assert Lag(by="60").by == dt.timedelta(minutes=1)
    assert Lag(by=dt.timedelta(minutes=1)) == Lag(by="60.0")


class Alpha(cairn.Task):
    namespace = "exp1"

    def run(self):
        return "alpha"


class Beta(cairn.Task):
    namespace = "exp2"

    def run(self):
        return "beta"


def test_namespace_keeps_same_named_tasks_apart_in_ids_and_paths(workspace):
    # two projects' classes of the same name and module: only the namespace differs
    first = type("Same", (Alpha,), {"__module__": "proj", "run": lambda self: 1})
    second = type("Same", (Beta,), {"__module__": "proj", "run": lambda self: 2})
    assert first.family == "exp1.proj.Same" and second.family == "exp2.proj.Same"
    assert first().task_id != second().task_id
    assert cairn.build(Alpha()) == "alpha"
    assert list(Path(workspace, "exp1").rglob("Alpha_*.run.json"))


def test_clone_copies_matching_parameters_and_applies_overrides():
    total = Total(part=Slice(window="0:2"), scale=3)
    assert total.clone(scale=4) == Total(part=Slice(window="0:2"), scale=4)
    other = Slice(window="5:6").clone(Slice)
    assert other == Slice(window="5:6")

    class Twin(cairn.Task):
        part = cairn.TaskParameter()
        scale = cairn.IntParameter(default=9)
        extra = cairn.Parameter(default="x")

    twin = total.clone(Twin, extra="y")
    assert (twin.part, twin.scale, twin.extra) == (total.part, 3, "y")
    with pytest.raises(cairn.CairnError, match="task class"):
        total.clone(int)  # type: ignore[type-var]


def test_from_id_rebuilds_a_task_with_its_parameters_and_upstream(workspace):
    root = Total(part=Slice(window="2:5", at="2024-03-01T12:00+00:00"), scale=2)
    cairn.build(root)
    restored = cairn.Task.from_id(root.task_id)
    assert restored == root
    assert restored.part.window == Window(2, 5)
    assert restored.part.at == dt.datetime(2024, 3, 1, 12, tzinfo=dt.UTC)
    assert Total.from_id(root.task_id) == root  # direct path when the class is known


def test_from_id_of_an_unknown_id_says_where_it_looked(workspace):
    cairn.build(Slice(window="0:1"))
    with pytest.raises(cairn.OutputNotFoundError, match=r"no run record with id '0+'"):
        cairn.Task.from_id("0" * 32)


def test_load_generator_yields_loaded_inputs_one_by_one_not_keys(workspace):
    assert cairn.build(Parts()) == [[0, 1, 2], [3, 4]]


def test_load_generator_of_one_key(workspace):
    class OneKey(Parts):
        def run(self):
            return list(self.load_generator("b"))

    assert cairn.build(OneKey()) == [[3, 4]]


def test_restore_needs_an_importable_class(workspace):
    class Local(cairn.Task):
        def run(self):
            return 1

    cairn.build(Local())
    with pytest.raises(cairn.CairnError, match="module level"):
        cairn.Task.from_id(Local().task_id)
    assert "test_parity" in sys.modules


class Shared(cairn.ParameterGroup):
    date = cairn.DateParameter(default="2024-01-01")
    env = cairn.Parameter(default="dev")


@cairn.inherits(Shared, aliases={"day": "date"})
class Extract(cairn.Task):
    date = cairn.DateParameter()
    day = cairn.DateParameter(default="1999-01-01")
    env = cairn.Parameter(default="prod")
    table = cairn.Parameter(default="events")

    def run(self):
        return f"{self.table}@{self.date}/{self.env}"


def test_parameter_group_values_fill_shared_and_aliased_parameters():
    task = Extract()
    assert task.date == dt.date(2024, 1, 1)
    assert task.day == dt.date(2024, 1, 1)  # alias day -> date
    assert task.env == "dev"  # the group's value beats the task's own default
    assert task.table == "events"
    assert Extract(env="test").env == "test"  # explicit beats the group


def test_parameter_group_values_come_from_the_configuration():
    config = cairn.Config(
        tasks={
            Shared.family: {"date": "2025-02-03"},
            Extract.family: {"env": "staging"},
        }
    )
    with config.active():
        task = Extract()
    assert task.date == task.day == dt.date(2025, 2, 3)
    assert task.env == "staging"  # the task's own family setting beats the group


class Regional(cairn.ParameterGroup):
    env = cairn.Parameter(default="eu-prod")


@cairn.inherits(Regional)
class RegionalExtract(Extract):
    pass


def test_a_child_class_own_parameter_group_overrides_its_parents():
    assert RegionalExtract().env == "eu-prod"  # its own group, not the parent's Shared
    assert RegionalExtract().date == dt.date(2024, 1, 1)  # still from the parent's group
    assert Extract().env == "dev"  # the parent is unchanged


def test_inherits_checks_aliases_and_arguments():
    with pytest.raises(cairn.ParameterError, match="alias 'when'"):

        @cairn.inherits(Shared, aliases={"when": "date"})
        class NoSuchParam(cairn.Task):
            date = cairn.DateParameter()

    with pytest.raises(cairn.CairnError, match="ParameterGroup classes"):
        cairn.inherits(Extract)(Extract)  # type: ignore[arg-type]


def test_a_parameter_group_never_runs(workspace):
    with pytest.raises(cairn.BuildError, match="parameter group"):
        cairn.build(Shared())


COUNTS: dict[str, int] = {}


class Leaf(cairn.Task):
    n = cairn.IntParameter()

    def run(self):
        COUNTS[f"leaf{self.n}"] = COUNTS.get(f"leaf{self.n}", 0) + 1
        return self.n


class Mid(cairn.Task):
    leaf = cairn.TaskParameter()

    def run(self):
        COUNTS["mid"] = COUNTS.get("mid", 0) + 1
        return self.load("leaf") * 10


class Top(cairn.Task):
    mid = cairn.TaskParameter()

    def run(self):
        COUNTS["top"] = COUNTS.get("top", 0) + 1
        return self.load("mid") + 1


def _chain():
    return Top(mid=Mid(leaf=Leaf(n=1)))


def test_strict_check_rebuilds_downstream_of_a_deleted_upstream_output(workspace):
    COUNTS.clear()
    root = _chain()
    cairn.build(root)
    leaf = root.mid.leaf
    (Path(workspace) / leaf.record_path()).unlink()  # upstream no longer complete
    assert [e.will_run for e in cairn.plan(root)] == [False]  # default: root is complete
    plan = cairn.plan(root, strict_check=True)
    assert [e.will_run for e in plan] == [True, True, True]
    assert "upstream Leaf(n=1) will run (strict_check)" in plan[1].reason
    COUNTS.clear()
    assert cairn.build(root, strict_check=True) == 11
    assert COUNTS == {"leaf1": 1, "mid": 1, "top": 1}
    assert not cairn.plan(root, strict_check=True).to_run


def test_modification_time_check_reruns_tasks_whose_inputs_are_newer(workspace):
    COUNTS.clear()
    root = _chain()
    cairn.build(root)
    cairn.build(root.mid, rerun=True)  # Mid finishes after Top now
    assert not cairn.plan(root, strict_check=True).to_run
    plan = cairn.plan(root, modification_time_check=True)
    assert [e.task for e in plan.to_run] == [root]
    assert "is newer than the output (modification_time_check)" in plan.to_run[0].reason
    COUNTS.clear()
    cairn.build(root, modification_time_check=True)
    assert COUNTS == {"top": 1}


def test_status_to_frame_is_a_dependency_table(workspace):
    pd = pytest.importorskip("pandas")
    root = _chain()
    cairn.build(root.mid)
    frame = cairn.status(root).to_frame()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == [
        "name",
        "task",
        "task_id",
        "state",
        "complete",
        "outputs",
        "parameters",
        "duration_s",
        "log",
        "requirements",
    ]
    rows = frame.set_index("task_id")
    assert list(frame["state"]) == ["complete", "complete", "will run"]
    assert rows.loc[root.task_id, "requirements"] == [root.mid.task_id]
    assert rows.loc[root.mid.leaf.task_id, "parameters"] == {"n": 1}
    assert rows.loc[root.mid.task_id, "duration_s"] >= 0
    assert pd.isna(rows.loc[root.task_id, "duration_s"])
    assert isinstance(rows.loc[root.mid.task_id, "log"], list)  # gokart's log column
    assert rows.loc[root.task_id, "log"] is None  # not run yet
    assert rows.loc[root.task_id, "outputs"][0].endswith(f"Top_{root.task_id}.pkl")


SEEN: list[str] = []


def _seen(log: str, what: str) -> None:
    SEEN.append(what)
    if log:  # tasks running in worker processes report through a file
        with open(log, "a") as file:
            file.write(what + "\n")


class Shard(cairn.Task):
    i = cairn.IntParameter()
    log = cairn.Parameter(default="", significant=False)

    def run(self):
        _seen(self.log, f"shard{self.i}")
        return self.i * 10


class Discover(cairn.Task):
    """Finds how many shards there are only while running."""

    count = cairn.IntParameter(default=3)
    log = cairn.Parameter(default="", significant=False)

    def run(self):
        _seen(self.log, "discover")
        shards = self.require({f"s{i}": Shard(i=i, log=self.log) for i in range(self.count)})
        return sum(shards.values())


class SelfRequiring(cairn.Task):
    def run(self):
        return self.require(SelfRequiring())


class BadShard(cairn.Task):
    def run(self):
        raise ValueError("shard broke")


class NeedsBad(cairn.Task):
    def run(self):
        return self.require(BadShard())


@pytest.mark.parametrize("executor", ["inline", "threads", "processes", "dask"])
def test_dynamic_requirements_are_built_then_run_continues(workspace, tmp_path, executor, request):
    if executor == "dask":
        from cairn.executors import get_executor

        executor = get_executor(request.getfixturevalue("dask_client"))
    log = str(tmp_path / "seen.txt")

    def seen() -> list[str]:
        lines = Path(log).read_text().split() if Path(log).exists() else []
        Path(log).unlink(missing_ok=True)
        return sorted(lines)

    assert cairn.build(Discover(log=log), executor=executor) == 30
    assert seen() == ["discover", "discover", "shard0", "shard1", "shard2"]
    record = json.loads((Path(workspace) / Discover().record_path()).read_text())
    assert [r["task_id"] for r in record["dynamic_requirements"]] == [
        Shard(i=i).task_id for i in range(3)
    ]
    assert cairn.build(Discover(log=log), executor=executor) == 30  # complete: nothing runs
    assert seen() == []
    assert cairn.build(Discover(count=4, log=log), executor=executor) == 60
    assert seen() == ["discover", "discover", "shard3"]  # only the new shard, then Discover


def test_dynamic_requirements_that_are_complete_load_at_once(workspace):
    cairn.build([Shard(i=0), Shard(i=1)])
    SEEN.clear()
    assert cairn.build(Discover(count=2)) == 10
    assert SEEN == ["discover"]


def test_a_task_requiring_itself_is_a_cycle(workspace):
    with pytest.raises(cairn.BuildError) as info:
        cairn.build(SelfRequiring())
    assert isinstance(info.value.failures[SelfRequiring()], cairn.DependencyCycleError)


def test_a_failing_dynamic_requirement_fails_the_task_that_asked(workspace):
    with pytest.raises(cairn.BuildError) as info:
        cairn.build(NeedsBad())
    assert BadShard() in info.value.failures
    assert NeedsBad() in info.value.skipped
    assert not (Path(workspace) / NeedsBad().record_path()).exists()


def test_require_outside_run_is_an_error():
    with pytest.raises(cairn.CairnError, match="outside run"):
        Discover().require(Shard(i=1))


# --- loading by task instance, requires() as any iterable (gokart habits) ------------------


class Num(cairn.Task):
    n = cairn.IntParameter()

    def run(self):
        return self.n * 10


class ByInstance(cairn.Task):
    def requires(self):
        return {"a": Num(n=1), "b": [Num(n=2), Num(n=3)]}

    def run(self):
        return {
            "one": self.load(Num(n=1)),
            "list": self.load([Num(n=3), Num(n=2)]),
            "mixed": self.load(["a", Num(n=2)]),
            "generated": list(self.load_generator([Num(n=2), Num(n=1)])),
        }


def test_load_takes_a_required_task_or_a_list_of_them(tmp_path):
    assert cairn.build(ByInstance(), workspace=str(tmp_path)) == {
        "one": 10,
        "list": [30, 20],
        "mixed": [10, 20],
        "generated": [20, 10],
    }


class LoadsWhatItDoesNotRequire(cairn.Task):
    def requires(self):
        return [Num(n=1)]

    def run(self):
        return self.load(Num(n=9))


def test_loading_a_task_that_is_not_required_says_so(tmp_path):
    task = LoadsWhatItDoesNotRequire()
    with pytest.raises(cairn.BuildError) as info:
        cairn.build(task, workspace=str(tmp_path))
    error = info.value.failures[task]
    assert isinstance(error, cairn.KeyNotFoundError)
    assert "does not require Num(n=9)" in str(error) and "add it to requires()" in str(error)


class FromGenerator(cairn.Task):
    def requires(self):
        return (Num(n=i) for i in range(3))

    def run(self):
        return [self.load(), list(self.load_generator())]


class SetInDict(cairn.Task):
    def requires(self):
        return {"nums": {Num(n=4)}, "one": Num(n=5)}

    def run(self):
        return self.load()


def test_requires_may_return_a_generator_or_nest_any_iterable(tmp_path):
    assert cairn.build(FromGenerator(), workspace=str(tmp_path)) == [[0, 10, 20], [0, 10, 20]]
    assert cairn.build(SetInDict(), workspace=str(tmp_path)) == {"nums": [40], "one": 50}
    assert cairn.plan(FromGenerator(), workspace=str(tmp_path)).entries[-1].will_run is False
