"""Data frames: the type read back, the pandas index, required columns, column types and
empty frames, for pandas and polars."""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa_pd
import pandera.polars as pa_pl
import polars as pl
import pytest

import cairn

# --- which type comes back ----------------------------------------------------------------

MAKERS = {
    "pandas": lambda: pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}),
    "polars": lambda: pl.DataFrame({"a": [1, 2], "b": ["x", "y"]}),
    "polars.lazy": lambda: pl.DataFrame({"a": [1, 2], "b": ["x", "y"]}).lazy(),
}
TYPES = {"pandas": pd.DataFrame, "polars": pl.DataFrame, "polars.lazy": pl.LazyFrame}


class Frame(cairn.Task):
    library = cairn.Parameter()
    extension = cairn.Parameter(default=".parquet")

    def output(self):
        return self.make_target("frames/f" + self.extension)

    def run(self):
        return MAKERS[self.library]()


class LoadIt(cairn.Task):
    frame = cairn.TaskParameter()
    as_type = cairn.Parameter(default="")

    def run(self):
        if self.as_type:
            return {"frame": self.load_data_frame("frame", as_type=self.as_type)}
        return {"frame": self.load_data_frame("frame")}


def _rows(frame: Any) -> list[tuple[Any, ...]]:
    if isinstance(frame, pl.LazyFrame):
        frame = frame.collect()
    if isinstance(frame, pl.DataFrame):
        return frame.rows()
    return list(frame.itertuples(index=False, name=None))


@pytest.mark.parametrize("extension", [".parquet", ".feather", ".csv", ".tsv", ".pkl"])
@pytest.mark.parametrize("library", sorted(MAKERS))
def test_a_frame_loads_as_the_library_that_wrote_it(store, extension, library) -> None:
    result = cairn.build(LoadIt(frame=Frame(library=library, extension=extension)), **store)
    assert type(result["frame"]) is TYPES[library]
    assert _rows(result["frame"]) == [(1, "x"), (2, "y")]


@pytest.mark.parametrize("extension", [".parquet", ".csv", ".pkl"])
@pytest.mark.parametrize(
    ("written", "asked"),
    [
        ("pandas", "polars"),
        ("polars", "pandas"),
        ("polars.lazy", "pandas"),
        ("pandas", "polars.lazy"),
    ],
)
def test_the_caller_may_ask_for_the_other_library(workspace, extension, written, asked) -> None:
    task = LoadIt(frame=Frame(library=written, extension=extension), as_type=asked)
    result = cairn.build(task, workspace=workspace)
    assert type(result["frame"]) is TYPES[asked]
    assert _rows(result["frame"]) == [(1, "x"), (2, "y")]


class LoadAsClass(cairn.Task):
    frame = cairn.TaskParameter()

    def run(self):
        return {"frame": self.load("frame", as_type=pl.LazyFrame)}


def test_as_type_takes_the_frame_class_itself(workspace) -> None:
    result = cairn.build(LoadAsClass(frame=Frame(library="pandas")), workspace=workspace)
    assert isinstance(result["frame"], pl.LazyFrame)


class BadAsType(cairn.Task):
    frame = cairn.TaskParameter()

    def run(self):
        return self.load("frame", as_type=dict)


def test_as_type_that_is_no_frame_type_is_refused(workspace) -> None:
    with pytest.raises(cairn.BuildError, match=r"as_type=<class 'dict'> names no data frame"):
        cairn.build(BadAsType(frame=Frame(library="pandas")), workspace=workspace)


class DeclaresPolars(cairn.Task[pl.DataFrame]):
    extension = cairn.Parameter(default=".parquet")

    def output(self):
        return self.make_target("declared" + self.extension)

    def run(self):
        return MAKERS["pandas"]()  # written with pandas, declared as polars


class DeclaresPandas(cairn.Task[pd.DataFrame]):
    def output(self):
        return self.make_target("declared.csv")

    def run(self):
        return MAKERS["polars"]()


class InheritsDeclaration(DeclaresPolars):
    pass


@pytest.mark.parametrize("extension", [".parquet", ".csv", ".pkl"])
def test_task_generic_declares_the_type_read_back(workspace, extension) -> None:
    loaded = cairn.build(DeclaresPolars(extension=extension), workspace=workspace)
    assert isinstance(loaded, pl.DataFrame)
    assert isinstance(cairn.build(DeclaresPandas(), workspace=workspace), pd.DataFrame)
    assert isinstance(cairn.build(InheritsDeclaration(), workspace=workspace), pl.DataFrame)


