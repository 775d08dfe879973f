"""Helpers for testing your own pipelines.

- :func:`run_task` runs one task with inputs you give, without running its upstream tasks;
- :func:`assert_frames_equal` compares the contents of pandas or polars frames, in any row and
  column order (as gokart's ``assert_frame_contents_equal``);
- the ``cairn_workspace`` pytest fixture gives each test a fresh workspace (installed as a
  pytest plugin, so it needs no import; ``from cairn.testing import cairn_workspace`` works
  too).
"""

from __future__ import annotations

import inspect
import os
import tempfile
from collections.abc import Iterator, Mapping
from typing import Any

from cairn._errors import CairnError
from cairn.identity.canonical import is_task
from cairn.model.task import Task
from cairn.running.outputs import load_output
from cairn.running.runner import execute
from cairn.storage.store import Store, open_store

__all__ = ["assert_frames_equal", "cairn_workspace", "run_task"]

_NOTHING: Any = object()


def _pairs(requirement: Any, given: Any, where: str) -> Iterator[tuple[Task[Any], Any]]:
    """Match the shape of ``requires()`` with the shape of the inputs given for it."""
    if is_task(requirement):
        yield requirement, given
    elif isinstance(requirement, Mapping):
        if not isinstance(given, Mapping) or set(given) != set(requirement):
            raise CairnError(
                f"inputs{where} must be a dict with the keys of requires(): "
                f"{sorted(map(str, requirement))}; got {given!r:.200}"
            )
        for key, value in requirement.items():
            yield from _pairs(value, given[key], f"{where}[{key!r}]")
    elif isinstance(requirement, list | tuple):
        if not isinstance(given, list | tuple) or len(given) != len(requirement):
            raise CairnError(
                f"inputs{where} must be a list of {len(requirement)} values, as requires() "
                f"returns; got {given!r:.200}"
            )
        for index, (value, item) in enumerate(zip(requirement, given, strict=True)):
            yield from _pairs(value, item, f"{where}[{index}]")


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except (TypeError, ValueError):  # e.g. frames, whose == is element-wise
        return False


def _put(task: Task[Any], value: Any, store: Store) -> None:
    outputs = task._outputs()
    if list(outputs) == [None]:
        outputs[None].dump(store, value)
        return
    if not isinstance(value, Mapping) or set(value) != set(outputs):
        raise CairnError(
            f"the input for {task!r} must be a dict with its output keys "
            f"{sorted(map(str, outputs))}"
        )
    for key, target in outputs.items():
        target.dump(store, value[key])


def run_task(task: Task[Any], inputs: Any = _NOTHING, *, workspace: str | None = None) -> Any:
    """Run ``task`` alone, with ``inputs`` standing in for the outputs of ``requires()``.

    ``inputs`` has the shape of ``requires()``: a dict with the same keys for a dict, a list
    for a list, one value for a single task. Upstream tasks do not run; their outputs are
    written from ``inputs`` into ``workspace`` (default: a fresh temporary directory, removed
    afterwards). Returns the task's loaded output.

    Raises:
        CairnError: when ``inputs`` does not match the shape of ``requires()``.
    """
    if not is_task(task):
        raise CairnError(f"run_task() takes a task, not {task!r}")
    if workspace is None:
        with tempfile.TemporaryDirectory(prefix="cairn-test-") as tmp:
            return run_task(task, inputs, workspace=tmp)
    store = open_store(workspace)
    requirement = task._requirements()
    if inputs is _NOTHING:
        if task._dependencies():
            raise CairnError(
                f"{task!r} requires other tasks: pass their outputs as inputs=, shaped like "
                "its requires()"
            )
    else:
        given: dict[str, Any] = {}
        for upstream, value in _pairs(requirement, inputs, ""):
            earlier = given.setdefault(upstream.task_id, value)
            if earlier is not value and not _same(earlier, value):
                raise CairnError(
                    f"{upstream!r} appears more than once in requires() with different "
                    "inputs; give it the same value each time"
                )
            _put(upstream, value, store)
    execute(task, store)
    return load_output(task, store)


def _duplicated(labels: Any) -> list[Any]:
    seen: set[Any] = set()
    return sorted({x for x in labels if x in seen or seen.add(x)}, key=repr)  # type: ignore[func-returns-value]


