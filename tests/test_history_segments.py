"""Run histories kept in segments: each write adds files, readers merge them.

What a plan says about why a task runs comes from its family's history. A build writes only
the entries of the tasks it ran, as new segment files; a plan merges every segment (and the
single file earlier versions wrote), the later run of a parameter set winning; small
segments are merged so that many small builds leave few files.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest

import cairn
from cairn.storage.history import COMPACT_AT, SMALL_SEGMENT


class Load(cairn.Task):
    path = cairn.Parameter()

    def run(self):
        return [1, 2, 3]


FAMILY = f"{__name__}.Load"


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAIRN_CACHE_DIR", str(tmp_path / "cache"))


def folder(workspace: str) -> Path:
    return Path(workspace) / ".cairn" / "history" / FAMILY


def segments(workspace: str) -> list[Path]:
    return sorted(folder(workspace).glob("*.json"))


def entries_of(path: Path) -> dict[str, dict]:
    return json.loads(path.read_text())["entries"]


def reason(task: cairn.Task) -> str | None:
    return cairn.plan(task)[-1].reason


def write_segment(workspace: str, stamp: int, entries: dict[str, dict]) -> Path:
    """A segment as a build would write it, at time ``stamp`` (nanoseconds)."""
    path = folder(workspace) / f"{stamp:020d}-abcdef-{len(entries)}.json"
    data = {"cairn_history": 2, "family": FAMILY, "entries": entries}
    path.write_text(json.dumps(data))
    return path


def test_a_build_writes_its_entries_as_one_new_segment_and_keeps_the_earlier_ones(workspace):
    cairn.build([Load(path="a"), Load(path="b")])
    (first,) = segments(workspace)
    before = first.read_bytes()
    cairn.build(Load(path="c"))
    assert len(segments(workspace)) == 2
    assert first.read_bytes() == before  # written once, never rewritten
    assert len(entries_of(first)) == 2
    assert reason(Load(path="d")) == "parameter path changed 'c' -> 'd'"  # the latest run


def test_a_history_in_one_file_as_earlier_versions_wrote_it_is_still_read(workspace):
    cairn.build(Load(path="a"))
    (segment,) = segments(workspace)
    old_entries = {}
    for vkey, entry in entries_of(segment).items():  # every field, as version 1 wrote them
        old_entries[vkey] = {"code_version": None, "deps": [], "defaults": [], "files": {}}
        old_entries[vkey].update(entry)
    shutil.rmtree(folder(workspace))
    assert reason(Load(path="b")) == "no earlier output"
    old = {"cairn_history": 1, "family": FAMILY, "entries": old_entries}
    (Path(workspace) / ".cairn" / "history" / f"{FAMILY}.json").write_text(json.dumps(old))
    assert reason(Load(path="b")) == "parameter path changed 'a' -> 'b'"
    # a later build adds a segment beside it; both are read
    cairn.build(Load(path="b"))
    assert len(segments(workspace)) == 1
    Path(workspace, Load(path="a").record_path()).unlink()
    assert reason(Load(path="a")) == "its earlier output is gone"  # from the old file
    assert reason(Load(path="c")) == "parameter path changed 'b' -> 'c'"  # from the segment


def test_for_one_parameter_set_the_entry_with_the_later_end_wins_across_segments(workspace):
    cairn.build(Load(path="a"))
    (segment,) = segments(workspace)
    ((vkey, entry),) = entries_of(segment).items()
    Path(workspace, Load(path="a").record_path()).unlink()
    assert reason(Load(path="a")) == "its earlier output is gone"
    # a segment written later, holding an earlier run of the same parameters: it loses
    earlier = dict(entry, id="0" * 32, end="2000-01-01T00:00:00+00:00", code="0" * 32)
    write_segment(workspace, 99_999_999_999_999_999_999, {vkey: earlier})
    assert reason(Load(path="a")) == "its earlier output is gone"
    # one with a later run (other code) wins, wherever it sorts
    later = dict(entry, id="f" * 32, end="2999-01-01T00:00:00+00:00", code="f" * 32)
    write_segment(workspace, 1, {vkey: later})
    assert reason(Load(path="a")) == "code changed"


def test_many_small_builds_of_one_family_keep_few_segments_and_every_entry(workspace):
    builds = 3 * COMPACT_AT
    for i in range(builds):
        cairn.build(Load(path=str(i)))
    assert len(segments(workspace)) < COMPACT_AT
    assert sum(len(entries_of(p)) for p in segments(workspace)) == builds
    for i in (0, builds // 2, builds - 1):
        Path(workspace, Load(path=str(i)).record_path()).unlink()
        assert reason(Load(path=str(i))) == "its earlier output is gone"


def test_compaction_never_merges_a_segment_that_is_not_small(workspace):
    cairn.build([Load(path=f"big{i}") for i in range(SMALL_SEGMENT)])
    (big,) = segments(workspace)
    content = big.read_bytes()
    for i in range(2 * COMPACT_AT):
        cairn.build(Load(path=str(i)))
    assert big in segments(workspace) and big.read_bytes() == content
    assert len(segments(workspace)) <= COMPACT_AT


def test_an_unreadable_segment_only_loses_its_entries_with_a_warning_naming_it(workspace, caplog):
    cairn.build(Load(path="a"))
    (broken,) = segments(workspace)
    cairn.build(Load(path="b"))
    broken.write_text('{"cairn_history": 2, "family": "' + FAMILY + '", "entr')
    with caplog.at_level(logging.WARNING, logger="cairn"):
        assert reason(Load(path="c")) == "parameter path changed 'b' -> 'c'"
    warnings = [r.getMessage() for r in caplog.records if "run history" in r.getMessage()]
    assert len(warnings) == 1 and broken.name in warnings[0], warnings
    assert "Delete the file" in warnings[0]
    assert cairn.build(Load(path="c")) == [1, 2, 3]  # building is not affected


def test_a_segment_of_a_newer_format_is_skipped_with_a_warning(workspace, caplog):
    cairn.build(Load(path="a"))
    (segment,) = segments(workspace)
    data = json.loads(segment.read_text())
    segment.write_text(json.dumps(dict(data, cairn_history=99)))
    with caplog.at_level(logging.WARNING, logger="cairn"):
        assert reason(Load(path="b")) == "no earlier output"
    assert any("newer cairn" in r.getMessage() for r in caplog.records)
