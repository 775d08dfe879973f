"""The live display of a build, read off a real terminal (a pty and a terminal emulator):
the header ``cairn done 1/5 · running 3 · failed 0 · 1.4s``, one line per running task with
its short label and time, and nothing of it left after the build or after Ctrl-C."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from _processes import run_cairn
from _terminal import Terminal, cairn_argv

pytestmark = pytest.mark.timeout(120)

PROJECT = """
import os
import time

import cairn

PAUSE = float(os.environ.get("PAUSE", "1.0"))


class LoadData(cairn.Task):
    path = cairn.Parameter(default="train.csv")

    def run(self):
        if os.environ.get("MARK"):  # the task runs, in its worker
            open(os.environ["MARK"], "w").close()
        time.sleep(PAUSE)
        return [1.0, 2.0, 3.0]


class Train(cairn.Task):
    data = cairn.TaskParameter(default=None)
    lr = cairn.FloatParameter(default=0.1)
    epochs = cairn.IntParameter(default=10)

    def requires(self):
        return {"data": self.data or LoadData()}

    def run(self):
        for _ in range(int(PAUSE * 40)):  # short sleeps: Ctrl-C stops it between them
            time.sleep(0.05)
        return sum(self.load("data")) * self.lr


class Compare(cairn.Task):
    def requires(self):
        return [Train(lr=lr) for lr in (0.01, 0.05, 0.1)]

    def run(self):
        return self.load()
"""

HEADER = re.compile(r"^cairn done (\d+)/(\d+) · running (\d+) · failed (\d+) · \d+\.\ds$", re.M)


def _project(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "flow.py").write_text(PROJECT)
    return {"CAIRN_WORKSPACE": str(tmp_path / "ws"), "PYTHONPATH": str(tmp_path)}


def _running_lines(screen: str) -> list[str]:
    return re.findall(r"^  (Train\(lr=[0-9.]+\)|LoadData\S*) +\d+\.\ds$", screen, re.M)


def test_cairn_run_shows_a_header_and_each_running_task_by_its_short_label(tmp_path):
    env = _project(tmp_path)
    term = Terminal(
        cairn_argv("run", "flow:Compare", "-e", "threads", "-j", "3"), cwd=tmp_path, env=env
    )
    screen = term.wait_for(lambda s: any(m[2] == "3" for m in HEADER.findall(s)))
    header = HEADER.search(screen)
    assert header is not None and header.group(1, 2, 3, 4) == ("1", "5", "3", "0"), screen
    # the siblings differ only in lr: that is all each line shows, with how long it ran
    assert sorted(_running_lines(screen)) == ["Train(lr=0.01)", "Train(lr=0.05)", "Train(lr=0.1)"]
    assert "✓ LoadData(path='train.csv')" in screen  # finished tasks print above the display
    final = term.finish()
    assert term.code == 0, final
    assert not HEADER.search(final) and not _running_lines(final), final
    assert final.count("✓ ") == 5
    assert "\n5 task(s): 5 ran, 0 reused, 0 failed, 0 skipped in " in final


def test_ctrl_c_leaves_no_line_of_the_display_behind(tmp_path):
    env = _project(tmp_path) | {"PAUSE": "20"}
    term = Terminal(cairn_argv("run", "flow:Compare", "-e", "threads"), cwd=tmp_path, env=env)
    term.wait_for(lambda s: bool(_running_lines(s)) and bool(HEADER.search(s)))
    term.ctrl_c()
    screen = term.wait_for(lambda s: "interrupted: no new task starts" in s)
    assert HEADER.search(screen), screen  # the display goes on while running tasks finish
    term.ctrl_c()
    final = term.finish()
    assert term.code == 130
    assert not HEADER.search(final) and not _running_lines(final), final
    assert "error: interrupted; what finished is stored" in final


def test_python_build_with_progress_erases_its_display_on_ctrl_c(tmp_path):
    mark = tmp_path / "running"
    env = _project(tmp_path) | {"PAUSE": "20", "MARK": str(mark)}
    script = tmp_path / "go.py"
    script.write_text(
        "import cairn, flow\n"
        "if __name__ == '__main__':\n"
        "    try:\n"
        "        cairn.build(flow.Compare(), executor='processes', workers=1)\n"
        "    except KeyboardInterrupt:\n"
        "        print('stopped')\n"
    )
    term = Terminal([sys.executable, str(script)], cwd=tmp_path, env=env)
    # Ctrl-C once the worker runs the task (a worker still starting up takes Ctrl-C itself)
    screen = term.wait_for(lambda s: mark.exists() and bool(HEADER.search(s)))
    assert _running_lines(screen) == ["LoadData(path='train.csv')"]
    assert HEADER.search(screen), screen
    term.ctrl_c()
    final = term.finish()
    assert term.code == 0, final
    assert not HEADER.search(final) and not _running_lines(final), final
    assert "cairn: interrupted after" in final and final.splitlines()[-1] == "stopped"


def test_off_a_terminal_cairn_run_prints_plain_lines_only(tmp_path):
    env = _project(tmp_path) | {"PAUSE": "0"}
    done = run_cairn("run", "flow:Compare", "-e", "threads", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert "\x1b[" not in done.stdout + done.stderr
    assert "cairn done" not in done.stdout + done.stderr
    assert done.stdout.count("✓ ") == 5
    again = run_cairn("run", "flow:Compare", cwd=tmp_path, env=env)
    assert again.stdout.startswith("all 5 task(s) reused in "), again.stdout


PIPELINE = """
import time