def _check_unique(frame: Any, side: str, *, index: bool) -> None:
    columns = _duplicated(frame.columns)
    if columns:
        raise AssertionError(
            f"the {side} frame has duplicated column labels {columns}: rename them first, "
            "two columns of one name cannot be compared by name"
        )
    if index:
        labels = _duplicated(frame.index)
        if labels:
            raise AssertionError(
                f"the {side} frame has duplicated index labels {labels[:10]}: rows are "
                "matched by index, so each label must be unique (reset_index() to compare "
                "rows by value instead)"
            )


def _same_columns(left: Any, right: Any) -> None:
    missing, extra = set(left.columns) - set(right.columns), set(right.columns) - set(left.columns)
    if missing or extra:
        raise AssertionError(
            f"the frames have different columns: only on the left {sorted(missing, key=repr)}, "
            f"only on the right {sorted(extra, key=repr)}"
        )


def _is_default_index(frame: Any) -> bool:
    import pandas as pd

    index = frame.index
    return isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1


def assert_frames_equal(
    left: Any,
    right: Any,
    *,
    ignore_row_order: bool = True,
    ignore_column_order: bool = True,
    rtol: float = 1e-5,
    atol: float = 1e-8,
    **kwargs: Any,
) -> None:
    """Assert two pandas (or two polars) frames hold the same contents.

    Like gokart's ``assert_frame_contents_equal``, by default neither the order of rows nor
    that of columns matters, and duplicated column labels (and, for pandas frames whose
    rows are matched by index, duplicated index labels) fail with a message naming them.
    Rows of pandas frames with a labelled index are matched by label; rows of frames with
    the default index (0, 1, 2, ...) and of polars frames are matched by sorting on every
    column. Floats are compared with tolerance ``rtol`` and ``atol`` (``check_exact=True``
    compares exactly). Stricter than gokart on purpose: the two frames must be of the same
    library, and column types must match (pass ``check_dtype=False`` to relax that).
    Further keyword arguments go to ``pandas.testing.assert_frame_equal`` or
    ``polars.testing.assert_frame_equal``.

    Raises:
        AssertionError: when the contents differ, saying where.
    """
    module = type(left).__module__.partition(".")[0]
    if module != type(right).__module__.partition(".")[0]:
        raise AssertionError(
            f"cannot compare a {type(left).__qualname__} with a {type(right).__qualname__}"
        )
    if module == "polars":
        import polars.testing

        if ignore_column_order:
            _same_columns(left, right)
            right = right.select(left.columns)
        if ignore_row_order:
            left, right = left.sort(left.columns), right.sort(right.columns)
        compare: Any = polars.testing.assert_frame_equal
        names = inspect.signature(compare).parameters
        tolerance = ("rel_tol", "abs_tol") if "rel_tol" in names else ("rtol", "atol")
        if "check_dtype" in kwargs:  # one spelling for both libraries
            kwargs["check_dtypes"] = kwargs.pop("check_dtype")
        compare(left, right, **dict(zip(tolerance, (rtol, atol), strict=True)), **kwargs)
    elif module == "pandas" and hasattr(left, "columns"):
        import pandas.testing

        by_index = ignore_row_order and not (_is_default_index(left) and _is_default_index(right))
        _check_unique(left, "left", index=by_index)
        _check_unique(right, "right", index=by_index)
        if ignore_column_order:
            _same_columns(left, right)
            right = right[list(left.columns)]
        if by_index:
            left, right = left.sort_index(kind="stable"), right.sort_index(kind="stable")
        elif ignore_row_order:
            left = left.sort_values(list(left.columns), kind="stable").reset_index(drop=True)
            right = right.sort_values(list(right.columns), kind="stable").reset_index(drop=True)
        pandas.testing.assert_frame_equal(left, right, rtol=rtol, atol=atol, **kwargs)
    else:
        raise AssertionError(f"not a pandas or polars frame: {type(left).__qualname__}")


try:
    import pytest
except ImportError:  # pragma: no cover - pytest is optional
    pass
else:

    @pytest.fixture
    def cairn_workspace(tmp_path: Any, monkeypatch: Any) -> Iterator[str]:
        """A fresh workspace directory for one test, also set as ``$CAIRN_WORKSPACE``."""
        path = os.path.join(str(tmp_path), "cairn-workspace")
        monkeypatch.setenv("CAIRN_WORKSPACE", path)
        yield path
