"""The function style: nodes with named inputs and outputs, compiled into tasks."""

from __future__ import annotations

import dataclasses
import functools
import json
import threading
from collections import Counter
from pathlib import Path

import pydantic
import pytest

import cairn
import cairn.executors

RUNS: Counter[str] = Counter()


@pytest.fixture(autouse=True)
def _reset_runs():
    RUNS.clear()


def load(path):
    RUNS["load"] += 1
    return [1, 2, 3, 4, 5, 6]


def clean(raw, min_count):
    RUNS["clean"] += 1
    return [x for x in raw if x >= min_count]


def train(clean, model):
    RUNS["train"] += 1
    return {"w": sum(clean) * model["lr"]}, {"n": len(clean)}


def evaluate(model, metrics):
    RUNS["evaluate"] += 1
    return {"score": model["w"] / metrics["n"]}


REPORTS: list[dict] = []


def report(score):
    RUNS["report"] += 1
    REPORTS.append(score)


CONFIG = {"path": "train.csv", "min_count": 2, "model": {"lr": 0.1, "depth": 3}}
NODES = [
    cairn.node(load, inputs=["config.path"], outputs="raw"),
    cairn.node(clean, inputs=["raw", "config.min_count"], outputs="clean"),
    cairn.node(train, inputs=["clean", "config.model"], outputs=["model", "metrics"]),
    cairn.node(evaluate, inputs=["model", "metrics"], outputs="score"),
    cairn.node(report, inputs=["score"]),
]


def make(config=None, nodes=NODES, **kw):
    return cairn.Pipeline(nodes, config=config or CONFIG, **kw)


def with_lr(lr):
    return {**CONFIG, "model": {**CONFIG["model"], "lr": lr}}


# --- running and reuse ---------------------------------------------------------------------


def test_run_returns_every_output_in_list_order_and_a_second_run_reuses_everything(workspace):
    out = make().run()
    assert list(out) == ["raw", "clean", "model", "metrics", "score"]
    assert out["clean"] == [2, 3, 4, 5, 6]
    assert out["model"] == {"w": pytest.approx(2.0)} and out["metrics"] == {"n": 5}
    assert RUNS == {"load": 1, "clean": 1, "train": 1, "evaluate": 1, "report": 1}
    RUNS.clear()
    assert make().run() == out
    assert RUNS == {}


def test_changing_a_config_value_reruns_only_its_readers_and_downstream(workspace):
    make().run()
    RUNS.clear()
    make(with_lr(0.2)).run()
    assert RUNS == {"train": 1, "evaluate": 1, "report": 1}
    RUNS.clear()
    make({**with_lr(0.2), "min_count": 3}).run()
    assert RUNS == {"clean": 1, "train": 1, "evaluate": 1, "report": 1}


def test_config_keys_no_node_reads_change_nothing(workspace):
    make().run()
    RUNS.clear()
    make({**CONFIG, "unused": [1, 2]}).run()
    assert RUNS == {}


def test_a_node_reading_the_whole_config_reruns_on_any_change(workspace):
    def summarise(config):
        RUNS["summarise"] += 1
        return sorted(config)

    nodes = [cairn.node(summarise, inputs=["config"], outputs="keys")]
    assert cairn.Pipeline(nodes, config={"a": 1}).run() == {"keys": ["a"]}
    cairn.Pipeline(nodes, config={"a": 1}).run()
    cairn.Pipeline(nodes, config={"a": 2}).run()
    assert RUNS == {"summarise": 2}


def test_plan_lists_nodes_in_dependency_order_with_reasons(workspace):
    before = make().plan()
    assert [(e.task.label(), e.will_run, e.reason) for e in before] == [
        ("load(config.path) -> raw", True, "no earlier output"),
        ("clean(raw, config.min_count) -> clean", True, "no earlier output"),
        ("train(clean, config.model) -> model, metrics", True, "no earlier output"),
        ("evaluate(model, metrics) -> score", True, "no earlier output"),
        ("report(score) -> (side effect)", True, "no earlier output"),
    ]
    make().run()
    assert not make().plan().to_run
    assert RUNS["load"] == 1


