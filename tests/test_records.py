"""Run records: contents, seeds, captured logs, and crash behaviour."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
import warnings
import zlib
from pathlib import Path

import pytest

import cairn


class Noisy(cairn.Task):
    size = cairn.IntParameter(default=3)
    tag = cairn.Parameter(default="t", significant=False)

    def run(self):
        self.logger.info("drawing %d numbers", self.size)
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.warn("careful: synthetic data", UserWarning, stacklevel=1)
        return [random.random() for _ in range(self.size)]


class Consumer(cairn.Task):
    up = cairn.TaskParameter()

    def run(self):
        return sum(self.load("up"))


def _record(workspace: str, task: cairn.Task) -> dict:
    path = Path(workspace) / task.record_path()
    return json.loads(path.read_text())


def test_record_holds_parameters_dependencies_code_environment_timing_and_outputs(workspace):
    task = Consumer(up=Noisy(size=4, tag="x"))
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        cairn.build(task)
    up = _record(workspace, task.up)
    assert up["task_id"] == task.up.task_id
    assert up["family"].endswith("test_records.Noisy")
    assert up["params"] == {"size": 4, "tag": "x"}
    assert up["insignificant"] == ["tag"]
    assert up["dependencies"] == []
    assert len(up["code"]["fingerprint"]) == 32
    manifest = json.loads((Path(workspace) / up["code"]["manifest"]).read_text())
    assert manifest["fingerprint"] == up["code"]["fingerprint"]
    assert any(name.endswith("Noisy.run") for name in manifest["components"])
    env = up["environment"]
    assert env["python"].count(".") == 2 and env["host"] and env["platform"]
    assert "cloudpickle" in env["packages"]
    assert up["duration_s"] >= 0 and up["start"] <= up["end"]
    assert isinstance(up["seed"], int)
    assert any("drawing 4 numbers" in line for line in up["log"])
    assert any("careful: synthetic data" in line for line in up["log"])
    (output,) = up["outputs"].values()
    stored = (Path(workspace) / output["path"]).read_bytes()
    assert output["size"] == len(stored)
    assert output["checksum"] == f"crc32:{zlib.crc32(stored):08x}"
    down = _record(workspace, task)
    assert down["dependencies"] == [task.up.task_id]
    assert down["requires"] == {"up": {"task": up["family"], "task_id": task.up.task_id}}
    assert down["params"]["up"]["task_id"] == task.up.task_id


def test_random_seed_comes_from_the_task_id_so_reruns_repeat(workspace):
    first = cairn.build(Noisy(size=5))
    again = cairn.build(Noisy(size=5), rerun=True)
    other = cairn.build(Noisy(size=6))
    assert first == again
    assert other[:5] != first


def test_random_seed_can_be_fixed_on_the_class(workspace):
    class Fixed(Noisy):
        random_seed = 42

    cairn.build(Fixed(size=2))
    record = _record(workspace, Fixed(size=2))
    assert record["seed"] == 42
    random.seed(42)
    assert cairn.build(Fixed(size=2)) == [random.random(), random.random()]


def test_numpy_global_generator_is_seeded_too(workspace):
    np = pytest.importorskip("numpy")

    class Draw(cairn.Task):
        def run(self):
            return np.random.rand(3).tolist()

    first = cairn.build(Draw())
    assert cairn.build(Draw(), rerun=True) == first


def test_failed_task_writes_no_record(workspace):
    class Fails(cairn.Task):
        def run(self):
            self.dump("partial")
            raise RuntimeError("after dumping")

    with pytest.raises(cairn.BuildError):
        cairn.build(Fails())
    assert not (Path(workspace) / Fails().record_path()).exists()
    assert cairn.plan(Fails())[0].will_run


SLOW_PIPELINE = """
import sys, time, cairn

class Slow(cairn.Task):
    def run(self):
        self.dump("half")
        print("dumped", flush=True)
        time.sleep(60)

if __name__ == "__main__":
    if sys.argv[2] == "build":
        cairn.build(Slow(), workspace=sys.argv[1])
    else:
        print(cairn.plan(Slow(), workspace=sys.argv[1])[0].reason)