def test_the_caller_wins_over_the_declared_type(workspace) -> None:
    result = cairn.build(LoadIt(frame=DeclaresPolars(), as_type="pandas"), workspace=workspace)
    assert isinstance(result["frame"], pd.DataFrame)


class IndexedFrame(cairn.Task):
    extension = cairn.Parameter()

    def output(self):
        return self.make_target("indexed" + self.extension)

    def run(self):
        return pd.DataFrame({"v": [1.5, 2.5]}, index=pd.Index(["p", "q"], name="key"))


def test_pandas_index_becomes_a_column_when_read_as_polars(workspace) -> None:
    for extension in (".parquet", ".pkl"):
        result = cairn.build(
            LoadIt(frame=IndexedFrame(extension=extension), as_type="polars"), workspace=workspace
        )
        assert result["frame"].columns == ["key", "v"]


def test_csv_does_not_keep_a_pandas_index_and_warns(workspace) -> None:
    task = IndexedFrame(extension=".csv")
    with pytest.warns(UserWarning, match=r"index of this frame is not written to \.csv"):
        loaded = cairn.build(task, workspace=workspace)
    assert list(loaded.columns) == ["v"]
    assert isinstance(loaded.index, pd.RangeIndex)


def test_the_run_record_keeps_the_type_of_each_output(workspace) -> None:
    task = Frame(library="polars", extension=".csv")
    cairn.build(task, workspace=workspace)
    with open(os.path.join(workspace, task.record_path())) as f:
        record = json.load(f)
    assert record["outputs"][""]["type"] == "polars.dataframe.frame.DataFrame"


# --- required columns ---------------------------------------------------------------------


class Users(cairn.Task):
    library = cairn.Parameter(default="pandas")

    def output(self):
        return self.make_target("users.parquet")

    def run(self):
        frame = pd.DataFrame({"user_id": [1, 2], "age": [30, 40], "city": ["a", "b"]})
        if self.library == "pandas":
            return frame
        frame = pl.from_pandas(frame)
        return frame.lazy() if self.library == "polars.lazy" else frame


class NeedsColumns(cairn.Task):
    users = cairn.TaskParameter()
    required = cairn.ListParameter()
    drop = cairn.BoolParameter(default=False)
    as_set = cairn.BoolParameter(default=False)

    def run(self):
        required = set(self.required) if self.as_set else list(self.required)
        frame = self.load_data_frame("users", required_columns=required, drop_columns=self.drop)
        if isinstance(frame, pl.LazyFrame):
            frame = frame.collect()
        return {"columns": list(frame.columns), "rows": len(frame)}


@pytest.mark.parametrize("library", sorted(MAKERS))
def test_missing_required_columns_name_task_missing_and_present(workspace, library) -> None:
    task = NeedsColumns(users=Users(library=library), required=["user_id", "score", "usr_age"])
    with pytest.raises(cairn.BuildError) as info:
        cairn.build(task, workspace=workspace)
    error = info.value.failures[task]
    assert isinstance(error, cairn.MissingColumnsError)
    message = str(error)
    assert repr(task) in message
    assert "'score'" in message and "'usr_age'" in message
    assert "'user_id', 'age', 'city'" in message  # the columns present
    assert error.missing == ["score", "usr_age"]
    assert error.present == ["user_id", "age", "city"]


def test_missing_column_error_suggests_a_close_name(workspace) -> None:
    task = NeedsColumns(users=Users(), required=["user_id", "citi"])
    with pytest.raises(cairn.BuildError, match=r"'citi' \(did you mean 'city'\?\)"):
        cairn.build(task, workspace=workspace)


@pytest.mark.parametrize("library", sorted(MAKERS))
def test_drop_columns_keeps_only_the_required_ones(workspace, library) -> None:
    in_order = NeedsColumns(users=Users(library=library), required=["city", "user_id"], drop=True)
    assert cairn.build(in_order, workspace=workspace)["columns"] == ["city", "user_id"]
    as_set = NeedsColumns(
        users=Users(library=library), required=["city", "user_id"], drop=True, as_set=True
    )
    assert cairn.build(as_set, workspace=workspace)["columns"] == ["user_id", "city"]
    kept = NeedsColumns(users=Users(library=library), required=["city"])
    assert cairn.build(kept, workspace=workspace)["columns"] == ["user_id", "age", "city"]


