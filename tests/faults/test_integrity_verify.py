"""cairn verify / cairn.verify: every record checked against its outputs; broken, orphaned
and stale entries reported; --repair removes broken records and stale temporary files so
the next build reruns exactly those tasks; exit codes 0 clean, 1 problems, 2 bad input."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import cairn
from _processes import run_cairn


class Part(cairn.Task):
    i = cairn.IntParameter()

    def output(self):
        return self.make_target(f"parts/part_{self.i}.json")

    def run(self):
        return {"i": self.i, "values": list(range(20))}


class Sum(cairn.Task):
    n = cairn.IntParameter(default=3)

    def requires(self):
        return [Part(i=i) for i in range(self.n)]

    def run(self):
        return sum(p["i"] for p in self.load())


def _flip(data: bytes) -> bytes:
    return data[:5] + bytes([data[5] ^ 0x10]) + data[6:]


DAMAGE: dict[str, Callable[[Path], None]] = {
    "bit_flip": lambda f: f.write_bytes(_flip(f.read_bytes())),
    "truncated": lambda f: f.write_bytes(f.read_bytes()[:-3]),
    "emptied": lambda f: f.write_bytes(b""),
    "garbage": lambda f: f.write_bytes(b"\x00garbage\xff" * 4),
    "deleted": lambda f: f.unlink(),
}


def _cli(workspace: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cairn("verify", "-w", workspace, *args)


def _ends(workspace: str) -> dict[str, float]:
    return {p.name: p.stat().st_mtime_ns for p in Path(workspace).rglob("*.run.json")}


def test_a_clean_workspace_is_clean(workspace):
    assert cairn.build(Sum()) == 3
    result = cairn.verify()
    assert result.clean and result.checked == 4
    done = _cli(workspace)
    assert done.returncode == 0, done.stderr
    assert "clean" in done.stdout


@pytest.mark.parametrize("how", list(DAMAGE))
def test_a_broken_output_is_reported_and_repaired(workspace, how):
    assert cairn.build(Sum()) == 3
    part = Part(i=1)
    output = Path(workspace) / part.output().path
    DAMAGE[how](output)
    result = cairn.verify()
    assert sorted(result.broken) == sorted([part.record_path(), Sum().record_path()])
    assert part.output().path in result.broken[part.record_path()]
    assert part.record_path() in result.broken[Sum().record_path()]
    done = _cli(workspace)
    assert done.returncode == 1
    assert part.output().path in done.stdout
    assert (Path(workspace) / part.record_path()).exists()  # reporting removes nothing
    before = _ends(workspace)
    done = _cli(workspace, "--repair")
    assert done.returncode == 1 and "removed" in done.stdout
    assert not (Path(workspace) / part.record_path()).exists()
    assert {e.task for e in cairn.plan(Sum()).to_run} == {part, Sum()}
    assert cairn.build(Sum()) == 3
    after = _ends(workspace)
    changed = {name for name in after if after[name] != before.get(name)}
    # exactly that task and what needs it ran again
    assert changed == {Path(part.record_path()).name, Path(Sum().record_path()).name}
    assert cairn.verify().clean


def test_a_corrupt_record_is_broken(workspace):
    cairn.build(Sum())
    record = Path(workspace) / Part(i=2).record_path()
    record.write_bytes(b'{"outputs": 5}')
    result = cairn.verify(repair=True)
    assert record.name in result.broken[Part(i=2).record_path()]
    assert not record.exists()
    assert cairn.build(Sum()) == 3 and cairn.verify().clean


def test_orphans_and_stale_temporaries(workspace):
    cairn.build(Sum())
    orphan = Path(workspace) / "parts" / f"left_{'a' * 32}.json"
    orphan.write_text("{}")
    stale = Path(workspace) / "parts" / ".part_0.json.1f-0-abcd.tmp"
    stale.write_text("half")
    fresh = Path(workspace) / "parts" / ".part_1.json.1f-1-abcd.tmp"
    fresh.write_text("being written")
    old = time.time() - 7200
    os.utime(stale, (old, old))
    result = cairn.verify()
    assert result.orphaned == ("parts/" + orphan.name,)
    assert result.stale == ("parts/" + stale.name,)
    assert not result.broken
    done = _cli(workspace, "--repair")
    assert done.returncode == 1
    assert not stale.exists() and fresh.exists() and orphan.exists()
    assert cairn.build(Sum()) == 3


def test_bad_input_exits_2(workspace, tmp_path):
    cairn.build(Sum())
    done = run_cairn("verify", "--no-such-option")
    assert done.returncode == 2
    assert "no-such-option" in done.stderr
    done = _cli("nosuchproto://x")
    assert done.returncode == 2
    assert "nosuchproto://x" in done.stderr and "Traceback" not in done.stderr
    assert cairn.verify().clean


def test_verify_on_a_memory_store():
    ws = "memory://verify-test"
    assert cairn.build(Sum(), workspace=ws) == 3
    assert cairn.verify(workspace=ws).clean
    import fsspec

    fs = fsspec.filesystem("memory")
    fs.pipe_file(f"/verify-test/{Part(i=0).output().path}", b"{}")
    result = cairn.verify(workspace=ws, repair=True)
    assert sorted(result.broken) == sorted([Part(i=0).record_path(), Sum().record_path()])
    assert cairn.build(Sum(), workspace=ws) == 3
    assert cairn.verify(workspace=ws).clean


def test_verify_on_s3(moto_s3):
    bucket = moto_s3.new_bucket()
    ws = f"s3://{bucket}/ws"
    options = moto_s3.storage_options
    assert cairn.build(Sum(), workspace=ws, storage_options=options) == 3
    assert cairn.verify(workspace=ws, storage_options=options).clean
    import fsspec

    fs, root = fsspec.core.url_to_fs(ws, **options)
    fs.pipe_file(f"{root}/{Part(i=1).output().path}", b"garbage")
    result = cairn.verify(workspace=ws, storage_options=options, repair=True)
    assert sorted(result.broken) == sorted([Part(i=1).record_path(), Sum().record_path()])
    assert cairn.build(Sum(), workspace=ws, storage_options=options) == 3
    assert cairn.verify(workspace=ws, storage_options=options).clean
