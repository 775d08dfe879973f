"""``on_build_end`` reaches every hook once, whatever ends the build, with how it ended.

The cases: success, failed tasks, Ctrl-C (a real SIGINT sent to a build in a child process),
a lock service that cannot be reached (a Redis URL where nothing listens) and a lock that
fails in the middle of a build, a store that fails while the build runs and one that fails
while it plans. Also: hooks stay compatible when keywords are added (a hook declaring only
some, or ``**kwargs``), and get views they cannot change.
"""

from __future__ import annotations

import dataclasses
import json
import operator
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import fsspec
import pytest
from fsspec.implementations.memory import MemoryFileSystem

import cairn
from cairn.hooks import BuildHook
from cairn.locks import BaseLock


class Step(cairn.Task):
    n = cairn.IntParameter(default=1)
    tags = cairn.ListParameter(default=["a"])

    def run(self):
        return self.n


class Next(cairn.Task):
    def requires(self):
        return Step(n=2)

    def run(self):
        return self.load() + 1


class Breaks(cairn.Task):
    def requires(self):
        return Step(n=3)

    def run(self):
        raise RuntimeError("broken on purpose")


class Ends(BuildHook):
    """Keeps what each on_build_end call was given."""

    def __init__(self) -> None:
        self.ends: list[tuple[Any, BaseException | None]] = []

    def on_build_end(self, *, summary, error):
        self.ends.append((summary, error))

    @property
    def only(self) -> tuple[Any, BaseException | None]:
        assert len(self.ends) == 1, self.ends
        return self.ends[0]


# --- success and failed tasks -------------------------------------------------------------
def test_a_build_that_succeeds_ends_with_outcome_succeeded_and_no_error(workspace):
    hook = Ends()
    assert cairn.build(Next(), hooks=[hook], progress=False) == 3
    summary, error = hook.only
    assert (summary.ok, summary.outcome, summary.error, error) == (True, "succeeded", None, None)
    assert [v.name for v in summary.ran] == ["Step", "Next"]


def test_a_build_with_failed_tasks_ends_with_the_build_error_it_raises(workspace):
    hook = Ends()
    with pytest.raises(cairn.BuildError) as info:
        cairn.build(Breaks(), hooks=[hook], progress=False)
    summary, error = hook.only
    assert error is info.value
    assert (summary.ok, summary.outcome) == (False, "failed")
    assert summary.error.startswith("BuildError: ")
    assert [(v.name, text) for v, text in summary.failed] == [
        ("Breaks", "RuntimeError: broken on purpose")
    ]


# --- Ctrl-C ---------------------------------------------------------------------------------
SCRIPT = """
import json, os, sys, time
import cairn
from cairn.hooks import BuildHook

flags = sys.argv[1]


class Quick(cairn.Task):
    def run(self):
        return 0


class Slow(cairn.Task):
    def requires(self):
        return Quick()

    def run(self):
        open(os.path.join(flags, "started"), "w").close()
        deadline = time.monotonic() + 60
        while not os.path.exists(os.path.join(flags, "release")):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        return 1


class Root(cairn.Task):
    def requires(self):
        return Slow()

    def run(self):
        return 2


class Waiting:  # says when Ctrl-C was heard and the build waits for the running task

    def build_interrupted(self, running, waiting):
        open(os.path.join(flags, "interrupted"), "w").close()


class Tell(BuildHook):
    def on_build_end(self, *, summary, error):
        end = {
            "outcome": summary.outcome,
            "ok": summary.ok,
            "error": type(error).__name__,
            "is_keyboard_interrupt": isinstance(error, KeyboardInterrupt),
            "ran": [view.name for view in summary.ran],
            "text": summary.text(),
        }
        with open(os.path.join(flags, "end.json"), "w") as file:
            json.dump(end, file)


try:
    cairn.build(Root(), listener=Waiting(), hooks=[Tell()], progress=False, executor=sys.argv[2])
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.exit(130)
"""