def test_order_comes_from_names_and_list_order_is_kept_where_names_allow(workspace):
    def a():
        RUNS["order"] += 1
        return 1

    def b(x):
        return x + 1

    def c():
        return 10

    nodes = [
        cairn.node(b, inputs=["a"], outputs="b"),
        cairn.node(c, outputs="c"),
        cairn.node(a, outputs="a"),
    ]
    pipe = cairn.Pipeline(nodes)
    assert [e.task.node.name for e in pipe.plan()] == ["c", "a", "b"]
    assert pipe.run() == {"b": 2, "c": 10, "a": 1}
    assert str(pipe).splitlines()[0] == "b(a) -> b"


def test_selected_outputs_run_only_what_they_need(workspace):
    assert make().run(["clean"]) == {"clean": [2, 3, 4, 5, 6]}
    assert RUNS == {"load": 1, "clean": 1}
    assert [e.task.node.name for e in make().plan("metrics") if e.will_run] == ["train"]
    assert make().run("metrics") == {"metrics": {"n": 5}}
    assert RUNS == {"load": 1, "clean": 1, "train": 1}


def test_a_side_effect_node_is_selected_by_its_name(workspace):
    assert make().run(["report"]) == {}
    assert RUNS == {"load": 1, "clean": 1, "train": 1, "evaluate": 1, "report": 1}


def test_selecting_an_unknown_output_names_the_closest(workspace):
    with pytest.raises(cairn.PipelineError, match=r"no output 'scores'.*'score'"):
        make().run(["scores"])


def test_rerun_reruns_the_selected_nodes_and_all_reruns_everything(workspace):
    make().run()
    RUNS.clear()
    make().run(["clean"], rerun=True)
    assert RUNS == {"clean": 1}
    make().run(["clean"], rerun="all")
    assert RUNS == {"clean": 2, "load": 1}


def test_tuple_return_fills_several_outputs_and_a_wrong_shape_fails_the_node(workspace):
    def split(xs):
        return xs[:2], xs[2:]

    def wrong(xs):
        return xs

    ok = cairn.Pipeline(
        [cairn.node(split, inputs=["config.xs"], outputs=["head", "tail"])],
        config={"xs": [1, 2, 3]},
    )
    assert ok.run() == {"head": [1, 2], "tail": [3]}
    bad = cairn.Pipeline(
        [cairn.node(wrong, inputs=["config.xs"], outputs=["head", "tail"])],
        config={"xs": [1, 2, 3]},
    )
    with pytest.raises(cairn.BuildError, match="returned list, but it has 2 outputs"):
        bad.run()


def test_dict_inputs_pass_keyword_arguments(workspace):
    def scale(values, *, factor=1):
        return [v * factor for v in values]

    pipe = cairn.Pipeline(
        [cairn.node(scale, inputs={"values": "config.xs", "factor": "config.k"}, outputs="y")],
        config={"xs": [1, 2], "k": 3},
    )
    assert pipe.run() == {"y": [3, 6]}


def test_side_effect_node_runs_when_its_inputs_change_and_is_recorded(workspace):
    REPORTS.clear()
    make().run()
    make().run()
    assert RUNS["report"] == 1
    records = list(Path(workspace).rglob("report_*.run.json"))
    assert len(records) == 1
    record = json.loads(records[0].read_text())
    assert record["params"]["node"]["outputs"] is None
    assert record["requires"]["score"]["task_id"]
    make(with_lr(0.3)).run()
    assert RUNS["report"] == 2
    assert len(REPORTS) == 2 and REPORTS[0] != REPORTS[1]


