"""The local disk failing under a build: a NUL or an over-long name in a target path, a
read-only workspace, a full disk. Each is a CairnError saying what to do; nothing stored is
lost and no partial temporary file is left.

The read-only and full-disk cases mount a small tmpfs; they need root and a working
``mount``, and are skipped (with the reason printed) otherwise.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import cairn


class Named(cairn.Task):
    name = cairn.Parameter()

    def output(self):
        return self.make_target(self.name)

    def run(self):
        return "named"


class Good(cairn.Task):
    def run(self):
        return "good"


@pytest.mark.parametrize(
    ("name", "cause"),
    [
        ("a\0b.pkl", "NUL"),
        ("dir\0/x.pkl", "NUL"),
        ("x" * 300 + ".pkl", "337 bytes"),
        ("x" * 230 + ".pkl", "bytes per name"),
        ("d/" + "y" * 300 + "/z.pkl", "300 bytes"),
        ("é" * 200 + ".pkl", "bytes per name"),
    ],
)
def test_a_target_path_no_file_system_takes_is_refused_before_anything_runs(workspace, name, cause):
    assert cairn.build(Good()) == "good"
    with pytest.raises(cairn.TargetError, match=cause) as info:
        cairn.build([Good(), Named(name=name)])
    assert "NUL" in str(info.value) or "shorten the name" in str(info.value)
    assert cairn.status(Good())[Good()].state == "complete"
    assert cairn.build(Good()) == "good"


def test_a_name_near_the_limit_is_written_and_loaded(workspace):
    # 255 bytes with the task id: its temporary name is longer, and must still work
    name = "n" * (255 - 33 - 4) + ".pkl"
    task = Named(name=name)
    assert len(Path(task.output().path).name) == 255
    assert cairn.build(task) == "named"
    assert cairn.build(task) == "named"
    assert not [p for p in Path(workspace).rglob(".*.tmp")]


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB tmpfs mounted for this test (root and mount needed, else skipped)."""
    mount = shutil.which("mount")
    if os.geteuid() != 0 or mount is None:
        reason = "mounting a small tmpfs needs root and mount(8)"
        print(f"SKIP: {reason}")
        pytest.skip(reason)
    point = tmp_path / f"fs-{uuid.uuid4().hex[:6]}"
    point.mkdir()
    done = subprocess.run(
        [mount, "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        reason = f"mount -t tmpfs failed here: {done.stderr.strip()}"
        print(f"SKIP: {reason}")
        pytest.skip(reason)
    try:
        yield point
    finally:
        subprocess.run(["umount", "-l", str(point)], check=False)


def _remount(point: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(point)], check=True)


class Sized(cairn.Task):
    size = cairn.IntParameter()

    def output(self):
        return self.make_target("sized.txt")

    def run(self):
        return "x" * self.size


def _temporaries(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(".tmp")]


@pytest.mark.parametrize("executor", ["inline", "threads"])
def test_a_read_only_workspace_fails_before_any_run(tmpfs, executor):
    ws = str(tmpfs / "ws")
    assert cairn.build(Good(), workspace=ws) == "good"
    _remount(tmpfs, "ro")
    with pytest.raises(cairn.StoreError) as info:
        cairn.build(Sized(size=10), workspace=ws, executor=executor)
    message = str(info.value)
    assert "nothing was run" in message
    assert "Read-only file system" in message
    assert "writable" in message
    assert cairn.status(Sized(size=10), workspace=ws)[Sized(size=10)].state == "will run"
    # reading still works: what was stored is intact
    assert cairn.build(Good(), workspace=ws) == "good"


@pytest.mark.parametrize("size", [300_000, 2_000_000])
def test_a_full_disk_is_a_store_error_and_loses_nothing(tmpfs, size):
    ws = str(tmpfs / "ws")
    small = Sized(size=1000)
    assert cairn.build([Good(), small], workspace=ws) == ["good", "x" * 1000]
    with pytest.raises(cairn.BuildError) as info:
        cairn.build(Sized(size=size), workspace=ws)
    error = info.value.failures[Sized(size=size)]
    assert isinstance(error, cairn.StoreError)
    assert "No space left on device" in str(error)
    assert "disk is not full" in str(error)
    assert Sized(size=size).output().path in str(error)
    assert _temporaries(tmpfs) == []
    assert cairn.status(Sized(size=size), workspace=ws)[Sized(size=size)].state != "complete"
    assert cairn.build([Good(), small], workspace=ws) == ["good", "x" * 1000]
    checked = cairn.verify(workspace=ws, stale_after=0)
    assert checked.broken == {}
    assert checked.stale == ()
