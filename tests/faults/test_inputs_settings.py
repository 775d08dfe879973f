"""Bad build settings are refused when the build starts, before any run()."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import cairn

RUNS: list[str] = []


class Counted(cairn.Task):
    name = cairn.Parameter(default="a")

    def run(self):
        RUNS.append(self.name)
        return self.name


@pytest.mark.parametrize(
    ("kwargs", "cause"),
    [
        ({"lock_wait": -5}, "lock_wait must be a number of seconds"),
        ({"lock_wait": -0.1}, "lock_wait"),
        ({"lock_wait": math.inf}, "lock_wait"),
        ({"lock_wait": math.nan}, "lock_wait"),
        ({"lock_wait": "10"}, "lock_wait"),
        ({"lock_wait": True}, "lock_wait"),
        ({"retry_delay": -1}, "retry_delay"),
        ({"retry_delay": "1"}, "retry_delay"),
        ({"retry_delay": math.inf}, "retry_delay"),
        ({"retries": -1}, "retries must be a whole number"),
        ({"retries": 1.5}, "retries"),
        ({"retries": "2"}, "retries"),
        ({"retries": None}, "retries"),
        ({"workspace": ""}, "workspace is empty"),
        ({"workspace": "   "}, "workspace is empty"),
        ({"workspace": 42}, "workspace must be a directory path"),
        ({"workspace": b"ws"}, "workspace must be a directory path"),
        ({"workspace": ["ws"]}, "workspace must be a directory path"),
        ({"workers": 0}, "workers must be a positive integer"),
        ({"workers": -2}, "workers"),
        ({"workers": 1.5}, "workers"),
        ({"workers": True}, "workers"),
        ({"storage_options": "anon=true"}, "storage_options must be a dict"),
        ({"storage_options": ["anon"]}, "storage_options"),
    ],
)
def test_bad_setting_is_refused_before_anything_runs(workspace, kwargs, cause):
    stored = Counted(name="stored")
    assert cairn.build(stored) == "stored"
    RUNS.clear()
    with pytest.raises(cairn.ConfigError, match=cause):
        cairn.build(Counted(name="new"), **kwargs)
    assert RUNS == []  # refused before any run()
    assert cairn.status(Counted(name="new"))[Counted(name="new")].state == "will run"
    assert cairn.status(stored)[stored].state == "complete"
    assert cairn.build(stored) == "stored"
    assert RUNS == []


def test_workspace_may_be_a_path_object(tmp_path):
    ws = tmp_path / "ws"
    assert cairn.build(Counted(name="p"), workspace=ws) == "p"
    assert cairn.status(Counted(name="p"), workspace=str(ws))[Counted(name="p")].state == (
        "complete"
    )
    assert isinstance(ws, Path) and ws.is_dir()


@pytest.mark.parametrize(
    ("make", "cause"),
    [
        (lambda tmp: "ws\0x", "NUL character"),
        (lambda tmp: str(_a_file(tmp)), "is a file, not a directory"),
    ],
)
def test_a_workspace_that_cannot_be_a_directory_is_a_store_error(workspace, tmp_path, make, cause):
    stored = Counted(name="stored")
    assert cairn.build(stored) == "stored"
    RUNS.clear()
    with pytest.raises(cairn.StoreError, match=cause):
        cairn.build(Counted(name="new"), workspace=make(tmp_path))
    assert RUNS == []
    assert cairn.build(stored) == "stored"


def _a_file(tmp: Path) -> Path:
    path = tmp / "afile"
    path.write_text("x")
    return path