import cairn


def load(path):
    return [1, 2, 3]


def slow_total(raw, pause):
    time.sleep(pause)
    return sum(raw)


def broken(raw):
    time.sleep(0.3)
    raise ValueError("no such column")


pipe = cairn.Pipeline(
    [
        cairn.node(load, inputs=["config.path"], outputs="raw"),
        cairn.node(slow_total, inputs=["raw", "config.pause"], outputs="total"),
        cairn.node(broken, inputs=["raw"], outputs="checked"),
    ],
    config={"path": "a.csv", "pause": 20.0},
)
"""


def test_a_pipeline_shows_running_nodes_by_name_and_counts_a_failure(tmp_path):
    (tmp_path / "pipeflow.py").write_text(PIPELINE)
    env = {"CAIRN_WORKSPACE": str(tmp_path / "ws"), "PYTHONPATH": str(tmp_path)}
    argv = cairn_argv("run", "pipeflow:pipe", "-e", "threads", "-j", "2", "--pause", "6")
    term = Terminal(argv, cwd=tmp_path, env=env)
    screen = term.wait_for(lambda s: any(m[3] == "1" for m in HEADER.findall(s)))
    header = HEADER.search(screen)
    assert header is not None and header.group(1, 2, 3, 4) == ("1", "3", "1", "1"), screen
    assert re.search(r"^  slow_total +\d+\.\ds$", screen, re.M), screen
    assert "✗ broken(raw) -> checked" in screen and "ValueError: no such column" in screen
    final = term.finish()
    assert term.code == 1
    assert not HEADER.search(final) and "  slow_total  " not in final, final
    assert "3 task(s): 2 ran, 0 reused, 1 failed, 0 skipped" in final


def test_on_a_narrow_terminal_a_long_label_is_cut_but_never_its_time(tmp_path):
    env = _project(tmp_path) | {"PAUSE": "3"}
    term = Terminal(cairn_argv("run", "flow:Compare"), cwd=tmp_path, env=env, columns=30)
    screen = term.wait_for(lambda s: bool(re.search(r"^  LoadData\(pa.*…  \d+\.\ds$", s, re.M)))
    assert all(len(line) <= 30 for line in screen.splitlines()), screen
    assert re.search(r"^cairn done 0/5 · running 1 ·.*…$", screen, re.M), screen
    term.ctrl_c()
    term.ctrl_c()
    term.finish()