"""


def test_task_killed_mid_run_leaves_nothing_that_reads_as_complete(tmp_path):
    script = tmp_path / "slow.py"
    script.write_text(textwrap.dedent(SLOW_PIPELINE))
    ws = tmp_path / "ws"
    proc = subprocess.Popen(
        [sys.executable, str(script), str(ws), "build"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "dumped"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    # the output was written, staged under a temporary name until the record is written...
    assert list(ws.rglob(".Slow_*.pkl.*.tmp"))
    assert not list(ws.rglob("Slow_*.pkl"))
    assert not list(ws.rglob("*.run.json"))  # ...but no record, so it is not complete
    out = subprocess.run(
        [sys.executable, str(script), str(ws), "plan"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert out.stdout.strip() == "no earlier output"


def test_record_timing_is_measured(workspace):
    class Sleepy(cairn.Task):
        def run(self):
            time.sleep(0.05)
            return 1

    cairn.build(Sleepy())
    assert _record(workspace, Sleepy())["duration_s"] >= 0.05


FORCED_SLOW = """
import sys, time, cairn

class Slow(cairn.Task):
    def run(self):
        if sys.argv[2] == "rerun":
            print("running", flush=True)
            time.sleep(60)
        return "done"

if __name__ == "__main__":
    cairn.build(Slow(), workspace=sys.argv[1], rerun=sys.argv[2] == "rerun", progress=False)
    print(cairn.plan(Slow(), workspace=sys.argv[1])[0].reason, flush=True)
"""


def test_forced_rerun_killed_mid_run_leaves_the_task_incomplete(tmp_path):
    script = tmp_path / "forced.py"
    script.write_text(textwrap.dedent(FORCED_SLOW))
    ws = str(tmp_path / "ws")
    subprocess.run([sys.executable, str(script), ws, "first"], check=True, timeout=60)
    proc = subprocess.Popen(
        [sys.executable, str(script), ws, "rerun"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "running"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not list(Path(ws).rglob("*.run.json"))  # the old record went before the rerun


class Draws(cairn.Task):
    n = cairn.IntParameter()

    def run(self):
        first = self.random.random()
        time.sleep(0.02)  # let other tasks draw in between, on other threads
        return [first, self.random.random(), float(self.numpy_random.random())]


class AllDraws(cairn.Task):
    def requires(self):
        return [Draws(n=i) for i in range(6)]

    def run(self):
        return self.load()


def test_task_generators_repeat_even_with_tasks_on_parallel_threads(workspace):
    pytest.importorskip("numpy")
    first = cairn.build(AllDraws(), executor="threads", workers=3)
    again = cairn.build(AllDraws(), executor="threads", workers=3, rerun="all")
    assert first == again
    assert len({tuple(d) for d in first}) == 6  # each task has its own stream


def test_task_generators_exist_only_while_running():
    with pytest.raises(cairn.CairnError, match="only while the task runs"):
        Draws(n=1).random


NUMPY_IN_RUN = """
import sys
import cairn


class Draws(cairn.Task):
    def run(self):
        import numpy as np  # not imported before the build: seeded when imported

        return [float(np.random.random()) for _ in range(3)]


class Plain(cairn.Task):
    def run(self):
        return 1


if __name__ == "__main__":
    if sys.argv[2] == "plain":
        cairn.build(Plain(), workspace=sys.argv[1], summary=False)
        print("numpy imported:", "numpy" in sys.modules)
    else:
        print(cairn.build(Draws(), workspace=sys.argv[1], rerun=True, summary=False))
"""


def test_numpy_imported_inside_run_is_seeded_and_never_imported_for_nothing(tmp_path):
    import subprocess

    pytest.importorskip("numpy")
    script = tmp_path / "draws.py"
    script.write_text(NUMPY_IN_RUN)

    def run(kind: str) -> str:
        return subprocess.run(
            [sys.executable, str(script), str(tmp_path / "ws"), kind],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    first, second = run("draws"), run("draws")
    assert first == second and first.startswith("[0.")  # the same draws in two processes
    assert run("plain") == "numpy imported: False"
