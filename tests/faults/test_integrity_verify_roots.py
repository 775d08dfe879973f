"""cairn verify ROOT / cairn.verify(root): only the graph below the given tasks is checked;
damage elsewhere in the workspace is not reported, damage inside is (with what needs it),
tasks not built yet are listed; --repair removes only what is broken inside. Stale
temporary files of killed writes are removed by verify --repair and by gc."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import cairn
from _processes import run_cairn

TESTS = Path(__file__).resolve().parent.parent


class Part(cairn.Task):
    i = cairn.IntParameter()

    def output(self):
        return self.make_target(f"parts/part_{self.i}.json")

    def run(self):
        return {"i": self.i, "values": list(range(20))}


class Sum(cairn.Task):
    n = cairn.IntParameter(default=3)
    start = cairn.IntParameter(default=0)

    def requires(self):
        return [Part(i=i) for i in range(self.start, self.start + self.n)]

    def run(self):
        return sum(p["i"] for p in self.load())


def _cli(workspace: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PYTHONPATH": str(TESTS), "CAIRN_WORKSPACE": workspace, "CAIRN_CONFIG": None}
    return run_cairn("verify", *args, env=env)


NAME = f"{__name__}:Sum"


def _damage(workspace: str, task: cairn.Task) -> None:
    file = Path(workspace) / task.output().path
    data = file.read_bytes()
    file.write_bytes(data[:3] + bytes([data[3] ^ 0x20]) + data[4:])


def test_verify_of_a_root_checks_only_its_graph(workspace):
    inside, outside = Sum(n=2), Sum(n=2, start=5)
    assert cairn.build([inside, outside]) == [1, 11]
    _damage(workspace, Part(i=5))
    result = cairn.verify(inside)
    assert result.checked == 3
    assert result.clean, str(result)
    whole = cairn.verify()
    assert Part(i=5).record_path() in whole.broken


def test_verify_of_a_root_reports_damage_below_it_and_what_needs_it(workspace):
    root = Sum(n=3)
    assert cairn.build(root) == 3
    _damage(workspace, Part(i=1))
    result = cairn.verify(root)
    assert sorted(result.broken) == sorted([Part(i=1).record_path(), root.record_path()])
    assert Part(i=1).output().path in result.broken[Part(i=1).record_path()]
    assert not result.clean


def test_tasks_not_built_are_listed_and_leave_it_clean(workspace):
    assert cairn.build(Part(i=0)) == {"i": 0, "values": list(range(20))}
    result = cairn.verify([Sum(n=2)])
    assert result.checked == 1
    assert result.clean
    assert set(result.missing) == {repr(Part(i=1)), repr(Sum(n=2))}
    assert "not built: Part(i=1)" in str(result)


def test_repair_of_a_root_removes_only_what_is_broken_below_it(workspace):
    inside, outside = Sum(n=2), Sum(n=2, start=5)
    cairn.build([inside, outside])
    _damage(workspace, Part(i=0))
    _damage(workspace, Part(i=6))
    result = cairn.verify(inside, repair=True)
    assert set(result.repaired) == {Part(i=0).record_path(), inside.record_path()}
    assert (Path(workspace) / Part(i=6).record_path()).exists()
    assert {e.task for e in cairn.plan(inside).to_run} == {Part(i=0), inside}
    assert cairn.build(inside) == 1
    assert cairn.verify(inside).clean


def test_cli_verify_takes_a_root_as_run_does(workspace):
    cairn.build([Sum(n=2), Sum(n=2, start=5)])
    _damage(workspace, Part(i=5))
    done = _cli(workspace, NAME, "--n", "2")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "checked 3 run record(s)" in done.stdout and "clean" in done.stdout
    done = _cli(workspace, NAME, "--n", "2", "--start", "5")
    assert done.returncode == 1
    assert Part(i=5).output().path in done.stdout
    done = _cli(workspace, NAME, "--n", "2", "--start", "5", "--repair")
    assert done.returncode == 1 and "removed" in done.stdout
    assert cairn.build(Sum(n=2, start=5)) == 11
    assert _cli(workspace).returncode == 0


@pytest.mark.parametrize(
    ("args", "cause"),
    [
        ((f"{__name__}:NoSuchTask",), "NoSuchTask"),
        ((NAME, "--n", "many"), "many"),
        ((NAME, "--no-such-param", "1"), "no-such-param"),
    ],
)
def test_cli_verify_with_a_bad_root_is_bad_input(workspace, args, cause):
    cairn.build(Sum(n=2))
    done = _cli(workspace, *args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert cause in done.stderr and "Traceback" not in done.stderr
    assert cairn.verify().clean


def _temporaries(workspace: str) -> tuple[Path, Path]:
    stale = Path(workspace) / "parts" / ".part_0.json.1f-0-abcd.tmp"
    stale.write_text("half")
    fresh = Path(workspace) / "parts" / ".part_1.json.1f-1-abcd.tmp"
    fresh.write_text("being written")
    old = time.time() - 7200
    os.utime(stale, (old, old))
    return stale, fresh


@pytest.mark.parametrize("dry_run", [False, True])
def test_gc_removes_stale_temporaries_of_killed_writes(workspace, dry_run):
    root = Sum(n=2)
    cairn.build(root)
    stale, fresh = _temporaries(workspace)
    result = cairn.gc(root, dry_run=dry_run)
    assert ("parts/" + stale.name, 4) in list(result)
    assert all(fresh.name not in path for path, _ in result)
    assert stale.exists() == dry_run
    assert fresh.exists()
    assert cairn.build(root) == 1
    assert cairn.verify().broken == {}


def test_a_write_killed_in_a_real_process_leaves_a_temporary_that_gc_removes(workspace, tmp_path):
    script = tmp_path / "killed.py"
    script.write_text(
        "import os, signal, sys, cairn\n"
        "class Half(cairn.Task):\n"
        "    def output(self):\n"
        "        return self.make_target('half.txt')\n"
        "    def run(self):\n"
        "        self.dump('x' * 1000)\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "cairn.build(Half(), workspace=sys.argv[1])\n"
    )
    subprocess.run([sys.executable, str(script), workspace], timeout=60, check=False)
    left = [p for p in Path(workspace).rglob(".*.tmp")]
    assert left, "the killed write left no temporary file"
    for path in left:
        os.utime(path, (time.time() - 7200,) * 2)
    assert cairn.verify().stale
    cairn.gc(Sum(n=1))
    assert not [p for p in Path(workspace).rglob(".*.tmp")]
    assert cairn.verify().clean
