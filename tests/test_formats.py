"""Formats: every built-in format round-trips through a task on every store, users can
register their own, and wrong objects get errors that say what to use instead."""

from __future__ import annotations

import io
import json
import os
import re
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

import cairn
import cairn.formats


@dataclass(frozen=True)
class Case:
    extension: str
    make: Callable[[], Any]
    check: Callable[[Any, Any], None]


def _equal(loaded: Any, original: Any) -> None:
    assert type(loaded) is type(original)
    assert loaded == original


def _pandas_equal(loaded: Any, original: Any) -> None:
    assert type(loaded) is pd.DataFrame
    pd.testing.assert_frame_equal(loaded, original)


def _polars_equal(loaded: Any, original: Any) -> None:
    assert type(loaded) is type(original)
    if isinstance(loaded, pl.LazyFrame):
        loaded, original = loaded.collect(), original.collect()
    assert loaded.equals(original), (loaded, original)


def _pixels_equal(loaded: Any, original: Any) -> None:
    assert isinstance(loaded, Image.Image)
    if isinstance(original, bytes):
        original = Image.open(io.BytesIO(original))
    np.testing.assert_array_equal(np.asarray(loaded), np.asarray(original))


def _xml_equal(loaded: Any, original: Any) -> None:
    assert isinstance(loaded, ET.ElementTree)
    assert ET.tostring(loaded.getroot()) == ET.tostring(original)


def _pandas_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "user_id": [3, 1, 2],
            "score": [0.5, 1.25, -2.0],
            "name": ["ann", "bo", "çé"],
        }
    )


def _indexed_frame() -> pd.DataFrame:
    frame = _pandas_frame().assign(
        day=pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"]),
        kind=pd.Categorical(["a", "b", "a"]),
    )
    return frame.set_index(pd.Index(["x", "y", "z"], name="key"))


def _multi_indexed_frame() -> pd.DataFrame:
    index = pd.MultiIndex.from_tuples([("a", 1), ("a", 2), ("b", 1)], names=["g", "n"])
    return _pandas_frame().set_index(index)


def _polars_frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "user_id": [3, 1, 2],
            "score": [0.5, 1.25, None],
            "name": ["ann", "bo", "çé"],
            "tags": [["p"], [], ["q", "r"]],
        }
    )


def _png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 3), (10, 200, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def _pixels() -> np.ndarray:
    return np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)


def _jpeg_close(loaded: Any, original: Any) -> None:
    assert isinstance(loaded, Image.Image) and loaded.format == "JPEG"
    assert loaded.size == original.size and loaded.mode == "RGB"
    diff = np.abs(np.asarray(loaded, dtype=int) - np.asarray(original, dtype=int))
    assert diff.max() < 16


def _xml_tree() -> ET.Element:
    root = ET.Element("run", {"id": "7"})
    ET.SubElement(root, "metric", {"name": "auc"}).text = "0.93"
    ET.SubElement(root, "note").text = "grüße"
    return root


def _npz_equal(loaded: Any, original: Any) -> None:
    assert isinstance(loaded, dict) and loaded.keys() == original.keys()
    for name, array in original.items():
        np.testing.assert_array_equal(loaded[name], array)
        assert loaded[name].dtype == array.dtype


def _npy_equal(loaded: Any, original: Any) -> None:
    np.testing.assert_array_equal(loaded, original)
    assert loaded.dtype == original.dtype


def _pickle_check(loaded: Any, original: Any) -> None:
    assert loaded["data"] == original["data"]
    assert loaded["square"](7) == 49


