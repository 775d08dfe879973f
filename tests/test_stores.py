"""Store contract: the same behaviour on a local directory, memory:// and S3 (moto server).

Objects are listed with fsspec directly, not through cairn, so the tests see what is really
in the store.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any, BinaryIO

import fsspec
import pytest

import cairn
import cairn.formats
from _servers import free_port
from _shared_graph import Leaf, Mid, runs_by_task


@pytest.fixture
def counts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory where tasks drop one side file per run."""
    path = tmp_path / "counts"
    path.mkdir()
    monkeypatch.setenv("CAIRN_TEST_COUNTS", str(path))
    return path


def objects(store: dict[str, Any], *, metadata: bool = False) -> list[str]:
    """Every object under the workspace, relative to it, as the file system itself lists;
    cairn's own metadata (``.cairn/``: code manifests, run histories) only if asked for."""
    fs, root = fsspec.core.url_to_fs(store["workspace"], **(store["storage_options"] or {}))
    fs.invalidate_cache()
    root = root.rstrip("/")
    if not fs.exists(root):
        return []
    found = sorted(path[len(root) + 1 :] for path in fs.find(root))
    return found if metadata else [p for p in found if not p.startswith(".cairn/")]


class BoomFormat:
    """Writes half an object, then fails, like a serializer hitting a bad value."""

    def dump(self, obj: Any, file: BinaryIO) -> None:
        file.write(b"half of it")
        raise ValueError("cannot serialise this value")

    def load(self, file: BinaryIO) -> Any:
        return file.read()


cairn.formats.register(".boom", BoomFormat())


class Exploding(cairn.Task[Any]):
    def requires(self) -> Leaf:
        return Leaf(i=1)

    def output(self) -> cairn.Target:
        return self.make_target("boom/exploding.boom")

    def run(self) -> None:
        self.dump(self.load())


class TwoOutputs(cairn.Task[Any]):
    def requires(self) -> list[Leaf]:
        return [Leaf(i=1), Leaf(i=2)]

    def output(self) -> dict[str, cairn.Target]:
        return {"sum": self.make_target("two/sum.json"), "raw": self.make_target("two/raw.pkl")}

    def run(self) -> None:
        first, second = self.load()
        self.dump(sum(first) + sum(second), "sum")
        self.dump([first, second], "raw")


def kinds(names: list[str]) -> list[str]:
    """``names`` reduced to ``Family.ext`` (ids dropped), sorted."""
    out = []
    for name in names:
        base = name.rsplit("/", 1)[-1]
        family, _, rest = base.partition("_")
        out.append(f"{family}.{rest.partition('.')[2]}")
    return sorted(out)


def test_build_stores_outputs_and_records_only_and_reuses_them(
    store: dict[str, Any], counts: Path
) -> None:
    task = Mid(leaves=[1, 2, 3])
    first = cairn.build(task, **store)
    assert first == cairn.build(task, **store)
    assert sorted(runs_by_task(counts).values()) == [1, 1, 1, 1]
    assert kinds(objects(store)) == ["Leaf.pkl"] * 3 + ["Leaf.run.json"] * 3 + [
        "Mid.pkl",
        "Mid.run.json",
    ]


def test_dict_output_task_stores_each_output_and_one_record(store: dict[str, Any]) -> None:
    result = cairn.build(TwoOutputs(), **store)
    assert result["sum"] == sum(result["raw"][0]) + sum(result["raw"][1])
    assert kinds(objects(store)) == [
        "Leaf.pkl",
        "Leaf.pkl",
        "Leaf.run.json",
        "Leaf.run.json",
        "TwoOutputs.run.json",
        "raw.pkl",
        "sum.json",
    ]


def test_failed_write_leaves_no_object_behind(store: dict[str, Any]) -> None:
    with pytest.raises(cairn.BuildError) as caught:
        cairn.build(Exploding(), **store)
    assert "cannot serialise" in str(caught.value)
    # no partial output: the leaf's output and record, and the failed task's failure record
    assert kinds(objects(store)) == ["Exploding.failed.json", "Leaf.pkl", "Leaf.run.json"]


def test_rerun_replaces_objects_whole_without_leftovers(store: dict[str, Any]) -> None:
    task = Mid(leaves=[4, 5])
    first = cairn.build(task, **store)
    before = objects(store)
    assert cairn.build(task, rerun="all", **store) == first
    assert objects(store) == before


def test_record_without_output_raises_output_not_found(store: dict[str, Any]) -> None:
    task = Leaf(i=7)
    cairn.build(task, **store)
    fs, root = fsspec.core.url_to_fs(store["workspace"], **(store["storage_options"] or {}))
    output = next(name for name in objects(store) if name.endswith(".pkl"))
    fs.rm_file(f"{root.rstrip('/')}/{output}")
    with pytest.raises(cairn.OutputNotFoundError, match="Leaf"):
        cairn.build(task, **store)


