"""One contract, every executor: inline, threads, processes and Dask give the same build.

The process and Dask executors are shared by the module (as objects a user can pass to
``build``), so the suite pays for worker start-up once; the Dask one runs on a real
``distributed.LocalCluster``.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

import cairn
from cairn.executors import get_executor

EXECUTORS = ["inline", "threads", "processes", "dask"]


@pytest.fixture(scope="module")
def process_executor() -> Iterator[object]:
    with get_executor("processes", workers=2) as executor:
        yield executor


@pytest.fixture(params=EXECUTORS)
def executor(request: pytest.FixtureRequest) -> object:
    name = request.param
    if name == "processes":
        return request.getfixturevalue("process_executor")
    if name == "dask":
        return get_executor(request.getfixturevalue("dask_client"))
    return name


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    """A directory where tasks note each run (shared with worker processes)."""
    path = tmp_path / "runs"
    path.mkdir()
    return path


def _note_run(runs: str, name: str) -> int:
    """Append a line to runs/name; return how many runs there were before this one."""
    path = os.path.join(runs, name)
    with open(path, "a+") as file:
        file.seek(0)
        before = len(file.read().splitlines())
        file.write(f"{os.getpid()}\n")
    return before


def _count(runs: Path, name: str) -> int:
    path = runs / name
    return len(path.read_text().splitlines()) if path.exists() else 0


class Square(cairn.Task[int]):
    n = cairn.IntParameter()
    runs = cairn.Parameter(significant=False)

    def run(self) -> int:
        _note_run(self.runs, f"square-{self.n}")
        return self.n * self.n


class Total(cairn.Task[int]):
    size = cairn.IntParameter()
    runs = cairn.Parameter(significant=False)

    def requires(self) -> list[Square]:
        return [Square(n=i, runs=self.runs) for i in range(self.size)]

    def run(self) -> int:
        _note_run(self.runs, "total")
        return sum(self.load())


class Report(cairn.Task[dict]):
    """A diamond: two branches over the same squares, joined."""

    runs = cairn.Parameter(significant=False)

    def requires(self) -> dict[str, Total]:
        return {"small": Total(size=3, runs=self.runs), "large": Total(size=6, runs=self.runs)}

    def run(self) -> dict:
        return self.load()


class Draw(cairn.Task[list]):
    """Random numbers drawn with the seed the build gives run()."""

    n = cairn.IntParameter()

    def run(self) -> list:
        return [random.random() for _ in range(3)]


class Boom(cairn.Task[int]):
    def run(self) -> int:
        raise ValueError("boom: the input is bad")


class AfterBoom(cairn.Task[int]):
    def requires(self) -> Boom:
        return Boom()

    def run(self) -> int:
        return self.load()


class Flaky(cairn.Task[str]):
    """Fails on its first ``failures`` runs, then succeeds."""

    failures = cairn.IntParameter()
    runs = cairn.Parameter(significant=False)

    def run(self) -> str:
        if _note_run(self.runs, f"flaky-{self.failures}") < self.failures:
            raise ConnectionError("the service is busy")
        return "ok"


class FlakyWithOwnRetries(Flaky):
    retries = 2
    retry_delay = 0.05


def _record(workspace: str, task: cairn.Task) -> dict:
    path = Path(workspace, *type(task).__module__.split("."))
    return json.loads((path / f"{type(task).__name__}_{task.task_id}.run.json").read_text())


def test_builds_the_same_results_on_every_executor(workspace, executor, runs) -> None:
    report = Report(runs=str(runs))
    result = cairn.build(report, executor=executor, workers=2)
    assert result == {"small": 0 + 1 + 4, "large": 0 + 1 + 4 + 9 + 16 + 25}
    assert all(_count(runs, f"square-{i}") == 1 for i in range(6))  # shared squares ran once
    assert _count(runs, "total") == 2


def test_every_task_is_complete_with_its_run_record(workspace, executor, runs) -> None:
    total = Total(size=4, runs=str(runs))
    cairn.build(total, executor=executor, workers=2)
    plan = cairn.plan(total)
    assert [entry.will_run for entry in plan] == [False]
    record = _record(workspace, total)
    assert record["task_id"] == total.task_id
    assert record["family"] == type(total).family
    assert record["attempt"] == 1
    assert record["dependencies"] == [Square(n=i, runs=str(runs)).task_id for i in range(4)]
    assert record["code"]["fingerprint"] == type(total).code_fingerprint().digest
    for i in range(4):
        assert _record(workspace, Square(n=i, runs="x"))["params"]["n"] == i


def test_seeds_and_drawn_numbers_match_inline(tmp_path, monkeypatch, executor) -> None:
    draws = [Draw(n=1), Draw(n=2)]
    expected = cairn.build(draws, workspace=str(tmp_path / "inline"))
    monkeypatch.setenv("CAIRN_WORKSPACE", str(tmp_path / "other"))
    for task, values in zip(draws, expected, strict=True):  # one at a time: no shared state
        assert cairn.build(task, executor=executor, workers=2) == values
        seed = _record(str(tmp_path / "other"), task)["seed"]
        assert seed == _record(str(tmp_path / "inline"), task)["seed"]


def test_a_failure_keeps_the_build_going_then_raises_build_error(workspace, executor, runs) -> None:
    others = [Square(n=i, runs=str(runs)) for i in range(3)]
    with pytest.raises(cairn.BuildError) as caught:
        cairn.build([AfterBoom(), *others], executor=executor, workers=2)
    error = caught.value
    assert list(error.failures) == [Boom()]
    failure = error.failures[Boom()]
    assert isinstance(failure, ValueError)
    assert "the input is bad" in str(failure)
    assert error.skipped == [AfterBoom()]
    assert sorted(error.succeeded, key=lambda t: t.n) == others
    assert [e.will_run for e in cairn.plan(others)] == [False, False, False]
    assert [e.will_run for e in cairn.plan(AfterBoom())] == [True, True]


def test_a_second_build_reuses_every_output(workspace, executor, runs) -> None:
    total = Total(size=3, runs=str(runs))
    first = cairn.build(total, executor=executor, workers=2)
    second = cairn.build(total, executor=executor, workers=2)
    assert first == second == 5
    assert _count(runs, "total") == 1
    assert all(_count(runs, f"square-{i}") == 1 for i in range(3))


def test_retries_record_the_attempt_that_succeeded(workspace, executor, runs) -> None:
    flaky = Flaky(failures=2, runs=str(runs))
    assert cairn.build(flaky, executor=executor, workers=2, retries=2) == "ok"
    assert _record(workspace, flaky)["attempt"] == 3
    assert _count(runs, "flaky-2") == 3


def test_a_task_class_sets_its_own_retries(workspace, executor, runs) -> None:
    flaky = FlakyWithOwnRetries(failures=1, runs=str(runs))
    assert cairn.build(flaky, executor=executor, workers=2) == "ok"
    assert _record(workspace, flaky)["attempt"] == 2


def test_a_task_fails_once_its_retries_are_spent(workspace, executor, runs) -> None:
    flaky = Flaky(failures=5, runs=str(runs))
    with pytest.raises(cairn.BuildError) as caught:
        cairn.build(flaky, executor=executor, workers=2, retries=1, retry_delay=0.01)
    failure = caught.value.failures[flaky]
    assert isinstance(failure, ConnectionError)
    assert "failed on all 2 attempts" in "".join(getattr(failure, "__notes__", []))
    assert _count(runs, "flaky-5") == 2