CASES: dict[str, Case] = {
    "pkl": Case(
        ".pkl",
        lambda: {"data": ({1, 2}, (3, "x"), [None, 2.5]), "square": lambda x: x * x},
        _pickle_check,
    ),
    "json": Case(".json", lambda: {"a": [1, 2.5], "b": None, "c": "ü"}, _equal),
    "ndjson": Case(".ndjson", lambda: [{"a": 1}, [1, 2], "s", 3.5, None], _equal),
    "jsonl": Case(".jsonl", lambda: [{"event": "start"}, {"event": "stop"}], _equal),
    "txt": Case(".txt", lambda: "hello\nwörld\n", _equal),
    "gz": Case(".gz", lambda: "line one\nline twö\n" * 100, _equal),
    "csv-pandas": Case(".csv", _pandas_frame, _pandas_equal),
    "tsv-pandas": Case(
        ".tsv", lambda: _pandas_frame().assign(name=["a\tb", "c", "d"]), _pandas_equal
    ),
    "csv-polars": Case(".csv", lambda: _polars_frame().drop("tags"), _polars_equal),
    "tsv-polars-lazy": Case(".tsv", lambda: _polars_frame().drop("tags").lazy(), _polars_equal),
    "parquet-pandas-index": Case(".parquet", _indexed_frame, _pandas_equal),
    "parquet-pandas-multiindex": Case(".parquet", _multi_indexed_frame, _pandas_equal),
    "parquet-polars": Case(".parquet", _polars_frame, _polars_equal),
    "parquet-polars-lazy": Case(".parquet", lambda: _polars_frame().lazy(), _polars_equal),
    "parquet-arrow": Case(
        ".parquet", lambda: pa.table({"a": [1, 2], "b": ["x", None]}), lambda a, b: a.equals(b)
    ),
    "feather-pandas-index": Case(".feather", _indexed_frame, _pandas_equal),
    "feather-polars": Case(".feather", _polars_frame, _polars_equal),
    "pkl-pandas-multiindex": Case(".pkl", _multi_indexed_frame, _pandas_equal),
    "pkl-polars": Case(".pkl", _polars_frame, _polars_equal),
    "npy": Case(".npy", lambda: np.arange(12, dtype=np.float32).reshape(3, 4), _npy_equal),
    "npz": Case(".npz", lambda: {"x": np.arange(5), "mask": np.array([True, False])}, _npz_equal),
    "png-bytes": Case(".png", _png_bytes, _pixels_equal),
    "png-image": Case(".png", lambda: Image.new("RGBA", (3, 2), (1, 2, 3, 4)), _pixels_equal),
    "png-array": Case(".png", _pixels, lambda a, b: _pixels_equal(a, Image.fromarray(b))),
    "jpg-image": Case(".jpg", lambda: Image.fromarray(_pixels()), _jpeg_close),
    "jpeg-image": Case(".jpeg", lambda: Image.new("RGB", (8, 8), (90, 20, 200)), _jpeg_close),
    "xml": Case(".xml", _xml_tree, _xml_equal),
    # what gokart users write: frames as JSON records, any object as text, a bare .npz array
    "json-pandas": Case(".json", _pandas_frame, _pandas_equal),
    "ndjson-pandas": Case(".ndjson", _pandas_frame, _pandas_equal),
    "json-polars": Case(".json", _polars_frame, _polars_equal),
    "ndjson-polars-lazy": Case(".ndjson", lambda: _polars_frame().lazy(), _polars_equal),
    "json-arrow": Case(
        ".json", lambda: pa.table({"a": [1, 2], "b": ["x", None]}), lambda a, b: a.equals(b)
    ),
    "json-records": Case(".json", lambda: [{"a": 1, "b": "x"}, {"a": 2, "b": None}], _equal),
    "json-dict-of-lists": Case(".json", lambda: {"a": [1, 2], "b": ["x", "y"]}, _equal),
    "txt-list": Case(
        ".txt", lambda: [1, "two", 3.5], lambda loaded, _: _equal(loaded, ["1", "two", "3.5"])
    ),
    "txt-object": Case(".txt", lambda: 42, lambda loaded, _: _equal(loaded, "42")),
    "gz-tuple": Case(".gz", lambda: ("a", "b\n", "c"), lambda got, _: _equal(got, ["a", "b", "c"])),
    "npz-array": Case(".npz", lambda: np.arange(6, dtype=np.int16), _npy_equal),
    "csv-series": Case(
        ".csv",
        lambda: pd.Series([1.5, 2.0, None], name="score"),
        pd.testing.assert_series_equal,
    ),
}


