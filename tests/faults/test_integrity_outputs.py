"""Outputs whose bytes are not what their run record describes (bit flip, truncated, emptied,
garbage): every load checks size and CRC-32 and raises one CorruptOutputError naming the
file; a build reruns the task, and what needs it, with a warning naming the file."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import cairn


def _frame() -> Any:
    import pandas as pd

    return pd.DataFrame({"a": [1, 2, 3], "b": [0.5, 1.5, 2.5]})


def _array() -> Any:
    import numpy as np

    return np.arange(12, dtype="float64").reshape(3, 4)


def _same_frame(a: Any, b: Any) -> bool:
    return bool(a.reset_index(drop=True).equals(b.reset_index(drop=True)))


def _same_array(a: Any, b: Any) -> bool:
    import numpy as np

    return bool(np.array_equal(a, b))


def _equal(a: Any, b: Any) -> bool:
    return bool(a == b)


#: extension -> (make the value, compare two values)
FORMATS: dict[str, tuple[Callable[[], Any], Callable[[Any, Any], bool]]] = {
    ".pkl": (lambda: {"numbers": list(range(50)), "name": "x" * 40}, _equal),
    ".json": (lambda: {"numbers": list(range(50)), "name": "x" * 40}, _equal),
    ".jsonl": (lambda: [{"i": i, "s": "v" * 10} for i in range(20)], _equal),
    ".txt": (lambda: "line of text\n" * 30, _equal),
    ".gz": (lambda: "line of text\n" * 30, _equal),
    ".csv": (_frame, _same_frame),
    ".tsv": (_frame, _same_frame),
    ".parquet": (_frame, _same_frame),
    ".feather": (_frame, _same_frame),
    ".npy": (_array, _same_array),
}


def _bit_flip(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1 :]


CORRUPTIONS: dict[str, Callable[[bytes], bytes]] = {
    "bit_flip": _bit_flip,
    "truncated": lambda data: data[: len(data) // 2],
    "emptied": lambda data: b"",
    "garbage": lambda data: b"\x00\xffgarbage\x80" * max(1, len(data) // 11),
    "same_size_garbage": lambda data: bytes((b + 1) % 256 for b in data),
}

CASES = [(ext, how) for ext in FORMATS for how in CORRUPTIONS]


class Make(cairn.Task):
    extension = cairn.Parameter()

    def output(self):
        return self.make_target(f"made/value{self.extension}")

    def run(self):
        return FORMATS[self.extension][0]()


class Use(cairn.Task):
    up = cairn.TaskParameter()

    def run(self):
        self.load("up")
        return "used"


def _output_file(workspace: str, task: cairn.Task) -> Path:
    return Path(workspace) / task.output().path


class CorruptThenUse(cairn.Task):
    """Corrupts its input's file after the plan checked it, then loads it."""

    up = cairn.TaskParameter()
    how = cairn.Parameter()

    def run(self):
        file = Path(os.environ["CAIRN_WORKSPACE"]) / self.up.output().path
        file.write_bytes(CORRUPTIONS[self.how](file.read_bytes()))
        self.load("up")
        return "loaded"


@pytest.mark.parametrize(("extension", "how"), CASES)
def test_loading_a_corrupt_output_names_the_file(workspace, extension, how):
    make, same = FORMATS[extension]
    up = Make(extension=extension)
    cairn.build(up)
    file = _output_file(workspace, up)
    good = file.read_bytes()
    with pytest.raises(cairn.BuildError) as info:
        cairn.build(CorruptThenUse(up=up, how=how))
    cause = info.value.__cause__
    assert isinstance(cause, cairn.CorruptOutputError), repr(cause)
    assert up.output().path in str(cause)
    assert "bytes" in str(cause) or "checksum" in str(cause)
    # the next build finds it, reruns the input, and every stored result is right again
    assert cairn.build(up) is not None
    assert same(cairn.build(up), make())
    assert file.read_bytes() == good


@pytest.mark.parametrize(("extension", "how"), CASES)
def test_build_reruns_a_corrupt_root(workspace, extension, how, caplog):
    make, same = FORMATS[extension]
    task = Make(extension=extension)
    cairn.build(task)
    file = _output_file(workspace, task)
    good = file.read_bytes()
    file.write_bytes(CORRUPTIONS[how](good))
    with caplog.at_level(logging.WARNING):
        assert same(cairn.build(task), make())
    assert any(task.output().path in r.getMessage() for r in caplog.records)
    assert file.read_bytes() == good


@pytest.mark.parametrize(("extension", "how"), CASES)
def test_build_reruns_a_corrupt_input_and_its_downstream(workspace, extension, how, caplog):
    make, same = FORMATS[extension]
    up = Make(extension=extension)
    root = Use(up=up)
    assert cairn.build(root) == "used"
    file = _output_file(workspace, up)
    good = file.read_bytes()
    file.write_bytes(CORRUPTIONS[how](good))
    with caplog.at_level(logging.WARNING):
        assert cairn.build(root, rerun=True) == "used"
    assert file.read_bytes() == good
    assert any(up.output().path in r.getMessage() for r in caplog.records)
    assert same(cairn.build(up), make())
    assert cairn.build(root) == "used"