def test_failing_node_skips_downstream_keeps_the_rest_and_names_the_node(workspace):
    def boom(raw):
        raise ValueError("bad rows")

    pipe = cairn.Pipeline(
        [
            *NODES[:2],
            cairn.node(boom, inputs=["raw"], outputs="exploded"),
            cairn.node(len, inputs=["exploded"], outputs="size"),
        ],
        config=CONFIG,
    )
    with pytest.raises(cairn.BuildError) as info:
        pipe.run()
    message = str(info.value)
    assert "node boom(raw) -> exploded: ValueError: bad rows" in message
    assert "len(exploded) -> size" in message  # skipped
    assert RUNS == {"load": 1, "clean": 1}
    assert pipe.run(["clean"]) == {"clean": [2, 3, 4, 5, 6]}


def test_lambdas_and_partials_are_nodes_and_partial_arguments_enter_the_id(workspace):
    def power(x, exponent):
        RUNS["power"] += 1
        return x**exponent

    def pipe(exponent):
        return cairn.Pipeline(
            [
                cairn.node(lambda n: n + 1, inputs=["config.n"], outputs="x"),
                cairn.node(functools.partial(power, exponent=exponent), inputs=["x"], outputs="y"),
            ],
            config={"n": 2},
        )

    assert pipe(2).run() == {"x": 3, "y": 9}
    assert pipe(2).run() == {"x": 3, "y": 9}
    assert pipe(3).run() == {"x": 3, "y": 27}
    assert RUNS == {"power": 2}


# --- runtime objects -----------------------------------------------------------------------


class Database:
    """Stands for an engine or client: not data, not hashable into an id."""

    def __init__(self):
        self.rows = {"users": [{"id": 1}, {"id": 2}]}
        self.written = []
        self.lock = threading.Lock()


def fetch(db, table):
    RUNS["fetch"] += 1
    return db.rows[table]


def store(db, users):
    RUNS["store"] += 1
    db.written.append(len(users))


DB_NODES = [
    cairn.node(fetch, inputs=["db", "config.table"], outputs="users"),
    cairn.node(store, inputs=["db", "users"]),
]


def test_runtime_objects_are_injected_by_name_and_never_hashed_or_stored(workspace):
    first, second = Database(), Database()
    out = cairn.Pipeline(DB_NODES, config={"table": "users"}, runtime={"db": first}).run()
    assert out == {"users": [{"id": 1}, {"id": 2}]}
    assert first.written == [2]
    # another object under the same name: same ids, nothing reruns
    cairn.Pipeline(DB_NODES, config={"table": "users"}, runtime={"db": second}).run()
    assert RUNS == {"fetch": 1, "store": 1} and second.written == []
    for record in Path(workspace).rglob("*.run.json"):
        assert "Database" not in record.read_text()
    # no output of the runtime object (it would be named db_<id>; build logs and temporary
    # names hold random hex, which may spell "db")
    assert not any(p.name.startswith("db") for p in Path(workspace).rglob("*") if p.is_file())


def test_a_missing_runtime_object_is_an_unknown_input(workspace):
    with pytest.raises(cairn.PipelineError, match="reads 'db', which no node makes"):
        cairn.Pipeline(DB_NODES, config={"table": "users"})


def test_a_runtime_name_that_is_also_an_output_is_refused():
    with pytest.raises(cairn.PipelineError, match="runtime object 'users'"):
        cairn.Pipeline(DB_NODES, config={"table": "users"}, runtime={"db": 1, "users": 2})


# --- composition ---------------------------------------------------------------------------


def test_adding_pipelines_joins_their_graphs(workspace):
    first = cairn.Pipeline(NODES[:2], config=CONFIG)
    second = cairn.Pipeline(NODES[2:4], inputs="clean")
    with pytest.raises(cairn.PipelineError, match="reads 'clean', an input of this pipeline"):
        second.run()
    both = first + second
    assert both.inputs == ()
    assert both.outputs == ["raw", "clean", "model", "metrics", "score"]
    assert both.run(["score"]) == {"score": {"score": pytest.approx(0.4)}}
    assert cairn.Pipeline([first, second], config=CONFIG).plan()[-1].will_run is False


