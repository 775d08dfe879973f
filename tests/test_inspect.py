"""The Python API of inspection: status, show, ls, gc; text and HTML renderings."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

import cairn


class Source(cairn.Task):
    name = cairn.Parameter(default="a")

    def run(self):
        self.logger.info("making %s", self.name)
        return self.name * 3


class Join(cairn.Task):
    left = cairn.TaskParameter()
    right = cairn.TaskParameter()

    def output(self):
        return self.make_target("joined/join.json")

    def run(self):
        return {"joined": self.load("left") + self.load("right")}


class Top(cairn.Task):
    """Two paths to the same Source: a shared subtree."""

    def requires(self):
        shared = Source(name="s")
        return [Join(left=shared, right=Source(name="t")), Join(left=shared, right=shared)]

    def run(self):
        return [x["joined"] for x in self.load()]


RELEASE = threading.Event()
STARTED = threading.Event()


class Waits(cairn.Task):
    def run(self):
        STARTED.set()
        RELEASE.wait(30)
        return 1


# --- status -------------------------------------------------------------------------------
def test_status_gives_each_task_its_state_and_shows_shared_subtrees_once(workspace):
    cairn.build(Source(name="s"))
    result = cairn.status(Top())
    assert result[Top()].state == "will run"
    assert result[Source(name="s")].state == "complete"
    assert result[Source(name="t")].state == "will run"
    lines = list(result.lines())
    shared = [above for _, entry, above in lines if entry.task == Source(name="s")]
    assert shared == [False, True, True]
    text = str(result)
    assert text.count("(shown above)") == 2
    assert "5 task(s)" in text


def test_status_leaves_out_ignored_task_names_and_what_only_they_need(workspace):
    full = cairn.status(Top())
    assert len(full) == 5
    result = cairn.status(Top(), ignore_task_names=["Join"])
    assert [e.task for e in result] == [Top()]  # both Joins, and the Sources only they need
    by_family = cairn.status(Top(), ignore_task_names=[Source.family])
    assert {type(e.task).__name__ for e in by_family} == {"Top", "Join"}
    assert "3 task(s)" in str(by_family)
    assert cairn.status(Top(), ignore_task_names=["Top"]).entries == []


def test_status_shows_parameters_in_full_with_abbr_false(workspace):
    short = str(cairn.status(Join(left=Source(name="l"), right=Source(name="r"))))
    full = str(cairn.status(Join(left=Source(name="l"), right=Source(name="r")), abbr=False))
    assert "Join(left=Source#" in short and "Source(name='l')" not in short.splitlines()[0]
    assert "Join(left=Source(name='l'), right=Source(name='r'))" in full


def test_a_missing_output_below_a_complete_task_is_not_needed(workspace):
    join = Join(left=Source(name="x"), right=Source(name="y"))
    cairn.build(join)
    Path(workspace, Source(name="x").record_path()).unlink()
    result = cairn.status(join)
    assert result[join].state == "complete"
    assert result[Source(name="x")].state == "not needed"
    assert result[Source(name="y")].state == "complete"


def test_status_says_running_elsewhere_while_another_runner_holds_the_lock(workspace):
    STARTED.clear()
    RELEASE.clear()
    errors = []

    def builder():
        try:
            cairn.build(Waits(), lock="file")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=builder)
    thread.start()
    try:
        assert STARTED.wait(30)
        held = cairn.status(Waits(), lock="file")
        assert held[Waits()].state == "running elsewhere"
        assert "held by" in str(held)
        assert cairn.status(Waits())[Waits()].state == "will run"  # no lock: cannot tell
    finally:
        RELEASE.set()
        thread.join(30)
    assert not errors
    assert cairn.status(Waits(), lock="file")[Waits()].state == "complete"


def test_status_renders_as_html_for_jupyter(workspace):
    page = cairn.status(Join(left=Source(name="<b>"), right=Source()))._repr_html_()
    assert "will run" in page
    assert "Source(name=&#x27;&lt;b&gt;&#x27;)" in page  # labels are escaped


# --- show ---------------------------------------------------------------------------------
def test_show_finds_a_record_by_task_id_prefix_output_path_and_task(workspace):
    task = Source(name="q")
    cairn.build(task)
    tid = task.task_id
    output = f"test_inspect/Source_{tid}.pkl"
    for what in (task, tid, tid[:8], output, os.path.join(workspace, output)):
        record = cairn.show(what)
        assert record.task_id == tid
    assert record["params"] == {"name": "q"}
    assert record.family == "test_inspect.Source"
    text = str(record)
    for part in ("parameters", "fingerprint", "duration", "python", "making q"):
        assert part in text
    page = record._repr_html_()
    assert "making q" in page and "<table" in page
    with pytest.raises(TypeError):
        record.data["params"] = {}  # read-only


def test_show_of_an_unknown_or_ambiguous_id_raises_a_cairn_error(workspace):
    with pytest.raises(cairn.OutputNotFoundError, match="no run record for 'abcdef'"):
        cairn.show("abcdef")
    folder = Path(workspace, "test_inspect")
    folder.mkdir(parents=True)
    for tid in ("ab12" + "0" * 28, "ab12" + "1" * 28):
        (folder / f"Source_{tid}.run.json").write_text(json.dumps({"task_id": tid}))
    with pytest.raises(cairn.CairnError, match="matches 2 run records"):
        cairn.show("ab12")
    assert cairn.show("ab121").task_id == "ab12" + "1" * 28


# --- ls -----------------------------------------------------------------------------------
def test_ls_lists_every_record_with_sizes_and_renders_as_html(workspace):
    cairn.build(Join(left=Source(name="x"), right=Source(name="y")))
    listing = cairn.ls()
    assert sorted(e.family for e in listing) == [
        "test_inspect.Join",
        "test_inspect.Source",
        "test_inspect.Source",
    ]
    assert all(e.size > 0 and e.finished and e.duration_s is not None for e in listing)
    assert listing.size == sum(e.size for e in listing)
    assert "3 task(s)" in str(listing)
    assert "test_inspect.Join" in listing._repr_html_()
    assert [e.family for e in cairn.ls(family="Join")] == ["test_inspect.Join"]


def test_ls_of_an_empty_workspace_is_empty(workspace):
    assert len(cairn.ls()) == 0
    assert "0 task(s)" in str(cairn.ls())


# --- gc -----------------------------------------------------------------------------------
def test_gc_deletes_records_and_outputs_not_reachable_and_keeps_what_is(workspace):
    keep = Join(left=Source(name="k"), right=Source(name="shared"))
    drop = Join(left=Source(name="d"), right=Source(name="shared"))
    cairn.build([keep, drop])
    ws = Path(workspace)
    orphan = ws / "test_inspect" / f"Source_{'f' * 32}.pkl"  # a run killed before its record
    orphan.write_bytes(b"partial")
    unrelated = ws / "notes.txt"
    unrelated.write_text("mine")

    dry = cairn.gc(keep, dry_run=True)
    assert dry.dry_run and len(dry) == 5
    assert len(cairn.ls()) == 5  # nothing deleted

    result = cairn.gc(keep)
    deleted = {path for path, _ in result}
    assert deleted == {
        drop.record_path(),
        drop._outputs()[None].path,
        Source(name="d").record_path(),
        Source(name="d")._outputs()[None].path,
        f"test_inspect/Source_{'f' * 32}.pkl",
    }
    assert result.bytes == sum(size for _, size in result) > 0
    assert unrelated.exists()
    assert cairn.plan(keep).to_run == []
    assert cairn.build(keep) == {"joined": "kkk" + "shared" * 3}
    assert "deleted 5 file(s)" in str(result)
    assert "<table" in result._repr_html_()


def test_gc_deletes_a_record_before_its_outputs(workspace):
    task = Source(name="z")
    cairn.build(task)
    result = cairn.gc(Source(name="other"), dry_run=True)
    paths = [p for p, _ in result]
    assert paths.index(task.record_path()) < paths.index(task._outputs()[None].path)


def test_gc_removes_directories_it_emptied(workspace):
    join = Join(left=Source(name="1"), right=Source(name="2"))
    cairn.build(join)
    assert (Path(workspace) / "joined").is_dir()
    cairn.gc(Source(name="1"))
    assert not (Path(workspace) / "joined").exists()


# --- plan ---------------------------------------------------------------------------------
def test_plan_renders_as_html_for_jupyter(workspace):
    page = cairn.plan(Source())._repr_html_()
    assert "will run" in page and "no earlier output" in page


class Chain(cairn.Task):
    n = cairn.IntParameter()

    def requires(self):
        return Chain(n=self.n - 1) if self.n else []

    def run(self):
        return self.n


def test_a_deep_tree_is_drawn_to_a_depth_and_the_rest_counted(workspace):
    result = cairn.status(Chain(n=200))
    assert len(result) == 201
    text = str(result)
    assert "(176 task(s) more than 24 levels deep not drawn" in text
    assert "201 task(s): 201 will run" in text
    assert "176 task(s) more than 24 levels" in result._repr_html_()