@pytest.mark.parametrize("how", list(CORRUPTIONS))
def test_strict_check_notices_a_corrupt_output_below(workspace, how, caplog):
    up = Make(extension=".json")
    root = Use(up=up)
    cairn.build(root)
    file = _output_file(workspace, up)
    file.write_bytes(CORRUPTIONS[how](file.read_bytes()))
    with caplog.at_level(logging.WARNING):
        plan = cairn.plan(root, strict_check=True)
    running = {e.task.task_id for e in plan.to_run}
    assert running == {up.task_id, root.task_id}
    assert any(up.output().path in r.getMessage() for r in caplog.records)
    cairn.build(root, strict_check=True)
    assert cairn.build(up) == FORMATS[".json"][0]()


def test_an_intact_output_loads_and_nothing_reruns(workspace):
    up = Make(extension=".parquet")
    root = Use(up=up)
    cairn.build(root)
    plan = cairn.plan(root, strict_check=True)
    assert plan.to_run == []
    assert _same_frame(cairn.build(up), _frame())


class Large(cairn.Task):
    """An output large enough (2 MiB) that a check of it is remembered for the process."""

    def output(self):
        return self.make_target("made/large.pkl")

    def run(self):
        return bytes(range(256)) * 8192


def test_a_large_output_changed_in_place_after_a_check_is_caught(workspace, caplog):
    # A build checks the output whole, then loads it: the load does not read it again when
    # the file is unchanged. A change behind cairn's back, even one that restores the
    # modification time and keeps the size, must still be seen by the next build and by
    # cairn verify.
    task = Large()
    good = cairn.build(task)
    assert cairn.build(task) == good  # the plan's check and the load: remembered now
    file = _output_file(workspace, task)
    data = file.read_bytes()
    before = file.stat()
    with open(file, "r+b") as out:
        out.seek(len(data) // 2)
        out.write(bytes([data[len(data) // 2] ^ 0xFF]))
    os.utime(file, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert file.stat().st_size == before.st_size
    assert file.stat().st_mtime_ns == before.st_mtime_ns
    assert not cairn.verify(task).clean
    with caplog.at_level(logging.WARNING):
        assert cairn.build(task) == good  # rerun: the corrupt output was not reused
    assert any(task.output().path in r.getMessage() for r in caplog.records)
    assert file.read_bytes() == data
    assert cairn.verify(task).clean


def _record(workspace: str, task: cairn.Task) -> dict[str, Any]:
    import json

    return dict(json.loads((Path(workspace) / task.record_path()).read_text()))


def _reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the outputs read whole to check them, from now on."""
    from cairn.storage import integrity

    calls: list[int] = []
    real = integrity.checksum_of

    def counting(file: Any) -> tuple[int, str]:
        calls.append(1)
        return real(file)

    monkeypatch.setattr(integrity, "checksum_of", counting)
    return calls


def _new_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forget what this process checked, as a new interpreter would have."""
    from cairn.storage import integrity

    monkeypatch.setattr(integrity, "_checked", {})


def test_a_large_local_output_is_known_by_the_stamp_its_record_keeps(workspace, monkeypatch):
    task = Large()
    good = cairn.build(task)
    entry = _record(workspace, task)["outputs"][""]
    file = _output_file(workspace, task)
    st = file.stat()
    assert (
        entry["stamp"] == f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"
    )
    _new_process(monkeypatch)
    reads = _reads(monkeypatch)
    assert cairn.build(task) == good  # the plan's check and the load: by stamp, no read
    assert reads == []


def test_a_small_output_or_one_in_an_object_store_keeps_no_stamp(workspace):
    small = Make(extension=".json")
    cairn.build(small)
    assert "stamp" not in _record(workspace, small)["outputs"][""]
    store = "memory://stamps-test"
    cairn.build(Large(), workspace=store)
    record = cairn.show(Large(), workspace=store)
    assert "stamp" not in record["outputs"][""]


def test_a_large_output_changed_in_place_is_caught_by_a_new_process(workspace, monkeypatch, caplog):
    # Same size, modification time put back: the change time (which nobody can set back)
    # and so the stamp differ from the record's, and the file is read whole.
    task = Large()
    good = cairn.build(task)
    file = _output_file(workspace, task)
    data = file.read_bytes()
    before = file.stat()
    with open(file, "r+b") as out:
        out.write(bytes([data[0] ^ 0xFF]))
    os.utime(file, ns=(before.st_atime_ns, before.st_mtime_ns))
    _new_process(monkeypatch)
    with caplog.at_level(logging.WARNING):
        assert [e.task.task_id for e in cairn.plan(task).to_run] == [task.task_id]
    assert any(task.output().path in r.getMessage() for r in caplog.records)
    assert cairn.build(task) == good
    assert file.read_bytes() == data


def test_a_copied_workspace_is_read_once_then_known_again(workspace, tmp_path, monkeypatch):
    import shutil

    task = Large()
    good = cairn.build(task)
    copy = str(tmp_path / "copy")
    shutil.copytree(workspace, copy)  # new inodes: the record's stamp is not theirs
    _new_process(monkeypatch)
    reads = _reads(monkeypatch)
    assert cairn.build(task, workspace=copy) == good
    assert len(reads) == 1  # the plan reads it whole; the load knows it from then on
    assert cairn.build(task, workspace=copy) == good
    assert len(reads) == 1