def test_a_pipeline_reading_what_another_makes_declares_it_as_an_input():
    with pytest.raises(cairn.PipelineError, match="reads 'clean', which no node makes"):
        cairn.Pipeline(NODES[2:4])
    with pytest.raises(cairn.PipelineError, match=r"declared as an input.*makes it"):
        cairn.Pipeline(NODES[:2], inputs=["clean"])


def test_adding_pipelines_with_colliding_outputs_is_an_error():
    first = cairn.Pipeline(NODES[:2], config=CONFIG)
    other = cairn.Pipeline(
        [cairn.node(lambda raw: raw, inputs=["raw"], outputs="clean")], inputs=["raw"]
    )
    with pytest.raises(cairn.PipelineError, match="output 'clean' is made by two nodes"):
        first + other


def test_adding_pipelines_with_different_configs_is_an_error():
    with pytest.raises(cairn.PipelineError, match="different configs"):
        cairn.Pipeline(NODES[:1], config={"path": "a"}) + cairn.Pipeline(
            NODES[1:2], config={"path": "b", "min_count": 1}, inputs=["raw"]
        )


# --- config kinds --------------------------------------------------------------------------


@dataclasses.dataclass
class ModelConfig:
    lr: float = 0.1
    depth: int = 3


@dataclasses.dataclass
class DataclassConfig:
    path: str = "train.csv"
    min_count: int = 2
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)


class PydanticModel(pydantic.BaseModel):
    lr: float = 0.1
    depth: int = 3


class PydanticConfig(pydantic.BaseModel):
    path: str = "train.csv"
    min_count: int = 2
    model: PydanticModel = PydanticModel()


def train_typed(clean, model):
    RUNS["train"] += 1
    return {"w": sum(clean) * model.lr}, {"n": len(clean)}


TYPED_NODES = [
    *NODES[:2],
    cairn.node(train_typed, inputs=["clean", "config.model"], outputs=["model", "metrics"]),
]


@pytest.mark.parametrize(
    "make_config",
    [
        lambda lr: DataclassConfig(model=ModelConfig(lr=lr)),
        lambda lr: PydanticConfig(model=PydanticModel(lr=lr)),
    ],
    ids=["dataclass", "pydantic"],
)
def test_dataclass_and_pydantic_configs_are_read_by_path(workspace, make_config):
    out = cairn.Pipeline(TYPED_NODES, config=make_config(0.1)).run()
    assert out["model"] == {"w": pytest.approx(2.0)}
    RUNS.clear()
    cairn.Pipeline(TYPED_NODES, config=make_config(0.5)).run()
    assert RUNS == {"train": 1}
    with pytest.raises(cairn.ConfigError, match=r"'config.model.rate'.*'lr', 'depth'"):
        cairn.Pipeline(
            [cairn.node(clean, inputs=["config.path", "config.model.rate"], outputs="x")],
            config=make_config(0.1),
        )


def test_the_config_is_copied_so_later_changes_do_not_leak_in(workspace):
    config = {"path": "a", "min_count": 2, "model": {"lr": 0.1}}
    pipe = cairn.Pipeline(NODES[:2], config=config)
    config["min_count"] = 100
    assert pipe.run(["clean"]) == {"clean": [2, 3, 4, 5, 6]}


def test_a_node_cannot_change_the_config_another_node_reads(workspace):
    def greedy(model):
        model["lr"] = 99
        return model

    def honest(model):
        return model["lr"]

    pipe = cairn.Pipeline(
        [
            cairn.node(greedy, inputs=["config.model"], outputs="g"),
            cairn.node(honest, inputs=["config.model"], outputs="h"),
        ],
        config={"model": {"lr": 0.1}},
    )
    assert pipe.run() == {"g": {"lr": 99}, "h": 0.1}


# --- validation at construction ------------------------------------------------------------


