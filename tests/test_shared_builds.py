"""Several real processes building against one workspace: exactly once, lease takeover,
and Redis dying mid-build."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

import cairn
from _servers import RedisServer
from _shared_graph import (
    Blocker,
    all_tasks60,
    complete_outputs,
    graph60,
    outcome,
    runs_by_task,
    spawn,
)
from conftest import require_program


def wait_for(check: Any, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def build_in_four_processes(
    tmp_path: Path, workspace: str, lock: str, storage_options: dict[str, Any] | None = None
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Start four runners on the 60-task graph at the same moment; return outcomes and runs."""
    counts = tmp_path / "counts"
    counts.mkdir()
    go = tmp_path / "go"
    runners = []
    for n in range(4):
        config = {
            "graph": "graph60",
            "workspace": workspace,
            "storage_options": storage_options,
            "lock": lock,
            "executor": "threads",
            "workers": 3,
            "ready": str(tmp_path / f"ready{n}"),
            "go": str(go),
        }
        runners.append(spawn(config, CAIRN_TEST_COUNTS=str(counts), CAIRN_TEST_MAX_SLEEP="0.04"))
    try:
        wait_for(lambda: all((tmp_path / f"ready{n}").exists() for n in range(4)), "runners")
        go.touch()
        return [outcome(runner) for runner in runners], runs_by_task(counts)
    finally:
        for runner in runners:
            if runner.poll() is None:
                runner.kill()
                runner.communicate()


def assert_exactly_once(outcomes: list[dict[str, Any]], runs: dict[str, int], ref: Any) -> None:
    assert all("result" in o for o in outcomes), outcomes
    assert [o["result"] for o in outcomes] == [ref] * 4
    assert set(runs) == {task.task_id for task in all_tasks60()}
    assert {tid: n for tid, n in runs.items() if n != 1} == {}


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The 60-task graph's result from one plain build (JSON-shaped, as runners print it)."""
    result = cairn.build(graph60(), workspace=str(tmp_path_factory.mktemp("reference")))
    return {"total": result["total"], "parts": result["parts"]}


def test_four_processes_with_file_lock_run_each_task_exactly_once(
    tmp_path: Path, reference: Any
) -> None:
    outcomes, runs = build_in_four_processes(tmp_path, str(tmp_path / "ws"), "file")
    assert_exactly_once(outcomes, runs, reference)


def test_four_processes_with_redis_lock_on_s3_run_each_task_exactly_once(
    tmp_path: Path, reference: Any, moto_s3: Any, redis_server: RedisServer
) -> None:
    workspace = f"s3://{moto_s3.new_bucket()}/shared"
    outcomes, runs = build_in_four_processes(
        tmp_path, workspace, redis_server.url, moto_s3.storage_options
    )
    assert_exactly_once(outcomes, runs, reference)


@pytest.mark.parametrize("kind", ["file", "redis"])
def test_runner_killed_holding_a_lock_is_taken_over_by_the_next(
    kind: str, tmp_path: Path, redis_server: RedisServer
) -> None:
    ws = str(tmp_path / "ws")
    lock = "file" if kind == "file" else f"{redis_server.url}?ttl=2"
    counts = tmp_path / "counts"
    counts.mkdir()
    started = tmp_path / "started"
    config = {"graph": "blocker", "workspace": ws, "lock": lock, "executor": "inline"}
    first = spawn(config, CAIRN_TEST_COUNTS=str(counts), CAIRN_TEST_BLOCK=str(started))
    try:
        wait_for(started.exists, "the first runner to start the blocking task")
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.communicate()
    if kind == "redis":  # the dead runner's lease outlives it until its time-to-live ends
        client = redis_server.client()
        holder = client.get(f"cairn:lock:{ws}::{Blocker().task_id}")
        client.close()
        assert holder is not None and f"pid {first.pid} " in holder.decode()
    second = spawn(config, CAIRN_TEST_COUNTS=str(counts))
    assert outcome(second) == {"result": "done"}
    runs = runs_by_task(counts)
    assert runs[Blocker().task_id] == 2  # started by the killed runner, redone by the second
    assert sorted(runs.values()) == [1, 2]


def test_redis_killed_mid_build_fails_cleanly_and_rerun_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reference: Any
) -> None:
    server = RedisServer(require_program("redis-server"), tmp_path)
    try:
        ws = str(tmp_path / "ws")
        counts = tmp_path / "counts"
        counts.mkdir()
        config = {"graph": "graph60", "workspace": ws, "lock": server.url, "workers": 3}
        runner = spawn(config, CAIRN_TEST_COUNTS=str(counts), CAIRN_TEST_MAX_SLEEP="0.15")
        wait_for(lambda: len(list(counts.iterdir())) >= 12, "a dozen tasks to run")
        server.kill()
        failed = outcome(runner)
        assert failed["error"] == "LockError", failed
        assert f"Redis lock server at redis://127.0.0.1:{server.port}/0" in failed["message"]
        assert "build again to resume" in failed["message"]

        tasks = all_tasks60()
        clean = complete_outputs(tasks, str(tmp_path_clean(tmp_path)))
        stored = complete_outputs(tasks, ws)
        assert 12 <= len(stored) < len(tasks)
        assert {tid: clean[tid] for tid in stored} == stored  # nothing stored is corrupted

        server.start()  # Redis is back, on the same port
        monkeypatch.setenv("CAIRN_TEST_COUNTS", str(counts))
        result = cairn.build(graph60(), workspace=ws, lock=server.url, executor="threads")
        assert result == reference
        assert {tid: n for tid, n in runs_by_task(counts).items() if n != 1} == {}
        assert len(runs_by_task(counts)) == len(tasks)
    finally:
        server.stop()


def tmp_path_clean(tmp_path: Path) -> Path:
    """A workspace holding a clean build of the 60-task graph."""
    clean = tmp_path / "clean"
    cairn.build(graph60(), workspace=str(clean))
    return clean


RERUN_ELSEWHERE = """
import os, sys
import cairn

class Value(cairn.Task):
    def run(self):
        return os.environ["VALUE"]

class Use(cairn.Task):
    def requires(self):
        return Value()

    def run(self):
        return "used " + self.load()

if sys.argv[1] == "rerun":
    cairn.build(Value(), rerun=True, summary=False)
else:
    assert cairn.build(Value(), summary=False) == "first"
    # another runner rewrites Value's output and record now
    import subprocess
    env = {**os.environ, "VALUE": "second"}
    subprocess.run([sys.executable, __file__, "rerun"], env=env, check=True)
    print(cairn.build(Use(), summary=False))
    print(cairn.build(Value(), summary=False))
"""


def test_a_task_rewritten_by_another_runner_loads_as_it_is_now(tmp_path, workspace):
    # The builder remembers the records it wrote, so what needs them does not read them
    # again; a record another runner wrote since must win over that memory.
    import subprocess
    import sys

    script = tmp_path / "elsewhere.py"
    script.write_text(RERUN_ELSEWHERE)
    env = {**os.environ, "VALUE": "first", "CAIRN_WORKSPACE": workspace}
    done = subprocess.run(
        [sys.executable, str(script), "main"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["used second", "second"]
