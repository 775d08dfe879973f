"""The task model's declarations: reserved parameter names, class options, kinds of task, and
what a build computes once per task (encodings, input-file fingerprints)."""

from __future__ import annotations

import collections
from typing import Any, ClassVar

import fsspec
import pytest
from fsspec.implementations.memory import MemoryFileSystem

import cairn

# --- reserved names ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "what", "instead"),
    [
        ("label", "the method Task.label()", "tag"),
        ("logger", "the property Task.logger", "logger_name"),
        ("load", "the method Task.load()", "source"),
        ("dump", "the method Task.dump()", "destination"),
        ("run", "the method Task.run()", "run_name"),
        ("requires", "the method Task.requires()", "requirements"),
        ("output", "the method Task.output()", "output_name"),
        ("task_id", "the property Task.task_id", "source_task_id"),
        ("family", "an attribute of every task class", "model_family"),
        ("random", "the property Task.random", "random_state"),
        ("clone", "the method Task.clone()", "clone_value"),
        ("make_target", "the method Task.make_target()", "make_target_value"),
        ("from_id", "the method Task.from_id()", "from_id_value"),
        ("_values", "an attribute cairn keeps on every task", "values_value"),
        ("_kind", "an attribute of every task class", "kind_value"),
        ("mro", "the method Task.mro()", "mro_value"),
    ],
)
def test_a_parameter_named_like_the_task_api_is_refused_when_the_class_is_defined(
    name: str, what: str, instead: str
) -> None:
    with pytest.raises(cairn.ParameterError) as caught:
        type("Clash", (cairn.Task,), {name: cairn.Parameter(default="x")})
    message = str(caught.value)
    assert f"Clash.{name}: a parameter cannot be called {name!r}, which is {what}" in message
    assert f"e.g. {instead!r}" in message


def test_a_parameter_group_refuses_reserved_names_too() -> None:
    with pytest.raises(cairn.ParameterError, match="cannot be called 'label'"):

        class Shared(cairn.ParameterGroup):
            label = cairn.Parameter(default="x")


class Options(cairn.Task[Any]):
    """Parameters named like class options are parameters; the options keep their defaults."""

    namespace = cairn.Parameter(default="ns")
    retries = cairn.IntParameter(default=5)
    schema = cairn.Parameter(default="public")
    random_seed = cairn.IntParameter(default=7)
    code_version = cairn.Parameter(default="v")
    fail_on_empty_dump = cairn.BoolParameter(default=True)

    def run(self) -> Any:
        return [self.namespace, self.retries, self.schema, self.random_seed, self.code_version]


def test_parameters_named_like_class_options_work_and_leave_the_options_unset(workspace) -> None:
    assert cairn.build(Options(), progress=False) == ["ns", 5, "public", 7, "v"]
    assert Options.family == f"{Options.__module__}.Options"  # no namespace prefix
    record = cairn.show(Options())
    assert record["code"]["code_version"] is None
    assert record["seed"] == int(Options().task_id[:8], 16)  # not the parameter's 7
    assert Options.code_fingerprint().components  # fingerprinted, not pinned


def test_a_parameter_named_cls_or_self_works() -> None:
    class Odd(cairn.Task[Any]):
        cls = cairn.Parameter(default="a")
        self = cairn.Parameter(default="b")

    task = Odd(cls="c", self="d")
    assert (task.cls, task.self) == ("c", "d")
    assert task.clone(cls="e").cls == "e"