def test_unknown_input_names_the_closest_outputs():
    with pytest.raises(cairn.PipelineError, match=r"reads 'claen'.*Closest names: 'clean'"):
        cairn.Pipeline([*NODES[:2], cairn.node(len, inputs=["claen"], outputs="n")], config=CONFIG)


def test_the_same_output_from_two_nodes_is_an_error():
    with pytest.raises(cairn.PipelineError, match="'raw' is made by two nodes"):
        cairn.Pipeline([NODES[0], cairn.node(lambda: [], outputs="raw")], config=CONFIG)


def test_a_cycle_is_named():
    def step(x):
        return x

    nodes = [
        cairn.node(step, inputs=["c"], outputs="a", name="first"),
        cairn.node(step, inputs=["a"], outputs="b", name="second"),
        cairn.node(step, inputs=["b"], outputs="c", name="third"),
        cairn.node(step, inputs=["config.x"], outputs="d", name="outside"),
    ]
    with pytest.raises(cairn.DependencyCycleError, match="first -> second -> third -> first") as e:
        cairn.Pipeline(nodes, config={"x": 1})
    assert [n.name for n in e.value.cycle] == ["first", "second", "third"]
    with pytest.raises(cairn.DependencyCycleError, match="cycle: self -> self"):
        cairn.Pipeline([cairn.node(step, inputs=["me"], outputs="me", name="self")])


def test_a_config_path_that_does_not_exist_names_the_keys_that_do():
    with pytest.raises(
        cairn.ConfigError,
        match=r"'config.model.lrr'.*config.model has keys "
        r"'lr', 'depth'",
    ):
        cairn.Pipeline([cairn.node(len, inputs=["config.model.lrr"], outputs="n")], config=CONFIG)
    with pytest.raises(cairn.ConfigError, match=r"config.path is str 'train.csv'"):
        cairn.Pipeline([cairn.node(len, inputs=["config.path.x"], outputs="n")], config=CONFIG)


def test_reading_config_without_one_fails_when_run(workspace):
    pipe = cairn.Pipeline(NODES[:1])  # fine to build: a config may come with composition
    with pytest.raises(cairn.ConfigError, match="has no config"):
        pipe.run()


def test_a_config_value_that_cannot_enter_an_id_is_refused():
    with pytest.raises(cairn.ConfigError, match=r"config.model"):
        cairn.Pipeline(
            [cairn.node(len, inputs=["config.model"], outputs="n")], config={"model": object()}
        )


def test_a_signature_that_does_not_take_the_inputs_is_an_error():
    with pytest.raises(cairn.PipelineError, match=r"clean\(raw, min_count\) cannot take 1 "):
        cairn.node(clean, inputs=["raw"], outputs="clean")
    with pytest.raises(
        cairn.PipelineError, match=r"cannot take keyword inputs.*missing a required argument"
    ):
        cairn.node(clean, inputs={"rows": "raw", "min_count": "config.n"}, outputs="x")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"outputs": "a.b"}, "output 'a.b' is not a valid name"),
        ({"outputs": "config"}, "output 'config' is not a valid name"),
        ({"outputs": ["a", "a"]}, "name one output twice"),
        ({"outputs": "a", "extension": ".nope"}, "no format for extension '.nope'"),
        ({"inputs": ["config..x"]}, "not a config path"),
    ],
)
def test_bad_names_are_refused(kwargs, message):
    with pytest.raises(cairn.CairnError, match=message):
        cairn.node(lambda *xs: 1, **kwargs)


def test_only_functions_are_nodes():
    with pytest.raises(cairn.PipelineError, match="takes a function"):
        cairn.node(Database, outputs="db")
    with pytest.raises(cairn.PipelineError, match="must be plain values"):
        cairn.node(functools.partial(fetch, Database()), inputs=["config.t"], outputs="u")


# --- executors -----------------------------------------------------------------------------


