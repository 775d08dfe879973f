"""cairn.testing: run one task with given inputs, compare frames, a workspace fixture."""

from __future__ import annotations

import os

import pytest

import cairn
from cairn.testing import assert_frames_equal, run_task

RAN: list[str] = []


class Source(cairn.Task):
    n = cairn.IntParameter(default=3)

    def run(self):
        RAN.append("Source")
        return list(range(1, self.n + 1))


class Split(cairn.Task):
    def output(self):
        return {"a": self.make_target("a.pkl"), "b": self.make_target("b.json")}

    def run(self):
        RAN.append("Split")
        return {"a": [1], "b": [2]}


class Combine(cairn.Task):
    def requires(self):
        return {"src": Source(), "parts": [Split(), Source(n=5)]}

    def run(self):
        parts = self.load("parts")
        return sum(self.load("src")) + sum(parts[0]["a"]) + sum(parts[1])


def test_run_task_uses_the_given_inputs_and_runs_no_upstream_task():
    RAN.clear()
    result = run_task(Combine(), {"src": [10], "parts": [{"a": [5], "b": [0]}, [1, 1]]})
    assert result == 17
    assert RAN == []


def test_run_task_checks_the_shape_of_the_inputs():
    with pytest.raises(cairn.CairnError, match=r"keys of requires\(\): \['parts', 'src'\]"):
        run_task(Combine(), {"src": [1]})
    with pytest.raises(cairn.CairnError, match="list of 2 values"):
        run_task(Combine(), {"src": [1], "parts": [[1]]})
    with pytest.raises(cairn.CairnError, match="output keys"):
        run_task(Combine(), {"src": [1], "parts": [[1], [1]]})
    with pytest.raises(cairn.CairnError, match="pass their outputs as inputs="):
        run_task(Combine())


def test_run_task_refuses_two_values_for_one_task():
    class Twice(cairn.Task):
        def requires(self):
            return [Source(), Source()]

        def run(self):
            return self.load()

    assert run_task(Twice(), [[1], [1]]) == [[1], [1]]
    with pytest.raises(cairn.CairnError, match="more than once"):
        run_task(Twice(), [[1], [2]])


def test_run_task_of_a_task_without_requirements():
    assert run_task(Source()) == [1, 2, 3]


def test_cairn_workspace_fixture_is_available_as_a_plugin(cairn_workspace):
    assert os.environ["CAIRN_WORKSPACE"] == cairn_workspace
    cairn.build(Source())
    assert os.path.isdir(cairn_workspace)


def test_assert_frames_equal_ignores_row_order_for_pandas_and_polars():
    pd = pytest.importorskip("pandas")
    pl = pytest.importorskip("polars")
    assert_frames_equal(pd.DataFrame({"x": [1, 2]}), pd.DataFrame({"x": [2, 1]}))
    assert_frames_equal(pl.DataFrame({"x": [1, 2]}), pl.DataFrame({"x": [2, 1]}))
    with pytest.raises(AssertionError):
        assert_frames_equal(
            pd.DataFrame({"x": [1, 2]}), pd.DataFrame({"x": [2, 1]}), ignore_row_order=False
        )
    with pytest.raises(AssertionError):
        assert_frames_equal(pl.DataFrame({"x": [1, 2]}), pl.DataFrame({"x": [1, 3]}))
    with pytest.raises(AssertionError, match="cannot compare"):
        assert_frames_equal(pd.DataFrame({"x": [1]}), pl.DataFrame({"x": [1]}))