class Part(cairn.Task):
    n = cairn.IntParameter()
    library = cairn.Parameter(default="pandas")

    def output(self):
        return self.make_target("part.feather")

    def run(self):
        frame = pd.DataFrame({"n": [self.n] * self.n, "x": range(self.n)})
        return frame if self.library == "pandas" else pl.from_pandas(frame)


class Stacks(cairn.Task):
    library = cairn.Parameter(default="pandas")

    def requires(self):
        return [Part(n=n, library=self.library) for n in (1, 2, 3)]

    def run(self):
        frame = self.load_data_frame(required_columns=["n"], drop_columns=True)
        return {"type": type(frame).__name__, "n": list(frame["n"])}


@pytest.mark.parametrize("library", ["pandas", "polars"])
def test_a_list_of_frame_inputs_is_stacked_into_one(workspace, library) -> None:
    assert cairn.build(Stacks(library=library), workspace=workspace) == {
        "type": "DataFrame",
        "n": [1, 2, 2, 3, 3, 3],
    }


class TwoInputs(cairn.Task):
    def requires(self):
        return {"users": Users(), "parts": Part(n=1)}

    def run(self):
        return self.load_data_frame(required_columns=["n"])


def test_load_data_frame_of_several_named_inputs_asks_for_a_key(workspace) -> None:
    with pytest.raises(cairn.BuildError, match=r"name one with load_data_frame\(key\).*'users'"):
        cairn.build(TwoInputs(), workspace=workspace)


class IntColumns(cairn.Task):
    def output(self):
        return self.make_target("ints.pkl")

    def run(self):
        return pd.DataFrame(np.zeros((2, 3)))


class NeedsIntColumns(cairn.Task):
    def requires(self):
        return IntColumns()

    def run(self):
        return list(self.load_data_frame(required_columns=[2, 0], drop_columns=True).columns)


def test_required_columns_need_not_be_strings(workspace) -> None:
    assert cairn.build(NeedsIntColumns(), workspace=workspace) == [2, 0]


# --- column types on dump -----------------------------------------------------------------

USER_SCHEMA = {"user_id": "int64", "score": "float64", "name": "string"}


class Scores(cairn.Task):
    """Dumps a frame from FRAMES; declares USER_SCHEMA."""

    frame = cairn.Parameter()
    schema = USER_SCHEMA

    def output(self):
        return self.make_target("scores.parquet")

    def run(self):
        return FRAMES[self.frame]()


FRAMES = {
    "good-pandas": lambda: pd.DataFrame({"user_id": [1], "score": [0.5], "name": ["a"]}),
    "good-polars": lambda: pl.DataFrame({"user_id": [1], "score": [0.5], "name": ["a"]}),
    "good-lazy": lambda: pl.DataFrame({"user_id": [1], "score": [0.5], "name": ["a"]}).lazy(),
    "bad-pandas": lambda: pd.DataFrame({"user_id": [1.0], "score": ["high"], "extra": [1]}),
    "bad-polars": lambda: pl.DataFrame({"user_id": [1.0], "score": ["high"], "extra": [1]}),
    "bad-lazy": lambda: pl.DataFrame({"user_id": [1.0], "score": ["high"]}).lazy(),
}


@pytest.mark.parametrize("library", ["pandas", "polars", "lazy"])
def test_a_frame_matching_the_schema_is_dumped(workspace, library) -> None:
    assert cairn.build(Scores(frame=f"good-{library}"), workspace=workspace) is not None


@pytest.mark.parametrize("library", ["pandas", "polars", "lazy"])
def test_schema_error_lists_every_mismatch(workspace, library) -> None:
    task = Scores(frame=f"bad-{library}")
    with pytest.raises(cairn.BuildError) as info:
        cairn.build(task, workspace=workspace)
    error = info.value.failures[task]
    assert isinstance(error, cairn.SchemaError)
    message = str(error)
    assert "3 problem(s)" in message
    assert "column 'user_id': expected int64, found float64" in message
    assert "column 'score': expected float64, found string" in message
    assert "column 'name': missing (expected string)" in message
    assert not os.path.exists(os.path.join(workspace, task.output().path))


class SpelledTypes(cairn.Task):
    library = cairn.Parameter()
    schema = {
        "a": int,
        "b": np.float32,
        "c": pl.String,
        "d": "Boolean",
        "e": "datetime",
        "f": "category",
        "g": "Int64",
    }

    def output(self):
        return self.make_target("spelled.pkl")

    def run(self):
        frame = pd.DataFrame(
            {
                "a": [1],
                "b": np.array([1.0], dtype=np.float32),
                "c": ["x"],
                "d": [True],
                "e": pd.to_datetime(["2024-05-01"]).tz_localize("UTC"),
                "f": pd.Categorical(["k"]),
                "g": pd.array([1], dtype="Int64"),
            }
        )
        return frame if self.library == "pandas" else pl.from_pandas(frame)