def _available(name):
    try:
        cairn.executors.get_executor(name, 1).close()
    except cairn.CairnError:
        return False
    return True


# every executor this build has; the heavier ones (dask) have their own suites
EXECUTORS = [name for name in ("inline", "threads", "processes") if _available(name)]


def will_run(pipe):
    return sorted(entry.task.node.name for entry in pipe.plan().to_run)


@pytest.mark.parametrize("executor", EXECUTORS)
def test_every_executor_gives_the_same_outputs_and_reuse(workspace, executor):
    out = make().run(executor=executor, workers=2)
    assert out["score"] == {"score": pytest.approx(0.4)}
    assert make().run(executor=executor, workers=2) == out
    assert will_run(make()) == []
    changed = make(with_lr(0.2))
    assert will_run(changed) == ["evaluate", "report", "train"]
    assert changed.run(executor=executor, workers=2)["model"] == {"w": pytest.approx(4.0)}
    assert will_run(changed) == []


def test_independent_nodes_run_in_parallel_on_threads(workspace):
    barrier = threading.Barrier(2, timeout=20)

    def left():
        barrier.wait()  # returns only when the other node is running at the same time
        return "left"

    def right():
        barrier.wait()
        return "right"

    # code_version: a Barrier cannot be fingerprinted, and need not be
    pipe = cairn.Pipeline(
        [
            cairn.node(left, outputs="l", code_version="1"),
            cairn.node(right, outputs="r", code_version="1"),
        ]
    )
    assert pipe.run(executor="threads", workers=2) == {"l": "left", "r": "right"}


def test_compiled_tasks_build_with_cairn_build(workspace):
    pipe = make()
    assert cairn.build(pipe.tasks("clean")) == [{"clean": [2, 3, 4, 5, 6]}]
    assert pipe.run(["clean"]) == {"clean": [2, 3, 4, 5, 6]}
    assert RUNS == {"load": 1, "clean": 1}


def test_a_node_task_cannot_be_rebuilt_from_its_record_alone(workspace):
    pipe = make()
    pipe.run(["raw"])
    with pytest.raises(cairn.ParameterError, match=r"Use pipeline\.tasks"):
        cairn.Task.from_id(pipe.tasks("raw")[0].task_id)


# --- storage -------------------------------------------------------------------------------


def test_outputs_and_records_live_under_the_function_module(workspace):
    make().run()
    names = sorted(
        p.relative_to(workspace).as_posix().rsplit("_", 1)[0]
        for p in Path(workspace).rglob("*")
        if p.is_file() and ".cairn" not in p.parts  # cairn's own history and code manifests
    )
    assert names == [
        "test_pipeline/clean",
        "test_pipeline/clean",
        "test_pipeline/evaluate",
        "test_pipeline/load",
        "test_pipeline/metrics",
        "test_pipeline/model",
        "test_pipeline/raw",
        "test_pipeline/report",
        "test_pipeline/report",
        "test_pipeline/score",
        "test_pipeline/train",
    ]


def test_a_node_can_name_the_extension_of_its_outputs(workspace):
    pipe = cairn.Pipeline(
        [
            cairn.node(
                train,
                inputs=["config.xs", "config.model"],
                outputs=["model", "metrics"],
                extension={"metrics": ".json"},
            )
        ],
        config={"xs": [1, 2], "model": {"lr": 1.0}},
    )
    assert pipe.run() == {"model": {"w": 3.0}, "metrics": {"n": 2}}
    (metrics,) = Path(workspace).rglob("metrics_*")
    assert metrics.suffix == ".json" and json.loads(metrics.read_text()) == {"n": 2}
    assert [p.suffix for p in Path(workspace).rglob("model_*")] == [".pkl"]


def frame(n):
    import pandas as pd

    return pd.DataFrame({"x": list(range(n))})


