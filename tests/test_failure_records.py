"""Failure records through the real `cairn` program: a failed attempt leaves a record that
run, status, show, ls and graph (and cairn.status/show/ls) report until the task succeeds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import cairn
from _processes import run_cairn

PIPELINE = """
import os
import signal

import cairn


class Leaf(cairn.Task):
    key = cairn.Parameter(default="a")

    def run(self):
        self.logger.info("looking up %s", self.key)
        if os.path.exists("crash.flag"):
            os.kill(os.getpid(), signal.SIGKILL)
        table = {"a": 1}
        if os.path.exists("fixed.flag"):
            table["b"] = 2
        return table[self.key]


class Top(cairn.Task):
    def requires(self):
        return {"a": Leaf(key="a"), "b": Leaf(key="b")}

    def run(self):
        return self.load("a") + self.load("b")
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "failpipe.py").write_text(PIPELINE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("CAIRN_WORKSPACE", str(tmp_path / "ws"))
    yield tmp_path
    sys.modules.pop("failpipe", None)


def cairn_cli(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PYTHONPATH": str(project), "COLUMNS": "200", "CAIRN_WORKSPACE": str(project / "ws")}
    return run_cairn(*args, cwd=project, env=env)


def test_a_failed_task_prints_its_own_frames_and_leaves_a_failure_record(project):
    run = cairn_cli(project, "run", "failpipe:Top")
    assert run.returncode == 1
    assert "✗ Leaf(key='b')" in run.stdout and "KeyError: 'b'  at failpipe.py:" in run.stdout
    assert "Your code, innermost last:" in run.stderr
    assert 'failpipe.py", line ' in run.stderr and "return table[self.key]" in run.stderr
    assert "runner.py" not in run.stderr  # cairn's own frames only with --debug
    debug = cairn_cli(project, "run", "failpipe:Top", "--debug")
    assert "runner.py" in debug.stderr

    from failpipe import Leaf, Top

    tid = Leaf(key="b").task_id
    status = cairn_cli(project, "status", "failpipe:Top")
    assert "failed    Leaf(key='b')" in status.stdout
    assert "KeyError: 'b' at failpipe.py:" in status.stdout and "(attempt 1)" in status.stdout
    assert "1 complete, 1 failed, 1 will run" in status.stdout
    assert cairn.status(Top())[Leaf(key="b")].state == "failed"
    assert cairn.status(Top())[Leaf(key="b")].failure.error == "KeyError"

    show = cairn_cli(project, "show", tid[:6])
    assert show.returncode == 0, show.stderr
    assert "task (failed)" in show.stdout and "KeyError: 'b'" in show.stdout
    assert "looking up b" in show.stdout  # the captured log
    assert "return table[self.key]" in show.stdout
    record = json.loads(cairn_cli(project, "show", tid, "--json").stdout)
    assert record["cairn_failure"] == 1 and record["params"] == {"key": "b"}
    assert record["attempt"] == 1 and record["host"] and record["duration_s"] is not None
    failed = cairn.show(tid)
    assert failed.failure.message == "'b'" and failed.task_id == tid

    listing = cairn_cli(project, "ls", "--json").stdout.splitlines()
    states = {json.loads(line)["task_id"]: json.loads(line)["state"] for line in listing}
    assert states[tid] == "failed" and states[Leaf(key="a").task_id] == "complete"
    assert "failed" in cairn_cli(project, "graph", "failpipe:Top", "-f", "dot").stdout

    (project / "fixed.flag").write_text("")
    again = cairn_cli(project, "run", "failpipe:Top")
    assert again.returncode == 0, again.stderr
    assert not list((project / "ws").rglob("*.failed.json"))
    assert "failed" not in cairn_cli(project, "status", "failpipe:Top").stdout
    assert cairn.status(Top())[Leaf(key="b")].state == "complete"


def test_a_killed_worker_leaves_a_failure_record_written_by_the_parent(project):
    (project / "crash.flag").write_text("")
    run = cairn_cli(project, "run", "failpipe:Leaf", "-e", "processes", "-j", "1")
    assert run.returncode == 1
    from failpipe import Leaf

    status = cairn_cli(project, "status", "failpipe:Leaf")
    assert "failed    Leaf(key='a')" in status.stdout and "WorkerLostError" in status.stdout
    assert cairn.status(Leaf())[Leaf()].failure.error == "WorkerLostError"


def test_a_too_short_or_ambiguous_id_prefix_says_so(project):
    cairn_cli(project, "run", "failpipe:Top")
    short = cairn_cli(project, "show", "5")
    assert short.returncode == 2
    assert "too short" in short.stderr and "at least 4 hex digits" in short.stderr