@pytest.mark.parametrize("library", ["pandas", "polars"])
def test_one_schema_checks_pandas_and_polars_whatever_the_type_spelling(workspace, library):
    assert cairn.build(SpelledTypes(library=library), workspace=workspace) is not None


class SharedSchemaBase(cairn.Task):
    """Tasks deriving from this share its schema."""

    schema = {"id": "int64"}


class UsesSharedSchema(SharedSchemaBase):
    def output(self):
        return self.make_target("shared.pkl")

    def run(self):
        return pd.DataFrame({"id": ["not", "ints"]})


def test_a_schema_is_shared_through_a_base_class(workspace) -> None:
    with pytest.raises(cairn.BuildError, match="column 'id': expected int64, found string"):
        cairn.build(UsesSharedSchema(), workspace=workspace)


class PerOutput(cairn.Task):
    schema = {"train": {"x": "float64"}, "model": {}}

    def output(self):
        return {"train": self.make_target("train.parquet"), "model": self.make_target("m.pkl")}

    def run(self):
        self.dump({"weights": [1, 2]}, "model")  # not a frame: never checked
        self.dump(pd.DataFrame({"x": [1]}), "train")


def test_a_schema_may_be_given_per_output(workspace) -> None:
    with pytest.raises(cairn.BuildError, match=r"(?s)output 'train'.*column 'x': expected float64"):
        cairn.build(PerOutput(), workspace=workspace)


class TypoSchema(cairn.Task):
    schema = {"x": "flaot64"}

    def output(self):
        return self.make_target("t.pkl")

    def run(self):
        return pd.DataFrame({"x": [1.0]})


def test_an_unknown_type_name_gets_a_suggestion(workspace) -> None:
    with pytest.raises(cairn.BuildError, match=r"no type cairn knows; did you mean 'float64'"):
        cairn.build(TypoSchema(), workspace=workspace)


class SchemaParameter(cairn.Task):
    schema = cairn.Parameter(default="public")  # a database schema name, not column types

    def output(self):
        return self.make_target("p.pkl")

    def run(self):
        return pd.DataFrame({"x": [1]})


def test_a_parameter_named_schema_is_not_taken_for_column_types(workspace) -> None:
    assert cairn.build(SchemaParameter(), workspace=workspace)["x"].tolist() == [1]


PANDERA_PANDAS = pa_pd.DataFrameSchema(
    {"age": pa_pd.Column(int, pa_pd.Check.ge(0)), "city": pa_pd.Column(str)}
)


class CityModel(pa_pl.DataFrameModel):
    age: int = pa_pl.Field(ge=0)
    city: str


class Pandera(cairn.Task):
    library = cairn.Parameter()
    ages = cairn.ListParameter()

    def output(self):
        return self.make_target("pandera.parquet")

    def run(self):
        frame = pd.DataFrame({"age": list(self.ages), "city": ["a"] * len(self.ages)})
        return frame if self.library == "pandas" else pl.from_pandas(frame)


class PanderaPandas(Pandera):
    schema = PANDERA_PANDAS


class PanderaPolars(Pandera):
    schema = CityModel


@pytest.mark.parametrize("cls", [PanderaPandas, PanderaPolars])
def test_pandera_schemas_are_checked_on_dump(workspace, cls) -> None:
    library = "pandas" if cls is PanderaPandas else "polars"
    assert cairn.build(cls(library=library, ages=[1, 2]), workspace=workspace) is not None
    task = cls(library=library, ages=[3, -4])
    with pytest.raises(cairn.BuildError) as info:
        cairn.build(task, workspace=workspace)
    error = info.value.failures[task]
    assert isinstance(error, cairn.SchemaError)
    assert "pandera schema" in str(error) and "greater_than_or_equal_to(0)" in str(error)


# --- empty frames -------------------------------------------------------------------------

EMPTY = {
    "pandas": lambda: pd.DataFrame({"a": pd.Series([], dtype="int64")}),
    "polars": lambda: pl.DataFrame({"a": []}, schema={"a": pl.Int64}),
    "polars.lazy": lambda: pl.DataFrame({"a": [1, 2]}).lazy().filter(pl.col("a") > 5),
}


