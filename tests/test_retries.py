"""Retries: how they are set, checked, and scheduled (the contract suite runs them on every
executor)."""

from __future__ import annotations

import pytest

import cairn


class Fails(cairn.Task[int]):
    def run(self) -> int:
        raise RuntimeError("always")


class RetriesParameter(cairn.Task[int]):
    """A parameter that happens to be called retries is a parameter, not a policy."""

    retries = cairn.IntParameter(default=5)

    def run(self) -> int:
        return self.retries


@pytest.mark.parametrize(
    ("options", "task", "message"),
    [
        ({"retries": -1}, Fails(), "retries must be a whole number >= 0, not -1"),
        ({"retry_delay": "soon"}, Fails(), "retry_delay must be a number of seconds"),
    ],
)
def test_invalid_retries_are_refused_before_anything_runs(workspace, options, task, message):
    with pytest.raises(cairn.ConfigError, match=message):
        cairn.build(task, progress=False, **options)


def test_invalid_class_retries_are_refused_when_the_class_is_defined() -> None:
    # Class options are checked with the class (cairn.model.options), before anything runs.
    with pytest.raises(
        cairn.ConfigError, match=r"BadRetries\.retries must be a whole number >= 0, not '3'"
    ):

        class BadRetries(Fails):
            retries = "3"

    with pytest.raises(
        cairn.ConfigError, match=r"NegativeDelay\.retry_delay must be a number of seconds"
    ):

        class NegativeDelay(Fails):
            retry_delay = -1

    with pytest.raises(cairn.ConfigError, match=r"Later\.retries must be a whole number"):

        class Later(Fails):
            pass

        Later.retries = -2


def test_a_parameter_named_retries_is_not_a_retry_policy(workspace: str) -> None:
    assert cairn.build(RetriesParameter(retries=2), progress=False) == 2


class FailsOnce(cairn.Task[str]):
    failed: list[str] = []  # the inline executor runs it in this process

    def run(self) -> str:
        if not FailsOnce.failed:
            FailsOnce.failed.append("once")
            raise RuntimeError("first time")
        return "ok"


class Other(cairn.Task[str]):
    def run(self) -> str:
        return "other"


def test_other_tasks_run_while_a_failed_task_waits_to_retry(workspace: str) -> None:
    events: list[str] = []

    class Listener:
        def task_started(self, task):
            events.append(f"start {task!r}")

        def task_succeeded(self, task, record):
            events.append(f"done {task!r} on attempt {record['attempt']}")

        def task_failed(self, task, error):
            events.append(f"failed {task!r}")

        def task_retrying(self, task, error, attempt, delay):
            events.append(f"retry {task!r} after attempt {attempt} in {delay}s")

    FailsOnce.failed.clear()
    cairn.build(
        [FailsOnce(), Other()], retries=1, retry_delay=0.3, listener=Listener(), progress=False
    )
    assert events == [
        "start FailsOnce()",
        "retry FailsOnce() after attempt 1 in 0.3s",
        "start Other()",
        "done Other() on attempt 1",
        "start FailsOnce()",
        "done FailsOnce() on attempt 2",
    ]


_calls: list[int] = []


def flaky_source() -> int:
    _calls.append(1)
    if len(_calls) == 1:
        raise ConnectionError("first call fails")
    return 41


def test_a_pipeline_run_takes_the_build_options(workspace: str) -> None:
    _calls.clear()
    pipe = cairn.Pipeline([cairn.node(flaky_source, outputs="value")])
    assert pipe.run(retries=1, progress=False) == {"value": 41}
    assert len(_calls) == 2
