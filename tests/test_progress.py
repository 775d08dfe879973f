"""What a build shows: a live display on a real terminal (a pty), a summary line always."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
from pathlib import Path

import pytest

import cairn

SCRIPT = """
import sys, time
import cairn

class Sleepy(cairn.Task):
    n = cairn.IntParameter()

    def run(self):
        time.sleep(0.8)
        return self.n

class Broken(cairn.Task):
    def run(self):
        time.sleep(0.8)
        raise RuntimeError("no")

progress = {"auto": None, "on": True, "off": False}[sys.argv[1]]
try:
    cairn.build([Sleepy(n=1), Sleepy(n=2), Broken()], executor="threads", workers=3,
                progress=progress)
except cairn.BuildError:
    pass
"""

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\r")


def _run(tmp_path: Path, progress: str, *, terminal: bool, ci: bool = False) -> str:
    """Run the script with stderr on a pty (a terminal) or a pipe; return what it showed."""
    script = tmp_path / "show.py"
    script.write_text(SCRIPT)
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "TERM", "NO_COLOR")}
    env.update(CAIRN_WORKSPACE=str(tmp_path / "ws"), TERM="xterm-256color", COLUMNS="100")
    if ci:
        env["CI"] = "true"
    command = [sys.executable, str(script), progress]
    if not terminal:
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=60, check=False
        )
        return done.stderr
    main, child = pty.openpty()
    proc = subprocess.Popen(command, env=env, stdin=child, stdout=child, stderr=child)
    os.close(child)
    chunks = []
    try:
        while True:
            ready, _, _ = select.select([main], [], [], 60)
            if not ready:
                raise AssertionError("the build showed nothing for 60 s")
            try:
                data = os.read(main, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(main)
        proc.wait(timeout=60)
    return ANSI.sub("", b"".join(chunks).decode("utf-8", "replace"))


SUMMARY = re.compile(r"cairn: 2 ran, 0 reused, 1 failed in \d+\.\ds")


@pytest.mark.timeout(120)
def test_a_terminal_shows_a_live_display_then_the_summary(tmp_path: Path) -> None:
    shown = _run(tmp_path, "auto", terminal=True)
    assert "done 0/3" in shown and "running 3" in shown
    assert "Sleepy(n=1)" in shown and "Broken()" in shown  # names of running tasks
    assert re.search(r"0:0\d|\d\.\ds", shown)  # elapsed time
    assert "failed 1" in shown or "failed 0" in shown
    assert SUMMARY.search(shown), shown


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("progress", "terminal", "ci"),
    [("auto", False, False), ("auto", True, True), ("off", True, False)],
    ids=["not-a-terminal", "in-ci", "progress-false"],
)
def test_no_live_display_but_always_a_summary(tmp_path, progress, terminal, ci) -> None:
    shown = _run(tmp_path, progress, terminal=terminal, ci=ci)
    assert "running" not in shown and "done 0/3" not in shown
    assert SUMMARY.search(shown), shown
    assert len(shown.strip().splitlines()) == 1


@pytest.mark.timeout(120)
def test_progress_true_shows_the_display_even_off_a_terminal(tmp_path: Path) -> None:
    shown = ANSI.sub("", _run(tmp_path, "on", terminal=False))
    assert "running" in shown
    assert SUMMARY.search(shown)


class Counted(cairn.Task[int]):
    n = cairn.IntParameter()

    def run(self) -> int:
        return self.n


def test_the_summary_counts_reused_tasks(workspace: str, capsys) -> None:
    cairn.build(Counted(n=1))
    capsys.readouterr()
    cairn.build([Counted(n=1), Counted(n=2)], progress=False)
    err = capsys.readouterr().err
    assert re.fullmatch(r"cairn: 1 ran, 1 reused, 0 failed in \d+\.\ds\n", err)


class Shared(cairn.Task):
    def run(self) -> int:
        return 1


class Side(cairn.Task):
    n = cairn.IntParameter()

    def requires(self):
        return [Shared(), Counted(n=self.n)]

    def run(self) -> int:
        return sum(self.load())


class Top(cairn.Task):
    def requires(self):
        return [Side(n=1), Side(n=2), Shared()]

    def run(self) -> int:
        return sum(self.load())


def test_a_build_that_runs_nothing_counts_each_task_it_reaches_once(workspace: str, capsys) -> None:
    cairn.build(Top())
    capsys.readouterr()
    assert cairn.build(Top()) == 6  # (1 + 1) + (1 + 2) + 1
    # Top, two Sides, two Counted and Shared (reached three times, counted once)
    assert capsys.readouterr().err.startswith("cairn: all 6 task(s) reused in ")


def test_a_listener_receives_the_build_events(workspace: str) -> None:
    events: list[str] = []

    class Listener:
        def build_started(self, plan):
            events.append(f"started {len(plan)}")

        def task_started(self, task):
            events.append(f"start {task!r}")

        def task_succeeded(self, task, record):
            events.append(f"done {task!r} attempt {record['attempt']}")

        def task_failed(self, task, error):
            events.append(f"failed {task!r}")

        def build_finished(self, *, plan, outcome, workspace):
            events.append(f"finished {len(outcome.ran)}")

    cairn.build(Counted(n=3), listener=Listener(), progress=False)
    assert events == [
        "started 1",
        "start Counted(n=3)",
        "done Counted(n=3) attempt 1",
        "finished 1",
    ]


def test_a_caller_that_prints_its_own_summary_can_turn_it_off(workspace: str, capsys) -> None:
    cairn.build(Counted(n=4), progress=False, summary=False)
    assert capsys.readouterr().err == ""