class MaybeEmpty(cairn.Task):
    library = cairn.Parameter()
    empty = cairn.BoolParameter(default=True)
    fail_on_empty_dump = True

    def output(self):
        return self.make_target("maybe.parquet")

    def run(self):
        return EMPTY[self.library]() if self.empty else MAKERS[self.library]()


class EmptyAllowed(MaybeEmpty):
    fail_on_empty_dump = False


@pytest.mark.parametrize("library", sorted(EMPTY))
def test_fail_on_empty_dump_refuses_an_empty_frame(workspace, library) -> None:
    task = MaybeEmpty(library=library)
    with pytest.raises(cairn.BuildError) as info:
        cairn.build(task, workspace=workspace)
    error = info.value.failures[task]
    assert isinstance(error, cairn.EmptyDumpError)
    assert "fail_on_empty_dump = True" in str(error) and repr(task) in str(error)
    assert not os.path.exists(os.path.join(workspace, task.output().path))
    assert cairn.build(MaybeEmpty(library=library, empty=False), workspace=workspace) is not None


@pytest.mark.parametrize("library", sorted(EMPTY))
def test_empty_frames_are_dumped_when_not_asked_to_fail(workspace, library) -> None:
    loaded = cairn.build(EmptyAllowed(library=library), workspace=workspace)
    assert type(loaded) is TYPES[library]


# --- function pipelines --------------------------------------------------------------------


def make_polars() -> pl.DataFrame:
    return pl.DataFrame({"a": [1, 2], "b": ["x", "y"]})


def library_of(frame: Any) -> str:
    return type(frame).__module__.partition(".")[0]


@pytest.mark.parametrize("extension", [None, ".csv", ".feather"])
def test_a_pipeline_node_receives_the_frame_type_its_upstream_returned(workspace, extension):
    pipe = cairn.Pipeline(
        [
            cairn.node(make_polars, outputs="frame", extension=extension),
            cairn.node(library_of, inputs=["frame"], outputs="library"),
        ]
    )
    assert pipe.run()["library"] == "polars"


def test_large_frame_goes_to_parquet_in_row_groups_and_loads_whole(workspace):
    pd = pytest.importorskip("pandas")
    pq = pytest.importorskip("pyarrow.parquet")
    from cairn.formats import Parquet

    class Big(cairn.Task):
        def output(self):
            return self.make_target("big.parquet", format=Parquet(row_group_size=25_000))

        def run(self):
            return pd.DataFrame({"id": range(100_000), "x": [1.5] * 100_000})

    frame = cairn.build(Big())
    assert frame.shape == (100_000, 2) and frame["id"].sum() == sum(range(100_000))
    (target,) = Big()._outputs().values()
    assert pq.ParquetFile(f"{workspace}/{target.path}").num_row_groups == 4


class ObjectColumns(cairn.Task):
    """Object columns checked value by value: a class in the schema, not a column type."""

    values = cairn.Parameter()
    library = cairn.Parameter(default="pandas")
    schema = {"vec": np.ndarray, "tags": list}

    def output(self):
        return self.make_target("objects.pkl")

    def run(self):
        vectors = {
            "arrays": [np.zeros(2), None, np.ones(3)],
            "lists": [np.zeros(2), [1.0, 2.0], np.ones(3)],
        }[self.values]
        return pd.DataFrame({"vec": vectors, "tags": [["a"], [], ["b", "c"]]})


class ListColumn(cairn.Task):
    schema = {"tags": list}

    def output(self):
        return self.make_target("tags.parquet")

    def run(self):
        return pl.DataFrame({"tags": [["a"], [], ["b", "c"]]})


def test_a_class_in_the_schema_checks_a_polars_list_column_by_value(workspace):
    assert cairn.build(ListColumn(), workspace=workspace).shape == (3, 1)


@pytest.mark.parametrize("library", ["pandas"])
def test_a_class_in_the_schema_checks_every_value_of_an_object_column(workspace, library):
    built = cairn.build(ObjectColumns(values="arrays", library=library), workspace=workspace)
    assert len(built) == 3
    task = ObjectColumns(values="lists", library=library)
    with pytest.raises(cairn.BuildError) as info:
        cairn.build(task, workspace=workspace)
    error = info.value.failures[task]
    assert isinstance(error, cairn.SchemaError)
    assert "column 'vec': expected every value to be a ndarray, found list [1.0, 2.0] at row 1" in (
        str(error)
    )
    assert "1 problem(s)" in str(error)  # the lists in 'tags' are what the schema asks for