@pytest.mark.parametrize("executor", ["inline", "threads"])
def test_ctrl_c_ends_the_build_with_outcome_interrupted(tmp_path, executor):
    """Inline, Ctrl-C stops the running task; on threads, the build waits for it to finish."""
    script = tmp_path / "interrupted_build.py"
    script.write_text(SCRIPT)
    flags = tmp_path / "flags"
    flags.mkdir()
    child = subprocess.Popen(
        [sys.executable, str(script), str(flags), executor],
        cwd=tmp_path,
        env={**os.environ, "CAIRN_WORKSPACE": str(tmp_path / "ws")},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not (flags / "started").exists():
            assert child.poll() is None, child.communicate()[0]
            assert time.monotonic() < deadline, "the slow task never started"
            time.sleep(0.02)
        child.send_signal(signal.SIGINT)
        if executor == "threads":  # the build waits for the running task: let it finish
            while not (flags / "interrupted").exists():
                assert child.poll() is None, child.communicate()[0]
                assert time.monotonic() < deadline, "the build never heard the Ctrl-C"
                time.sleep(0.02)
            (flags / "release").touch()
        output = child.communicate(timeout=60)[0]
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 130, output
    end = json.loads((flags / "end.json").read_text())
    assert end["outcome"] == "interrupted" and not end["ok"]
    finished = ["Quick"] if executor == "inline" else ["Quick", "Slow"]
    assert end["is_keyboard_interrupt"] and end["ran"] == finished
    assert "INTERRUPTED" in end["text"]


# --- the lock -------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_lock_service_that_cannot_be_reached_ends_the_build_with_its_lock_error(workspace):
    pytest.importorskip("redis", reason="redis-py is not installed (pip install cairn[redis])")
    hook = Ends()
    url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    with pytest.raises(cairn.LockError) as info:
        cairn.build(Next(), hooks=[hook], lock=url, progress=False)
    summary, error = hook.only
    assert error is info.value
    assert (summary.ok, summary.outcome, summary.total) == (False, "error", 2)
    assert summary.error.startswith("LockError: cannot use the Redis lock server")
    assert summary.ran == ()


class _Lease:
    def release(self) -> None:
        pass


class FailsAfterFirst(BaseLock):
    """A lock whose service stops answering after the first lease."""

    def __init__(self) -> None:
        self.given = 0

    def acquire(self, key: str) -> _Lease:
        if self.given:
            raise cairn.LockError("the lock service stopped answering")
        self.given += 1
        return _Lease()


def test_a_lock_failing_mid_build_ends_it_with_the_lock_error_and_what_ran(workspace):
    hook = Ends()
    with pytest.raises(cairn.LockError, match="stopped answering") as info:
        cairn.build(Next(), hooks=[hook], lock=FailsAfterFirst(), progress=False)
    summary, error = hook.only
    assert error is info.value and summary.outcome == "error"
    assert [v.name for v in summary.ran] == ["Step"]
    assert "stopped by LockError: the lock service stopped answering" in summary.text()


# --- the store ------------------------------------------------------------------------------
class DeletesFail(MemoryFileSystem):
    """An in-memory store where deleting is refused (like a bucket without delete rights)."""

    protocol = ("cairn-test-deletes-fail",)

    def rm_file(self, path: str) -> None:
        raise PermissionError(f"deleting {path} is not allowed")


class ReadsFail(MemoryFileSystem):
    """An in-memory store that cannot be read (its server went away)."""

    protocol = ("cairn-test-reads-fail",)

    def cat_file(self, path: str, start: Any = None, end: Any = None, **kwargs: Any) -> bytes:
        raise ConnectionError("the store's server went away")


@pytest.fixture
def failing_stores():
    for cls in (DeletesFail, ReadsFail):
        fsspec.register_implementation(cls.protocol[0], cls, clobber=True)
    return f"ws-{uuid.uuid4().hex[:8]}"


def test_a_store_failing_while_the_build_runs_ends_it_with_the_store_error(failing_stores):
    url = f"cairn-test-deletes-fail://{failing_stores}"
    cairn.build(Next(), workspace=url, progress=False)
    hook = Ends()
    with pytest.raises(cairn.StoreError, match="permission denied to delete") as info:
        cairn.build(Next(), workspace=url, rerun=True, hooks=[hook], progress=False)
    summary, error = hook.only
    assert error is info.value
    assert (summary.ok, summary.outcome, summary.workspace) == (False, "error", url)
    assert summary.total == 2 and summary.ran == ()


def test_a_store_failing_while_the_build_plans_ends_it_with_the_store_error(failing_stores):
    url = f"cairn-test-reads-fail://{failing_stores}"
    hook = Ends()
    with pytest.raises(cairn.StoreError, match="server went away") as info:
        cairn.build(Next(), workspace=url, hooks=[hook], progress=False)
    summary, error = hook.only
    assert error is info.value and summary.outcome == "error"
    assert summary.total == 0 and [v.name for v in summary.roots] == ["Next"]


# --- the function style ---------------------------------------------------------------------
def double(x: int) -> int:
    return 2 * x


def test_pipeline_run_tells_hooks_each_node_and_the_end(workspace):
    events: list[str] = []

    class Log(BuildHook):
        def on_task_success(self, *, task):
            events.append(f"done {task.name}")

        def on_build_end(self, *, summary):
            events.append(f"end {summary.outcome}")

    pipe = cairn.Pipeline([cairn.node(double, inputs=["config.x"], outputs="y")], config={"x": 2})
    assert pipe.run(hooks=[Log()], summary=False) == {"y": 4}
    assert events == ["done NodeTask", "end succeeded"]


# --- compatibility and read-only views ------------------------------------------------------
def test_hooks_declaring_some_keywords_or_kwargs_keep_working(workspace, caplog):
    heard: list[Any] = []

    class Few(BuildHook):
        def on_task_success(self, *, task):  # no record
            heard.append(("few success", task.name))

        def on_build_end(self, *, summary):  # no error
            heard.append(("few end", summary.outcome))

    class Everything(BuildHook):
        def on_task_success(self, **kwargs):
            heard.append(("all success", sorted(kwargs)))

        def on_build_end(self, **kwargs):
            heard.append(("all end", sorted(kwargs)))

    cairn.build(Step(n=5), hooks=[Few(), Everything()], progress=False)
    assert heard == [
        ("few success", "Step"),
        ("all success", ["record", "task"]),
        ("few end", "succeeded"),
        ("all end", ["error", "summary"]),
    ]
    assert "failed" not in caplog.text


def test_a_plain_listener_with_some_events_and_the_old_build_finished_keeps_working(workspace):
    heard: list[str] = []

    class Old:
        def task_started(self, task):
            heard.append(f"start {type(task).__name__}")

        def build_finished(self, *, plan, outcome, workspace):
            heard.append(f"finished {len(plan)} {len(outcome.ran)}")

    class New:
        def build_finished(self, **kwargs):
            heard.append(f"new {type(kwargs['error']).__name__}")

    with pytest.raises(cairn.BuildError):
        cairn.build(Breaks(), listener=Old(), hooks=[New()], progress=False)
    assert heard == [
        "start Step",
        "start Breaks",
        "finished 2 1",
        "new BuildError",
    ]


def test_hooks_cannot_change_a_record_or_the_summary(workspace):
    tried: list[str] = []

    class Meddles(BuildHook):
        def on_task_success(self, *, task, record):
            for change in (
                lambda: operator.setitem(record, "task_id", "x"),
                lambda: operator.setitem(record["params"], "n", 99),
                lambda: record["params"]["tags"].append("b"),
                lambda: operator.setitem(task.params, "n", 99),
            ):
                try:
                    change()
                except (TypeError, AttributeError) as exc:
                    tried.append(type(exc).__name__)

        def on_build_end(self, *, summary):
            with pytest.raises(dataclasses.FrozenInstanceError):
                summary.ok = False
            tried.append("summary")

    task = Step(n=4, tags=["a"])
    cairn.build(task, hooks=[Meddles()], progress=False)
    assert tried == ["TypeError", "TypeError", "AttributeError", "TypeError", "summary"]
    stored = cairn.show(task.task_id)
    assert stored["task_id"] == task.task_id
    assert stored["params"]["n"] == 4 and stored["params"]["tags"] == ["a"]
    assert not cairn.plan(task).to_run


def test_the_summary_of_a_build_is_the_same_for_the_workspace_it_wrote(workspace):
    hook = Ends()
    cairn.build(Step(n=6), hooks=[hook], progress=False)
    summary, _ = hook.only
    assert Path(summary.workspace).resolve() == Path(workspace).resolve()
