"""A forced rerun (``rerun="all"``) SIGKILLed at any moment: the next normal build finishes
it, and no stored result mixes an old generation with a new one."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from _processes import run_python

PIPELINE = textwrap.dedent(
    """
    import json, sys, time, uuid
    import cairn

    class A(cairn.Task):
        def output(self):
            return self.make_target("chain/a.json")
        def run(self):
            time.sleep(0.05)
            return {"stamp": uuid.uuid4().hex}

    class B(cairn.Task):
        def requires(self):
            return A()
        def output(self):
            return self.make_target("chain/b.json")
        def run(self):
            time.sleep(0.05)
            return {"stamp": uuid.uuid4().hex, "a": self.load()}

    class C(cairn.Task):
        def requires(self):
            return B()
        def output(self):
            return self.make_target("chain/c.json")
        def run(self):
            time.sleep(0.05)
            return {"stamp": uuid.uuid4().hex, "b": self.load()}

    if __name__ == "__main__":
        rerun = {"all": "all", "no": False}[sys.argv[1]]
        print("started", flush=True)
        cairn.build(C(), rerun=rerun, summary=False, progress=False)
    """
)

SEED = 15
ROUNDS = 12


def _run(folder: Path, env: dict[str, str], rerun: str) -> None:
    done = run_python("pipeline.py", rerun, cwd=folder, env=env)
    assert done.returncode == 0, done.stderr


def _consistent(workspace: Path) -> dict[str, str]:
    a, b, c = (
        json.loads(next((workspace / "chain").glob(f"{name}_*.json")).read_text()) for name in "abc"
    )
    assert len(list(workspace.rglob("*.run.json"))) == 3, "every task is complete"
    assert b["a"] == a, "b.json was made from another a.json than the one stored"
    assert c["b"] == b, "c.json was made from another b.json than the one stored"
    return {"a": a["stamp"], "b": b["stamp"], "c": c["stamp"]}


@pytest.mark.parametrize("through_symlink", [False, True])
def test_a_forced_rerun_killed_anywhere_never_mixes_generations(tmp_path, through_symlink):
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "pipeline.py").write_text(PIPELINE)
    real = tmp_path / "ws"
    real.mkdir()
    workspace = real
    if through_symlink:
        workspace = tmp_path / "link"
        workspace.symlink_to(real)
    env = {**os.environ, "CAIRN_WORKSPACE": str(workspace), "PYTHONPATH": str(folder)}
    _run(folder, env, "no")
    before = _consistent(real)
    rng = random.Random(SEED)
    for round_ in range(ROUNDS):
        proc = subprocess.Popen(
            [sys.executable, "pipeline.py", "all"],
            cwd=folder,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "started"
        # the three tasks take about 0.15 s after the start: kill across all of it
        time.sleep(0.25 * round_ / ROUNDS + rng.uniform(0, 0.25 / ROUNDS))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
        _run(folder, env, "no")  # the next normal build finishes what was dropped
        after = _consistent(real)
        assert after["c"] != before["c"] or after == before
        before = after