class FakeParquet:
    """Stands for the parquet format (a real one writes Arrow); marks what it wrote."""

    def dump(self, obj, file):
        if obj.empty:
            raise ValueError("cannot write an empty frame")
        file.write(b"PARQ" + obj.to_json().encode())

    def load(self, file):
        import io

        import pandas as pd

        return pd.read_json(io.StringIO(file.read()[4:].decode()))


def test_data_frames_are_stored_as_parquet_when_a_parquet_format_is_registered(
    workspace, monkeypatch
):
    pipe = cairn.Pipeline(
        [
            cairn.node(frame, inputs=["config.n"], outputs="table"),
            cairn.node(len, inputs=["table"], outputs="rows"),
        ],
        config={"n": 3},
    )
    monkeypatch.setitem(cairn.formats._registry, ".parquet", FakeParquet())
    out = pipe.run()
    assert list(out["table"]["x"]) == [0, 1, 2] and out["rows"] == 3
    (table,) = Path(workspace).rglob("table_*")
    assert table.suffix == ".parquet" and table.read_bytes().startswith(b"PARQ")
    (rows,) = Path(workspace).rglob("rows_*")
    assert rows.suffix == ".pkl"


def test_data_frames_are_pickled_when_parquet_cannot_store_them(workspace, monkeypatch):
    monkeypatch.setitem(cairn.formats._registry, ".parquet", FakeParquet())
    pipe = cairn.Pipeline(
        [cairn.node(frame, inputs=["config.n"], outputs="table")], config={"n": 0}
    )
    assert pipe.run()["table"].empty
    (table,) = Path(workspace).rglob("table_*")
    assert table.suffix == ".pkl"
    (record,) = Path(workspace).rglob("frame_*.run.json")
    assert "stored it as a pickle instead" in record.read_text()


def test_data_frames_are_pickled_when_no_parquet_format_is_registered(workspace, monkeypatch):
    monkeypatch.delitem(cairn.formats._registry, ".parquet", raising=False)
    pipe = cairn.Pipeline(
        [cairn.node(frame, inputs=["config.n"], outputs="table")], config={"n": 2}
    )
    assert list(pipe.run()["table"]["x"]) == [0, 1]
    assert [p.suffix for p in Path(workspace).rglob("table_*")] == [".pkl"]


# --- identity ------------------------------------------------------------------------------


def double(n):
    return n * 2


def test_golden_digest_pins_the_node_id_scheme():
    # A change here changes every node id in every store: deliberate, and in the changelog.
    pinned = cairn.node(double, inputs=["config.n"], outputs="doubled", code_version="1")
    pipe = cairn.Pipeline(
        [pinned, cairn.node(double, inputs=["doubled"], outputs="quad", code_version="1")],
        config={"n": 2, "m": 3},
    )
    first, second = pipe.tasks()
    assert first.task_id == "7e7eeca22a58719d865ff434dc2336b9"
    assert second.task_id == "9f87896277b30e86d7a7878ff3611cb5"


def scaler(k):
    def scale(x):
        return x * k

    return scale


def test_values_a_function_closes_over_enter_its_id():
    def first_id(func):
        pipe = cairn.Pipeline([cairn.node(func, inputs=["config.x"], outputs="y")], config={"x": 1})
        return pipe.tasks()[0].task_id

    assert first_id(scaler(2)) == first_id(scaler(2)) != first_id(scaler(3))
    lock = threading.Lock()

    def locked(x):
        with lock:
            return x

    with pytest.warns(UserWarning, match="cannot fingerprint the value of 'lock'"):
        first_id(locked)


def test_renaming_an_output_or_the_node_changes_the_id_and_code_version_pins_code():
    ids = {
        cairn.Pipeline(
            [cairn.node(double, inputs=["config.n"], outputs=out, name=name, code_version=version)],
            config={"n": 1},
        )
        .tasks()[0]
        .task_id
        for out, name, version in [
            ("a", None, "1"),
            ("b", None, "1"),
            ("a", "other", "1"),
            ("a", None, "2"),
        ]
    }
    assert len(ids) == 4