# --- class options -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value", "error", "message"),
    [
        ("namespace", 5, cairn.ConfigError, "Bad.namespace must be a non-empty string"),
        ("namespace", "", cairn.ConfigError, "Bad.namespace must be a non-empty string"),
        ("code_version", ["1"], cairn.ConfigError, "Bad.code_version must be a string"),
        ("random_seed", "42", cairn.ConfigError, "Bad.random_seed must be an int"),
        ("retries", 1.5, cairn.ConfigError, "Bad.retries must be a whole number >= 0"),
        ("retry_delay", "soon", cairn.ConfigError, "Bad.retry_delay must be a number of sec"),
        ("schema", ["x"], cairn.SchemaError, "Bad.schema must be a dict of column -> type"),
        ("fail_on_empty_dump", "yes", cairn.ConfigError, "Bad.fail_on_empty_dump must be True"),
    ],
)
def test_a_wrong_class_option_is_refused_when_the_class_is_defined(
    option: str, value: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        type("Bad", (cairn.Task,), {option: value})


def test_options_keep_working_when_inherited_and_a_number_may_pin_code() -> None:
    class Base(cairn.Task[Any]):
        code_version = 2
        namespace = "team"

    class Child(Base):
        pass

    assert Child.family == f"team.{Child.__module__}.{Child.__qualname__}"
    assert Child.code_fingerprint() == Base.code_fingerprint()
    assert Child.code_fingerprint().components == {}


def test_a_namespace_cannot_be_set_after_the_class_is_defined() -> None:
    class Late(cairn.Task[Any]):
        pass

    with pytest.raises(cairn.ConfigError, match="set it in the class body"):
        Late.namespace = "team"  # type: ignore[misc]


# --- kinds of task -------------------------------------------------------------------------


class Leaf(cairn.Task[int]):
    i = cairn.IntParameter()

    def run(self) -> int:
        return self.i


def test_a_forced_rerun_is_marked_on_the_plan_entry(workspace) -> None:
    cairn.build(Leaf(i=1), progress=False)
    (entry,) = cairn.plan(Leaf(i=1), rerun=True)
    assert entry.will_run and entry.forced and entry.reason == "forced by rerun"
    assert entry.to_dict()["forced"] is True
    (entry,) = cairn.plan(Leaf(i=1))
    assert not entry.will_run and not entry.forced


def test_a_nodes_own_code_version_is_recorded_and_explained(workspace) -> None:
    def pipe(version: str) -> cairn.Pipeline:
        node = cairn.node(_double, inputs=["config.n"], outputs="d", code_version=version)
        return cairn.Pipeline([node], config={"n": 2})

    assert pipe("1").run(progress=False) == {"d": 4}
    (task,) = pipe("1").tasks()
    assert cairn.show(task)["code"]["code_version"] == "1"
    (entry,) = pipe("2").plan()
    assert entry.reason == "code_version changed '1' -> '2'"
    pipe("2").run(progress=False)
    (task,) = pipe("2").tasks()
    assert cairn.show(task)["code"]["code_version"] == "2"


def _double(n: int) -> int:
    return n * 2


# --- once per task -------------------------------------------------------------------------


class Counted(cairn.Parameter):
    """A user's parameter type that counts how often cairn encodes and serialises values."""

    calls: ClassVar[collections.Counter[str]] = collections.Counter()

    def encode(self, value: Any) -> str:
        Counted.calls["encode"] += 1
        return super().encode(value)

    def serialize(self, value: Any) -> Any:
        Counted.calls["serialize"] += 1
        return super().serialize(value)


class Uses(cairn.Task[str]):
    value = Counted()
    other = cairn.IntParameter(default=0)

    def run(self) -> str:
        return self.value


@pytest.mark.parametrize("executor", ["inline", "threads"])
def test_each_value_is_encoded_and_serialised_once_per_task(workspace, executor) -> None:
    # cold, warm, then with another value of `other` (a plan that explains, against the
    # history): (other, serialisations per task)
    for other, serials in [(0, 1), (0, 0), (1, 1)]:
        Counted.calls.clear()
        cairn.build([Uses(value=f"v{i}", other=other) for i in range(4)], executor=executor)
        assert Counted.calls["encode"] == 4, other
        assert Counted.calls["serialize"] == 4 * serials, other


class CountingFileSystem(MemoryFileSystem):
    """An in-memory object store that counts metadata round trips (``info``)."""

    protocol = "countfs"
    root_marker = "/"
    store: ClassVar[dict[str, Any]] = {}
    pseudo_dirs: ClassVar[list[str]] = [""]
    infos: ClassVar[collections.Counter[str]] = collections.Counter()

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        CountingFileSystem.infos[path.rsplit("://", maxsplit=1)[-1].lstrip("/")] += 1
        return super().info(path, **kwargs)


class ReadsFile(cairn.Task[bytes]):
    src = cairn.FileParameter()

    def run(self) -> bytes:
        return b"done"


def test_an_input_file_is_fingerprinted_once_per_task_per_build(workspace) -> None:
    fsspec.register_implementation("countfs", CountingFileSystem, clobber=True)
    for i in range(3):
        with fsspec.open(f"countfs://inputs/{i}.csv", "wb") as file:
            file.write(b"a,b\n1,2\n")
    urls = [f"countfs://inputs/{i}.csv" for i in range(3)]
    for build in ("cold", "warm"):
        CountingFileSystem.infos.clear()
        cairn.build([ReadsFile(src=u) for u in urls], progress=False)
        assert dict(CountingFileSystem.infos) == {f"inputs/{i}.csv": 1 for i in range(3)}, build
    with fsspec.open(urls[0], "wb") as file:
        file.write(b"a,b\n3,4\n")
    CountingFileSystem.infos.clear()
    (entry,) = [e for e in cairn.plan([ReadsFile(src=u) for u in urls]) if e.will_run]
    assert entry.reason == f"input file {urls[0]} changed"
    assert dict(CountingFileSystem.infos) == {f"inputs/{i}.csv": 1 for i in range(3)}