def test_s3_writes_each_object_with_one_put_and_the_record_last(moto_s3: Any) -> None:
    bucket = moto_s3.new_bucket()
    moto_s3.api("recorder/reset-recording", b"")
    moto_s3.api("recorder/start-recording", b"")
    try:
        cairn.build(
            TwoOutputs(),
            workspace=f"s3://{bucket}/ws",
            storage_options=moto_s3.storage_options,
            executor="threads",
            workers=4,
        )
    finally:
        moto_s3.api("recorder/stop-recording", b"")
    requests = [
        json.loads(line) for line in moto_s3.api("recorder/download-recording").splitlines()
    ]
    writes = [
        (r["method"], r["url"].partition(f"/{bucket}/ws/")[2].partition("?")[0])
        for r in requests
        if f"/{bucket}/" in r["url"] and r["method"] not in ("GET", "HEAD")
    ]
    # first, before any run(), the build checks that the store is writable: one probe
    # object put (and overwritten by the next build: nothing is ever deleted)
    probe_put, writes = writes[0], writes[1:]
    assert probe_put == ("PUT", ".cairn/writable")
    assert [method for method, _ in writes] == ["PUT"] * len(writes)  # no POST, COPY, DELETE
    meta = sorted(key.split("/")[1] for _, key in writes if key.startswith(".cairn/"))
    assert meta == ["code", "code", "history", "history"]  # per class, per family: once
    puts = [key for _, key in writes if not key.startswith(".cairn/")]
    assert len(puts) == len(set(puts)) == 7  # two leaves: 2 + 2; TwoOutputs: 2 outputs + 1
    by_task: dict[str, list[str]] = {}
    for key in puts:
        task_id = key.rsplit("/", 1)[-1].partition("_")[2].partition(".")[0]
        by_task.setdefault(task_id, []).append(key)
    assert sorted(len(keys) for keys in by_task.values()) == [2, 2, 3]
    for keys in by_task.values():
        assert keys[-1].endswith(".run.json"), keys
        assert not any(key.endswith(".run.json") for key in keys[:-1]), keys


def test_missing_bucket_fails_the_build_before_any_run_saying_create_it(moto_s3: Any) -> None:
    with pytest.raises(cairn.StoreError) as caught:
        cairn.build(
            Leaf(i=1),
            workspace=f"s3://no-such-bucket-{uuid.uuid4().hex[:8]}/ws",
            storage_options=moto_s3.storage_options,
        )
    error = caught.value
    assert "does not exist" in str(error) and "Create it" in str(error)
    assert "nothing was run" in str(error)


def test_unreachable_s3_endpoint_raises_store_error_saying_what_to_check() -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    options = {
        "key": "k",
        "secret": "s",
        "endpoint_url": endpoint,
        "config_kwargs": {"retries": {"max_attempts": 1}},
    }
    with pytest.raises(cairn.StoreError) as caught:
        cairn.plan(Leaf(i=1), workspace="s3://bucket/ws", storage_options=options)
    message = str(caught.value)
    assert endpoint in message and "reachable" in message and "storage_options" in message


def test_unknown_scheme_raises_store_error() -> None:
    with pytest.raises(cairn.StoreError, match=r"nosuch.*fsspec URL"):
        cairn.plan(Leaf(i=1), workspace="nosuch://somewhere")


def test_missing_filesystem_package_names_the_extra_to_install() -> None:
    code = (
        "import sys; sys.modules['s3fs'] = None\n"
        "import cairn\n"
        "from _shared_graph import Leaf\n"
        "try:\n"
        "    cairn.plan(Leaf(i=1), workspace='s3://bucket/ws')\n"
        "except cairn.MissingExtraError as exc:\n"
        "    print(exc)\n"
    )
    env_path = str(Path(__file__).parent)
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": env_path, "PATH": ""},
        check=True,
    ).stdout
    assert "pip install 'cairn[s3]'" in out


class Labelled(cairn.Task):
    name = cairn.Parameter()
    note = cairn.Parameter(default="", significant=False)

    def run(self):
        return {"name": self.name}