class Produce(cairn.Task):
    """Dumps the object of one case to a target with that case's extension."""

    case = cairn.Parameter()

    def output(self):
        return self.make_target(f"out/{self.case}{CASES[self.case].extension}")

    def run(self):
        return CASES[self.case].make()


class Consume(cairn.Task):
    """Loads its input the way a downstream task does."""

    upstream = cairn.TaskParameter()

    def run(self):
        return {"loaded": self.load("upstream")}


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_builtin_format_round_trips_on_every_store(store: dict[str, Any], case: str) -> None:
    original = CASES[case].make()
    loaded = cairn.build(Produce(case=case), **store)
    CASES[case].check(loaded, original)


@pytest.mark.parametrize("case", ["parquet-pandas-index", "csv-polars", "npz", "xml"])
def test_a_downstream_task_loads_what_its_upstream_dumped(store: dict[str, Any], case: str) -> None:
    result = cairn.build(Consume(upstream=Produce(case=case)), **store)
    CASES[case].check(result["loaded"], CASES[case].make())


def test_every_builtin_extension_has_a_round_trip_case() -> None:
    builtin = {
        ext
        for ext, fmt in cairn.formats._registry.items()
        if (fmt if isinstance(fmt, str) else type(fmt).__module__).startswith("cairn.formats")
    }
    tested = {case.extension for case in CASES.values()}
    assert builtin - {".pickle"} == tested


# --- model targets ------------------------------------------------------------------------


class Model:
    def __init__(self, weights: list[float], vocabulary: dict[str, int]) -> None:
        self.weights = weights
        self.vocabulary = vocabulary


def save_model(model: Model, path: str) -> None:
    """Writes several files: a directory at ``path`` and a file beside it."""
    os.makedirs(os.path.join(path, "parts"))
    np.save(os.path.join(path, "parts", "weights.npy"), np.array(model.weights))
    with open(path + ".vocab.json", "w") as f:
        json.dump(model.vocabulary, f)


def load_model(path: str) -> Model:
    weights = np.load(os.path.join(path, "parts", "weights.npy")).tolist()
    with open(path + ".vocab.json") as f:
        return Model(weights, json.load(f))


class TrainModel(cairn.Task):
    def output(self):
        return self.make_model_target("models/model.zip", save_model, load_model)

    def run(self):
        return Model([0.5, -1.0, 2.0], {"a": 0, "b": 1})


def test_model_target_stores_what_save_function_writes_as_one_zip(store: dict[str, Any]) -> None:
    model = cairn.build(TrainModel(), **store)
    assert isinstance(model, Model)
    assert model.weights == [0.5, -1.0, 2.0] and model.vocabulary == {"a": 0, "b": 1}
    path = TrainModel().output().path
    assert path == f"models/model_{TrainModel().task_id}.zip"


def test_model_target_zip_is_a_plain_zip_with_every_file(tmp_path) -> None:
    import zipfile

    cairn.build(TrainModel(), workspace=str(tmp_path))
    with zipfile.ZipFile(tmp_path / TrainModel().output().path) as archive:
        assert sorted(archive.namelist()) == ["model.vocab.json", "model/parts/weights.npy"]


def test_model_target_path_must_end_with_zip() -> None:
    with pytest.raises(cairn.TargetError, match=r"must end with \.zip"):
        TrainModel().make_model_target("model.bin", save_model, load_model)


class SaveNothing(cairn.Task):
    def output(self):
        return self.make_model_target("m.zip", lambda obj, path: None, load_model)

    def run(self):
        return 1


def test_model_target_whose_save_function_writes_nothing_fails_clearly(tmp_path) -> None:
    with pytest.raises(cairn.BuildError, match="wrote nothing"):
        cairn.build(SaveNothing(), workspace=str(tmp_path))


# --- registry and options -----------------------------------------------------------------


class YamlLike:
    """A user's format: ``key: value`` lines."""

    def dump(self, obj: dict[str, str], file) -> None:
        file.write("".join(f"{k}: {v}\n" for k, v in obj.items()).encode())

    def load(self, file) -> dict[str, str]:
        lines = file.read().decode().splitlines()
        return dict(line.split(": ", 1) for line in lines)


