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


def test_assert_frames_equal_ignores_column_order_like_gokart():
    import pandas as pd
    import polars as pl

    assert_frames_equal(pd.DataFrame({"a": [1], "b": [2]}), pd.DataFrame({"b": [2], "a": [1]}))
    assert_frames_equal(pl.DataFrame({"a": [1], "b": [2]}), pl.DataFrame({"b": [2], "a": [1]}))
    with pytest.raises(
        AssertionError, match=r"only on the left \['a'\], only on the right \['c'\]"
    ):
        assert_frames_equal(pd.DataFrame({"a": [1], "b": [2]}), pd.DataFrame({"b": [2], "c": [1]}))
    with pytest.raises(AssertionError):
        assert_frames_equal(
            pd.DataFrame({"a": [1], "b": [2]}),
            pd.DataFrame({"b": [2], "a": [1]}),
            ignore_column_order=False,
        )


def test_assert_frames_equal_matches_rows_by_a_labelled_index_and_refuses_duplicates():
    import pandas as pd

    left = pd.DataFrame({"v": [1.0, 2.0]}, index=pd.Index(["x", "y"], name="k"))
    right = pd.DataFrame({"v": [2.0, 1.0]}, index=pd.Index(["y", "x"], name="k"))
    assert_frames_equal(left, right)  # rows matched by label, not position
    swapped = pd.DataFrame({"v": [1.0, 2.0]}, index=pd.Index(["y", "x"], name="k"))
    with pytest.raises(AssertionError):
        assert_frames_equal(left, swapped)  # same values, other labels: not equal
    twice = pd.DataFrame({"v": [1.0, 1.0]}, index=pd.Index(["x", "x"], name="k"))
    with pytest.raises(AssertionError, match=r"right frame has duplicated index labels \['x'\]"):
        assert_frames_equal(left, twice)


def test_assert_frames_equal_names_duplicated_columns_instead_of_crashing():
    import pandas as pd

    duplicated = pd.DataFrame([[1, 2]], columns=["a", "a"])
    with pytest.raises(AssertionError, match=r"left frame has duplicated column labels \['a'\]"):
        assert_frames_equal(duplicated, pd.DataFrame({"a": [1]}))


@pytest.mark.parametrize("library", ["pandas", "polars"])
def test_assert_frames_equal_compares_floats_with_a_tolerance(library):
    import pandas as pd
    import polars as pl

    make = pd.DataFrame if library == "pandas" else pl.DataFrame
    close, far = make({"x": [1.0, 2.0]}), make({"x": [1.0, 2.0 + 1e-9]})
    assert_frames_equal(close, far)  # within the default tolerance
    with pytest.raises(AssertionError):
        assert_frames_equal(close, far, check_exact=True)
    with pytest.raises(AssertionError):
        assert_frames_equal(close, make({"x": [1.0, 2.01]}), rtol=1e-4)
    assert_frames_equal(close, make({"x": [1.0, 2.01]}), rtol=1e-2)
    assert_frames_equal(make({"x": [1, 2]}), make({"x": [1.0, 2.0]}), check_dtype=False)
