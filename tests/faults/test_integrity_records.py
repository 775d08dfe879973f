"""Run records that do not parse or have the wrong shape: one CorruptRecordError naming the
file in every reader; a build treats the task as incomplete and reruns it, with a warning."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

import cairn
from _processes import run_cairn
from cairn.storage.records import RunRecord


class Numbers(cairn.Task):
    n = cairn.IntParameter(default=3)

    def run(self):
        return list(range(self.n))


class Total(cairn.Task):
    up = cairn.TaskParameter()

    def run(self):
        return sum(self.load("up"))


CORRUPTIONS = {
    "garbage": b"\x00\xff\x13garbage\x80",
    "empty": b"",
    "truncated": b'{"task_id": "ab", "outputs": {"": {"pa',
    "list": b"[1, 2, 3]",
    "outputs_int": b'{"outputs": 5}',
    "outputs_list": b'{"outputs": [1]}',
    "output_entry_int": b'{"outputs": {"": 5}}',
    "output_without_path": b'{"outputs": {"": {"size": 3}}}',
    "params_str": b'{"params": "n=3", "outputs": {}}',
    "future_version": b'{"cairn_record": 99, "outputs": {}}',
    "version_str": b'{"cairn_record": "1", "outputs": {}}',
}


def _corrupt(workspace: str, task: cairn.Task, raw: bytes) -> Path:
    path = Path(workspace) / task.record_path()
    path.write_bytes(raw)
    return path


@pytest.fixture
def built(workspace):
    up = Numbers()
    root = Total(up=up)
    assert cairn.build(root) == 3
    return up, root


@pytest.mark.parametrize("kind", sorted(CORRUPTIONS))
def test_show_and_from_id_raise_corrupt_record_error_naming_the_file(workspace, built, kind):
    up, root = built
    path = _corrupt(workspace, root, CORRUPTIONS[kind])
    with pytest.raises(cairn.CorruptRecordError, match=path.name):
        cairn.show(root.task_id)
    with pytest.raises(cairn.CorruptRecordError, match=path.name):
        cairn.Task.from_id(root.task_id)
    # the other task's record is untouched and still reads
    assert cairn.show(up.task_id)
    assert cairn.Task.from_id(up.task_id).task_id == up.task_id
    assert cairn.build(Numbers()) == [0, 1, 2]


@pytest.mark.parametrize("kind", sorted(CORRUPTIONS))
def test_ls_lists_a_corrupt_record_as_unreadable(workspace, built, kind):
    up, root = built
    path = _corrupt(workspace, up, CORRUPTIONS[kind])
    listing = cairn.ls()
    assert [p for p in listing.unreadable if p.endswith(path.name)]
    assert [e.task_id for e in listing.entries] == [root.task_id]


@pytest.mark.parametrize("kind", sorted(CORRUPTIONS))
def test_build_reruns_a_task_whose_record_is_corrupt_with_a_warning(workspace, built, kind, caplog):
    up, root = built
    path = _corrupt(workspace, root, CORRUPTIONS[kind])
    states = {entry.task_id: entry.state for entry in cairn.status(root)}
    assert states[root.task_id] != "complete"
    assert states[up.task_id] == "complete"
    with caplog.at_level(logging.WARNING):
        assert cairn.build(Total(up=Numbers())) == 3
    assert any(path.name in r.getMessage() for r in caplog.records)
    record = json.loads(path.read_bytes())  # rewritten whole
    assert record["task_id"] == root.task_id
    assert cairn.Task.from_id(root.task_id).task_id == root.task_id
    assert cairn.build(Numbers()) == [0, 1, 2]
    assert cairn.build(Total(up=Numbers())) == 3


@pytest.mark.parametrize("kind", sorted(CORRUPTIONS))
def test_cli_show_exits_2_naming_the_file(workspace, built, kind):
    up, _ = built
    path = _corrupt(workspace, up, CORRUPTIONS[kind])
    done = run_cairn("show", up.task_id, "-w", workspace, timeout=60)
    assert done.returncode == 2, done.stderr
    assert path.name in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("kind", sorted(CORRUPTIONS))
def test_gc_survives_a_corrupt_record(workspace, built, kind):
    up, root = built
    _corrupt(workspace, up, CORRUPTIONS[kind])
    cairn.gc(root, dry_run=True)
    assert cairn.build(root) == 3


def test_a_record_without_a_version_reads_as_version_1_and_keeps_unknown_keys(workspace, built):
    up, _ = built
    path = Path(workspace) / up.record_path()
    data = json.loads(path.read_bytes())
    del data["cairn_record"]
    data["metrics"] = {"loss": 0.5}
    path.write_text(json.dumps(data))
    assert cairn.Task.from_id(up.task_id).task_id == up.task_id
    record = RunRecord.from_dict(json.loads(path.read_bytes()), str(path))
    assert record.version == 1
    assert record.get("metrics") == {"loss": 0.5}
    assert record.to_dict()["metrics"] == {"loss": 0.5}
    assert record.output_path() == data["outputs"][""]["path"]
    assert cairn.RunRecord is RunRecord


def test_the_runner_writes_the_record_version(workspace, built):
    up, _ = built
    data = json.loads((Path(workspace) / up.record_path()).read_bytes())
    assert data["cairn_record"] == 1
    assert RunRecord.from_dict(data).to_dict() == data