class WritesConfig(cairn.Task):
    def output(self):
        return self.make_target("config.kv")

    def run(self):
        return {"lr": "0.1", "depth": "3"}


def test_a_registered_user_format_is_used_for_its_extension(store: dict[str, Any]) -> None:
    cairn.formats.register(".kv", YamlLike())
    try:
        assert cairn.build(WritesConfig(), **store) == {"lr": "0.1", "depth": "3"}
    finally:
        cairn.formats._registry.pop(".kv")


def test_unknown_extension_names_the_known_ones_and_register() -> None:
    with pytest.raises(cairn.FormatError, match=r"\.parquet.*cairn\.formats\.register"):
        WritesConfig().output()


def test_register_refuses_bad_extension_and_objects_without_dump_and_load() -> None:
    with pytest.raises(cairn.FormatError, match="must start with a dot"):
        cairn.formats.register("yaml", YamlLike())
    with pytest.raises(cairn.FormatError, match="lacks them"):
        cairn.formats.register(".yaml", object())


class SnappyParquet(cairn.Task):
    codec = cairn.Parameter(default="")

    def output(self):
        if self.codec:
            fmt = cairn.formats.Parquet(compression=self.codec)
            return self.make_target("t.parquet", format=fmt)
        return self.make_target("t.parquet")

    def run(self):
        return pd.DataFrame({"a": range(100)})


@pytest.mark.parametrize(("codec", "stored"), [("", "SNAPPY"), ("zstd", "ZSTD")])
def test_parquet_is_snappy_by_default_and_the_codec_is_configurable(tmp_path, codec, stored):
    task = SnappyParquet(codec=codec)
    cairn.build(task, workspace=str(tmp_path))
    meta = pq.ParquetFile(tmp_path / task.output().path).metadata
    assert meta.row_group(0).column(0).compression == stored


class MixedColumns(cairn.Task):
    dictionary = cairn.Parameter(default="")

    def output(self):
        if self.dictionary:
            options = {"use_dictionary": self.dictionary == "all"}
            return self.make_target("t.parquet", format=cairn.formats.Parquet(**options))
        return self.make_target("t.parquet")

    def run(self):
        return pd.DataFrame(
            {
                "price": [1.5, 2.5] * 50,
                "score": pd.array([0.5, 1.0] * 50, dtype="float32"),
                "country": ["JP", "US"] * 50,
                "user": [7, 8] * 50,
                "tags": [["a", "b"]] * 100,
            }
        )


def _dictionary_encoded(path: Any) -> dict[str, bool]:
    group = pq.ParquetFile(path).metadata.row_group(0)
    return {
        group.column(i).path_in_schema: "RLE_DICTIONARY" in group.column(i).encodings
        for i in range(group.num_columns)
    }


@pytest.mark.parametrize(
    ("dictionary", "encoded"),
    [
        ("", {"price": False, "score": False, "country": True, "user": True, "tags": True}),
        ("all", dict.fromkeys(["price", "score", "country", "user", "tags"], True)),
        ("none", dict.fromkeys(["price", "score", "country", "user", "tags"], False)),
    ],
)
def test_parquet_dictionary_encodes_all_but_float_columns_unless_told(
    tmp_path, dictionary, encoded
):
    task = MixedColumns(dictionary=dictionary)
    frame = cairn.build(task, workspace=str(tmp_path))
    found = _dictionary_encoded(tmp_path / task.output().path)
    assert {path.split(".")[0]: used for path, used in found.items()} == encoded
    pd.testing.assert_frame_equal(frame, task.run())
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / task.output().path), task.run())


def test_gzip_text_is_byte_for_byte_reproducible(tmp_path) -> None:
    first = cairn.build(Produce(case="gz"), workspace=str(tmp_path / "a"))
    second = cairn.build(Produce(case="gz"), workspace=str(tmp_path / "b"))
    path = Produce(case="gz").output().path
    assert first == second
    assert (tmp_path / "a" / path).read_bytes() == (tmp_path / "b" / path).read_bytes()