def test_outputs_on_s3_carry_family_id_and_parameters_as_metadata(moto_s3: Any) -> None:
    import fsspec

    workspace = f"s3://{moto_s3.new_bucket()}/ws"
    task = Labelled(name="x" * 5000, note="kept out")
    cairn.build(task, workspace=workspace, storage_options=moto_s3.storage_options)
    fs, root = fsspec.core.url_to_fs(workspace, **moto_s3.storage_options)
    (output,) = task._outputs().values()
    metadata = {k.lower(): v for k, v in fs.metadata(f"{root}/{output.path}").items()}
    assert metadata["cairn-family"] == Labelled.family
    assert metadata["cairn-task-id"] == task.task_id
    assert metadata["cairn-params"].startswith('{"name": "xxx')  # trimmed to S3's 2 KiB
    assert metadata["cairn-params"].endswith("...")
    assert sum(len(k) + len(v) for k, v in metadata.items()) <= 2048
    assert "note" not in metadata["cairn-params"]  # not significant


class LabelledDownstream(cairn.Task):
    upstream = cairn.TaskParameter()

    def run(self):
        self.dump(self.load("upstream"), custom_labels={"team": "ml", "run": 7})


def test_an_output_names_the_outputs_it_required_and_takes_custom_labels(moto_s3: Any) -> None:
    import fsspec

    workspace = f"s3://{moto_s3.new_bucket()}/ws"
    task = LabelledDownstream(upstream=Labelled(name="a"))
    cairn.build(task, workspace=workspace, storage_options=moto_s3.storage_options)
    fs, root = fsspec.core.url_to_fs(workspace, **moto_s3.storage_options)
    (output,) = task._outputs().values()
    metadata = {k.lower(): v for k, v in fs.metadata(f"{root}/{output.path}").items()}
    (upstream_output,) = Labelled(name="a")._outputs().values()
    assert json.loads(metadata["cairn-required-outputs"]) == [upstream_output.path]
    assert metadata["team"] == "ml" and metadata["run"] == "7"


class ClashingLabels(cairn.Task):
    def run(self):
        self.dump(1, custom_labels={"cairn-task-id": "x"})


class NonTextLabels(cairn.Task):
    def run(self):
        self.dump(1, custom_labels={1: "x"})


@pytest.mark.parametrize(
    ("task", "message"),
    [(ClashingLabels(), "cairn's own"), (NonTextLabels(), "dict of name -> value")],
)
def test_custom_labels_that_clash_or_are_not_text_are_refused(tmp_path, task, message) -> None:
    with pytest.raises(cairn.BuildError) as info:
        cairn.build(task, workspace=str(tmp_path))
    error = info.value.failures[task]
    assert isinstance(error, cairn.CairnError) and message in str(error)
    assert not list(tmp_path.rglob("*.pkl"))  # nothing written


def test_labels_are_trimmed_to_the_limit_in_order() -> None:
    from cairn.storage.store import trim_labels

    labels = {"a": "1" * 10, "b": "2" * 10, "c": "3"}
    assert trim_labels(labels, 100) == labels
    assert trim_labels(labels, 18) == {"a": "1" * 10, "b": "222..."}
    assert trim_labels({"k": "é"}, 100) == {"k": "\\xe9"}


def test_a_pickled_store_leaves_its_secret_options_behind_unless_told_to_ship_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import pickle

    from cairn.storage.store import open_store

    options = {
        "key": "AKIA-not-shipped",
        "secret": "s3cret-not-shipped",
        "client_kwargs": {"region_name": "eu-west-1", "aws_session_token": "t0ken-not-shipped"},
        "use_ssl": False,
    }
    monkeypatch.delenv("CAIRN_SHIP_CREDENTIALS", raising=False)
    store = open_store(f"memory://cairn-{uuid.uuid4().hex[:8]}/ws", options)
    shipped = pickle.dumps(store)  # what travels to a worker inside each task
    for secret in (b"AKIA-not-shipped", b"s3cret-not-shipped", b"t0ken-not-shipped"):
        assert secret not in shipped
    arrived = pickle.loads(shipped)
    assert arrived.url == store.url
    assert arrived.storage_options == {
        "client_kwargs": {"region_name": "eu-west-1"},
        "use_ssl": False,
    }
    assert store.storage_options == options  # the client keeps them all

    monkeypatch.setenv("CAIRN_SHIP_CREDENTIALS", "1")
    opted = open_store(store.url, options)
    assert pickle.loads(pickle.dumps(opted)).storage_options == options


def test_a_local_folder_removed_while_the_store_is_open_is_made_again(tmp_path: Path) -> None:
    import shutil

    from cairn.storage.store import LocalStore

    store = LocalStore(str(tmp_path / "ws"))
    store.write_bytes("family/a.json", b"1")
    shutil.rmtree(tmp_path / "ws" / "family")  # say, by a clean-up in another process
    written = store.write_bytes("family/b.json", b"22")
    assert (tmp_path / "ws" / "family" / "b.json").read_bytes() == b"22"
    assert written.size == 2
    assert not list((tmp_path / "ws").rglob("*.tmp"))
