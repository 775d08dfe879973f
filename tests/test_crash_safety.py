"""Crash safety: builds SIGKILLed at random moments never leave anything that reads as
complete but is not, and a later build always completes.

Each build runs in its own process, forked from a warmed-up process (interpreter started,
cairn imported, one build done), so a hundred start-and-kill rounds take well under a
minute. The kill is a real SIGKILL of that process at a random moment: the length of a build
is cut into ten slices (fewer when there are fewer rounds), and each run of ten rounds kills
once at a random point of each slice (seeded), so the kills cover the whole build.
"""

from __future__ import annotations

import json
import os
import random
import signal
import statistics
import subprocess
import sys
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import cairn
from _shared_graph import CrashRoot, all_crash_tasks, complete_outputs

ITERATIONS = 100
SEED = 20240611


class Zygote:
    """A warmed-up process that forks one build per request (see ``_shared_graph.zygote``)."""

    def __init__(self) -> None:
        here = str(Path(__file__).parent)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "import _shared_graph; _shared_graph.zygote()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": here},
        )
        assert self._line() == "ready"

    def _line(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line, "the forking process died"
        return line.strip()

    def build(self, config: dict[str, Any]) -> dict[str, Any]:
        """Fork a child building ``config``; return its wait ``status`` and ``seconds``."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(config) + "\n")
        self.proc.stdin.flush()
        found: dict[str, Any] = json.loads(self._line())
        return found

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(30)


@pytest.fixture
def zygote() -> Iterator[Zygote]:
    z = Zygote()
    yield z
    z.close()


@dataclass
class Where:
    """A workspace URL prefix, its storage options, and how many builds to run there."""

    root: str
    options: dict[str, Any] | None
    rounds: int
    clean_builds: int


@pytest.fixture(params=["local", "s3"])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> Where:
    """S3 (moto) gets a few rounds only: a round there takes seconds, not a fifth of one."""
    if request.param == "local":
        return Where(str(tmp_path), None, ITERATIONS, 3)
    moto = request.getfixturevalue("moto_s3")
    return Where(f"s3://{moto.new_bucket()}", moto.storage_options, 4, 1)


def test_builds_killed_at_random_moments_leave_only_correct_complete_tasks(
    where: Where, zygote: Zygote
) -> None:
    root, options, iterations = where.root, where.options, where.rounds
    tasks = all_crash_tasks()

    def config(name: str, **more: Any) -> dict[str, Any]:
        return {
            "graph": "crash",
            "workspace": f"{root}/{name}",
            "storage_options": options,
            "lock": "file",
            **more,
        }

    def clean_build(name: str) -> float:
        ended = zygote.build(config(name))
        assert ended["status"] == 0
        return float(ended["seconds"])

    # Clean builds give the reference outputs and how long a build takes now. The machine's
    # load changes while the test runs, so the estimate follows the latest builds that ran
    # to the end, and a clean build every ten rounds.
    recent = deque([clean_build(f"clean{n}") for n in range(where.clean_builds)], maxlen=5)
    reference = complete_outputs(tasks, f"{root}/clean0", options)
    assert len(reference) == len(tasks)

    rng = random.Random(SEED)
    slices = min(10, iterations)
    killed, partial = 0, Counter[int]()
    for n in range(iterations):
        if n and n % 10 == 0:
            recent.append(clean_build(f"clean-{n}"))
        window = 1.2 * statistics.median(recent)
        kill_after = window * (n % slices + rng.random()) / slices  # a round per slice
        ws = f"{root}/ws{n}"
        ended = zygote.build(config(f"ws{n}", kill_after=kill_after))
        status = ended["status"]
        if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL:
            killed += 1
        else:
            recent.append(ended["seconds"])

        stored = complete_outputs(tasks, ws, options)
        wrong = [tid for tid, value in stored.items() if value != reference[tid]]
        assert not wrong, f"round {n} (seed {SEED}): {len(wrong)} complete task(s) differ"
        assert os.WIFSIGNALED(status) or len(stored) == len(tasks)
        partial[len(stored)] += 1
        result = cairn.build(
            CrashRoot(), workspace=ws, storage_options=options, lock="file", executor="threads"
        )
        assert result == reference[CrashRoot().task_id], f"round {n} (seed {SEED})"

    # The kills landed all over the build: before anything was stored, midway, after the
    # end. How many of each depends on the machine's load, so this only checks that the
    # rounds were not all of one kind.
    midway = sum(count for done, count in partial.items() if 0 < done < len(tasks))
    spread = f"killed {killed}; complete tasks after each round: {sorted(partial.items())}"
    assert killed >= iterations // 4, spread
    assert midway >= iterations // 20, spread
