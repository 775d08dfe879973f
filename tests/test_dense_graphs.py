"""Graphs where many paths lead to one task: every walk is linear in the distinct tasks."""

from __future__ import annotations

import collections
from typing import ClassVar

import cairn

COLUMNS = 3


class Cell(cairn.Task[int]):
    """Each cell needs two cells of the layer below: 2**layer paths to the bottom."""

    layer = cairn.IntParameter()
    col = cairn.IntParameter()
    calls: ClassVar[collections.Counter[str]] = collections.Counter()

    def requires(self):
        Cell.calls["requires"] += 1
        if self.layer == 0:
            return []
        below = self.layer - 1
        return [Cell(layer=below, col=self.col), Cell(layer=below, col=(self.col + 1) % COLUMNS)]

    def run(self) -> int:
        Cell.calls["run"] += 1
        if self.layer == 0:
            return 1
        return sum(self.load())


def test_ids_of_a_forty_layer_lattice_ask_each_distinct_task_once():
    Cell.calls.clear()
    root = Cell(layer=40, col=0)
    assert len(root.task_id) == 32
    distinct = 41 * COLUMNS
    # without sharing, requires() ran once per path: about 2**40 times
    assert Cell.calls["requires"] <= 2 * distinct


def test_a_task_reached_by_many_paths_has_the_id_it_has_alone():
    root = Cell(layer=6, col=1)
    root.task_id
    for dep in root._dependencies():
        for below in dep._dependencies():
            alone = Cell(layer=below.layer, col=below.col)
            assert below.task_id == alone.task_id


def test_a_lattice_builds_each_task_once_and_status_lists_each_once(tmp_path):
    Cell.calls.clear()
    root = Cell(layer=25, col=0)
    value = cairn.build(root, workspace=str(tmp_path), progress=False, summary=False)
    # the root's column, then two columns, then all three for the 24 layers below
    assert Cell.calls["run"] == 1 + 2 + COLUMNS * 24
    assert value == 2**25  # each of the 2**25 paths counts one bottom cell
    status = cairn.status(root, workspace=str(tmp_path))
    ids = [s.task_id for s in status]
    assert len(ids) == len(set(ids)) == Cell.calls["run"]
    assert all(s.state == "complete" for s in status)
