"""Many processes writing one shared file at once (code manifests, history) never collide.

Each write goes to a temporary name unique to the process and the write, then is renamed
into place, so a reader sees one whole version and no writer trips over another's temporary
file. The workers here are forked from a parent that has already imported cairn, as the
process executor's forkserver does, so nothing computed at import can be shared by mistake.
"""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pytest

import cairn
from cairn.executors import get_executor


def _write_many(root: str, marker: bytes, rounds: int) -> None:
    from cairn.storage.store import LocalStore

    store = LocalStore(root)
    for _ in range(rounds):
        store.write_bytes(".cairn/code/shared.json", marker * 1000)


def test_forked_writers_of_one_file_never_collide(tmp_path: Path) -> None:
    import cairn.storage.store  # imported before the fork, as in the forkserver

    assert cairn.storage.store
    context = multiprocessing.get_context("fork")
    workers = [
        context.Process(target=_write_many, args=(str(tmp_path), bytes([65 + n]), 300))
        for n in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert [w.exitcode for w in workers] == [0, 0, 0, 0]
    content = (tmp_path / ".cairn/code/shared.json").read_bytes()
    assert len(content) == 1000 and len(set(content)) == 1  # one writer's whole version
    assert [p.name for p in tmp_path.rglob("*.tmp")] == []


def _meet(barrier: str, family: str, n: int) -> None:
    """Wait (up to 10 s) until both tasks of ``family`` have arrived, so they end together."""
    Path(barrier, f"{family}-{n}").touch()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if all(Path(barrier, f"{family}-{k}").exists() for k in (0, 1)):
            return
        time.sleep(0.001)


class Pair(cairn.Task):
    """Two tasks of one family finish at the same moment on two workers and both write the
    family's code manifest."""

    barrier = cairn.Parameter(significant=False)
    n = cairn.IntParameter()

    def run(self) -> int:
        _meet(self.barrier, type(self).__name__, self.n)
        return self.n


class PairB(Pair):
    def run(self) -> int:
        _meet(self.barrier, type(self).__name__, self.n)
        return self.n + 10


class PairC(Pair):
    def run(self) -> int:
        _meet(self.barrier, type(self).__name__, self.n)
        return self.n + 20


@pytest.mark.slow
def test_process_workers_writing_the_same_manifest_never_fail(tmp_path: Path) -> None:
    for round_ in range(8):  # new workers each round: they start from one forked state
        barrier = tmp_path / f"barrier{round_}"
        barrier.mkdir()
        workspace = tmp_path / f"ws{round_}"
        tasks = [cls(barrier=str(barrier), n=n) for cls in (Pair, PairB, PairC) for n in (0, 1)]
        with get_executor("processes", workers=2) as executor:
            built = cairn.build(tasks, workspace=str(workspace), executor=executor)
        assert built == [0, 1, 10, 11, 20, 21]
        assert len(list((workspace / ".cairn" / "code").glob("*.json"))) == 3
        assert [p.name for p in workspace.rglob("*.tmp")] == []