def test_images_load_as_bytes_without_pillow(tmp_path, monkeypatch) -> None:
    expected = _png_bytes()
    cairn.build(Produce(case="png-bytes"), workspace=str(tmp_path))
    monkeypatch.setitem(sys.modules, "PIL", None)  # what an environment without Pillow has
    loaded = cairn.build(Produce(case="png-bytes"), workspace=str(tmp_path))
    assert loaded == expected


# --- objects a format cannot write --------------------------------------------------------


class DumpInto(cairn.Task):
    extension = cairn.Parameter()
    what = cairn.Parameter()

    def output(self):
        return self.make_target("x" + self.extension)

    def run(self):
        return BAD_OBJECTS[self.what]()


BAD_OBJECTS: dict[str, Callable[[], Any]] = {
    "list": lambda: [1, 2],
    "objects": lambda: np.array([{"a": 1}, None]),
    "gif-bytes": lambda: b"GIF89a....",
    "rgba": lambda: Image.new("RGBA", (2, 2)),
    "string": lambda: "<a/>",
    "set": lambda: {1, 2},
    "number": lambda: 3,
}


@pytest.mark.parametrize(
    ("extension", "what", "message"),
    [
        (".parquet", "list", r"takes a pandas or polars DataFrame.*not list; use \.pkl"),
        (".csv", "number", r"\.csv target takes a pandas or polars DataFrame"),
        (".npy", "objects", r"holds Python objects.*use a \.pkl target"),
        (".npz", "list", r"numpy array or a dict of name -> numpy array"),
        (".png", "gif-bytes", r"not a PNG image"),
        (".jpg", "rgba", r"JPEG has no alpha channel"),
        (".xml", "string", r"takes an xml\.etree"),
        (".json", "set", r"cannot write set as JSON.*\.pkl"),
        (".ndjson", "number", r"takes a list of JSON values"),
        (".txt", "gif-bytes", r"\.txt target takes text, not bytes; decode it first"),
        (".gz", "gif-bytes", r"\.gz target takes text, not bytes"),
    ],
)
def test_an_object_a_format_cannot_write_fails_with_what_to_use(
    tmp_path, extension, what, message
) -> None:
    with pytest.raises(cairn.BuildError) as info:
        cairn.build(DumpInto(extension=extension, what=what), workspace=str(tmp_path))
    (error,) = info.value.failures.values()
    assert isinstance(error, cairn.FormatError)
    assert re.search(message, str(error)), str(error)
    outputs = [  # cairn's own files (.cairn/: build logs, manifests) are not outputs
        p
        for p in tmp_path.rglob("*")
        if not p.name.endswith(".failed.json") and ".cairn" not in p.relative_to(tmp_path).parts
    ]
    assert not any(p.name.endswith(extension) for p in outputs), "no output stored"


def test_run_record_checksum_is_the_crc32_of_the_stored_bytes(store: dict[str, Any]) -> None:
    import zlib

    import fsspec

    task = Produce(case="parquet-polars")
    cairn.build(task, **store)
    options = store["storage_options"] or {}
    with fsspec.open(f"{store['workspace']}/{task.record_path()}", "rb", **options) as f:
        output = json.load(f)["outputs"][""]
    with fsspec.open(f"{store['workspace']}/{output['path']}", "rb", **options) as f:
        data = f.read()
    assert output["size"] == len(data)
    assert output["checksum"] == f"crc32:{zlib.crc32(data):08x}"


# --- frames as JSON, text of any object, csv options (what gokart users write) -------------


class FrameTo(cairn.Task):
    """Dumps a small frame of ``library`` to ``out.{extension}``."""

    extension = cairn.Parameter()
    library = cairn.Parameter(default="pandas")

    def output(self):
        return self.make_target("out" + self.extension, use_unique_id=False)

    def run(self):
        frame = _pandas_frame()
        return pl.from_pandas(frame) if self.library == "polars" else frame


@pytest.mark.parametrize("library", ["pandas", "polars"])
def test_frames_written_as_json_and_ndjson_are_read_directly_by_pandas_and_polars(
    tmp_path, library
) -> None:
    expected = _pandas_frame()
    for extension, read_pandas, read_polars in [
        (".json", lambda p: pd.read_json(p, orient="records"), pl.read_json),
        (".ndjson", lambda p: pd.read_json(p, lines=True), pl.read_ndjson),
    ]:
        cairn.build(FrameTo(extension=extension, library=library), workspace=str(tmp_path))
        path = tmp_path / f"out{extension}"
        pd.testing.assert_frame_equal(read_pandas(path), expected)
        assert read_polars(path).to_pandas().equals(expected)
        if extension == ".json":  # records, not columns: one object per row
            assert json.loads(path.read_text())[0] == {"user_id": 3, "score": 0.5, "name": "ann"}
        else:
            assert path.read_text().count("\n") == 3


def test_a_frame_with_an_index_warns_that_json_records_drop_it(tmp_path) -> None:
    class Indexed(cairn.Task):
        def output(self):
            return self.make_target("indexed.json")

        def run(self):
            return _indexed_frame()

    with pytest.warns(UserWarning, match=r"index of this frame is not written to \.json"):
        cairn.build(Indexed(), workspace=str(tmp_path))


class CsvWith(cairn.Task):
    """A frame of Japanese text through ``Csv(separator, encoding)``."""

    separator = cairn.Parameter(default=",")
    encoding = cairn.Parameter(default="utf-8")
    library = cairn.Parameter(default="pandas")

    def output(self):
        fmt = cairn.formats.Csv(separator=self.separator, encoding=self.encoding)
        return self.make_target("table.csv", use_unique_id=False, format=fmt)

    def run(self):
        frame = pd.DataFrame({"品名": ["りんご", "みかん"], "price": [120, 80]})
        return pl.from_pandas(frame) if self.library == "polars" else frame


@pytest.mark.parametrize("library", ["pandas", "polars"])
def test_csv_targets_take_an_encoding_and_a_separator(tmp_path, library) -> None:
    task = CsvWith(separator=";", encoding="cp932", library=library)
    loaded = cairn.build(task, workspace=str(tmp_path))
    raw = (tmp_path / "table.csv").read_bytes()
    assert raw.decode("cp932").splitlines()[:2] == ["品名;price", "りんご;120"]
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    frame = loaded.to_pandas() if library == "polars" else loaded
    assert list(frame["品名"]) == ["りんご", "みかん"] and list(frame["price"]) == [120, 80]
    again = pd.read_csv(tmp_path / "table.csv", sep=";", encoding="cp932")
    assert list(again.columns) == ["品名", "price"]


def test_a_csv_encoding_that_cannot_hold_the_text_says_so(tmp_path) -> None:
    with pytest.raises(cairn.BuildError) as info:
        cairn.build(CsvWith(encoding="ascii"), workspace=str(tmp_path))
    (error,) = info.value.failures.values()
    assert isinstance(error, cairn.FormatError)
    assert "ascii cannot encode" in str(error) and "utf-8" in str(error)
    assert not (tmp_path / "table.csv").exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"encoding": "no-such-codec"}, "unknown text encoding 'no-such-codec'"),
        ({"separator": ";;"}, "a csv separator is one character"),
    ],
)
def test_bad_csv_options_are_refused_when_the_format_is_made(options, message) -> None:
    with pytest.raises(cairn.FormatError, match=message):
        cairn.formats.Csv(**options)


def test_a_generator_written_as_text_loads_back_as_its_lines(tmp_path) -> None:
    class Lines(cairn.Task):
        def output(self):
            return self.make_target("lines.txt")

        def run(self):
            self.dump(f"row {i}" for i in range(3))

    assert cairn.build(Lines(), workspace=str(tmp_path)) == ["row 0", "row 1", "row 2"]


@pytest.mark.parametrize("value", [7, 2**80, -1.25, 2j, "text é", b"\x00raw", True, False])
def test_a_plain_value_is_pickled_as_cloudpickle_writes_it(workspace: str, value: Any) -> None:
    import cloudpickle

    class Plain(cairn.Task):
        v = cairn.Parameter()

        def run(self):
            return value

    task = Plain(v=repr(value))
    assert cairn.build(task) == value
    stored = (Path(workspace) / task.output().path).read_bytes()
    assert stored == cloudpickle.dumps(value, protocol=5)
