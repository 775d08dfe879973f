"""Executors compared: CPU-bound tasks in parallel, and scheduling overhead per task.

1. Eight tasks of about 1 s of pure-Python CPU work each: inline, processes (2 workers), Dask
   (2 single-threaded worker processes, cluster already running, and cold with the cluster
   start counted), and gokart with workers=2 when it is installed (``pip install
   'cairn[bench]'``). On 2 cores, the parallel executors should need about half of inline.
2. Scheduling overhead: a fan-in of 2,000 trivial tasks into one, per executor, as the build's
   wall time divided by the number of tasks (planning, locking, running, writing outputs and
   run records included), with the executor started and warmed up beforehand.

The machine is usually shared: each timing is run ``--repeat`` times and the best is kept;
the load average is printed. A task calibrated to 1 s may take longer when the machine is
busy, so the CPU-bound times are also given scaled to tasks of exactly 1 s (using what a task
took inline), and the 4.6 s target is judged on that.

Run: ``python benchmarks/bench_executors.py`` (``--fan-in N``, ``--skip-dask``, ...).
Tasks are defined here, in ``__main__``, so the process and Dask executors ship them by value.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import cairn
from cairn.executors import get_executor

TASKS = 8
TARGET_SECONDS = 4.6


def burn(iterations: int) -> int:
    """Pure-Python CPU work (holds the GIL throughout)."""
    total = 0
    for i in range(iterations):
        total = (total + i * i) % 1_000_003
    return total


def calibrate(seconds: float = 1.0) -> int:
    """How many iterations of :func:`burn` take ``seconds`` on this machine (best of 3)."""
    iterations = 200_000
    while True:
        took = min(_time_burn(iterations) for _ in range(3))
        if took > 0.3:
            return int(iterations * seconds / took)
        iterations *= 2


def _time_burn(iterations: int) -> float:
    started = time.perf_counter()
    burn(iterations)
    return time.perf_counter() - started


class Burn(cairn.Task[int]):
    i = cairn.IntParameter()
    iterations = cairn.IntParameter()

    def run(self) -> int:
        return burn(self.iterations)


class AllBurns(cairn.Task[int]):
    iterations = cairn.IntParameter()

    def requires(self) -> list[Burn]:
        return [Burn(i=i, iterations=self.iterations) for i in range(TASKS)]

    def run(self) -> int:
        return sum(self.load())


class Leaf(cairn.Task[int]):
    i = cairn.IntParameter()

    def run(self) -> int:
        return self.i


class FanIn(cairn.Task[int]):
    size = cairn.IntParameter()

    def requires(self) -> list[Leaf]:
        return [Leaf(i=i) for i in range(self.size)]

    def run(self) -> int:
        return sum(self.load())


def timed(build: Callable[[str], Any]) -> float:
    """Seconds ``build(workspace)`` takes on a fresh workspace."""
    workspace = tempfile.mkdtemp(prefix="cairn-bench-")
    try:
        started = time.perf_counter()
        build(workspace)
        return time.perf_counter() - started
    finally:
        shutil.rmtree(workspace, ignore_errors=True)


def gokart_cpu(iterations: int) -> float | None:
    """The same eight tasks on gokart with workers=2, or None when gokart is not installed."""
    try:
        import gokart
        import luigi
    except ImportError:
        return None

    class GBurn(gokart.TaskOnKart):  # type: ignore[misc]
        i = luigi.IntParameter()
        iterations = luigi.IntParameter()

        def run(self) -> None:
            self.dump(burn(self.iterations))

    class GAll(gokart.TaskOnKart):  # type: ignore[misc]
        iterations = luigi.IntParameter()

        def requires(self) -> list[GBurn]:
            return [GBurn(i=i, iterations=self.iterations) for i in range(TASKS)]

        def run(self) -> None:
            self.dump(sum(self.load()))

    def build(workspace: str) -> None:
        here = os.getcwd()
        os.chdir(workspace)  # gokart writes ./resources
        try:
            gokart.build(GAll(iterations=iterations), workers=2, log_level=40, reset_register=False)
        finally:
            os.chdir(here)

    return timed(build)


def row(name: str, seconds: list[float], note: str = "") -> None:
    runs = ", ".join(f"{x:.2f}" for x in seconds)
    print(f"  {name:<38} {min(seconds):7.2f} s  (runs: {runs})  {note}".rstrip(), flush=True)


def best_of(repeat: int, build: Callable[[str], Any]) -> list[float]:
    return [timed(build) for _ in range(repeat)]


def cpu_bound(args: argparse.Namespace, client: Any) -> None:
    iterations = calibrate()
    print(f"\n{TASKS} tasks of ~1 s CPU-bound pure Python ({iterations:,} iterations each)")
    expected = cairn.build(AllBurns(iterations=iterations), workspace=tempfile.mkdtemp())

    def run(executor: Any, workers: int | None = 2) -> Callable[[str], None]:
        def build(workspace: str) -> None:
            got = cairn.build(
                AllBurns(iterations=iterations),
                workspace=workspace,
                executor=executor,
                workers=workers,
                progress=False,
            )
            assert got == expected

        return build

    inline = best_of(1, run("inline", None))
    task = min(inline) / TASKS  # what "1 s" of work took just now: the machine's speed varies
    row("inline", inline, f"({task:.2f} s per task; ideal on 2 workers: {min(inline) / 2:.2f} s)")
    cases: list[tuple[str, Any, int | None, str]] = [
        ("processes, workers=2 (pool started)", "processes", 2, "target"),
    ]
    if client is not None:
        cases += [
            ("dask, 2 workers (cluster running)", client, None, "target"),
            ("dask, workers=2 (LocalCluster started)", "dask", 2, "cold"),
        ]
    for name, executor, workers, kind in cases:
        seconds = best_of(args.repeat, run(executor, workers))
        scaled = min(seconds) / task  # as if each task had taken exactly 1 s
        if kind == "cold":
            note = f"= {scaled:.2f} s for 1 s tasks (includes starting the cluster)"
        else:
            verdict = "ok" if scaled <= TARGET_SECONDS else "MISSED"
            note = f"= {scaled:.2f} s for 1 s tasks: {verdict} (target {TARGET_SECONDS} s)"
        row(name, seconds, note)
    gokart_seconds = gokart_cpu(iterations)
    if gokart_seconds is None:
        print("  gokart: not installed (pip install 'cairn[bench]')")
    else:
        row("gokart, workers=2", [gokart_seconds], f"= {gokart_seconds / task:.2f} s for 1 s tasks")


def overhead(args: argparse.Namespace, client: Any) -> None:
    """Per-task cost in steady state: executors made once and warmed up, best of runs."""
    size = args.fan_in
    print(f"\nscheduling overhead: fan-in of {size:,} trivial tasks into one (best of runs)")
    per_task: dict[str, float] = {}
    executors: list[tuple[str, Any, int]] = [
        ("inline", get_executor("inline"), args.repeat),
        ("threads, workers=2", get_executor("threads", 2), args.repeat),
        ("processes, workers=2", get_executor("processes", 2), 1),
    ]
    if client is not None:
        executors.append(("dask, 2 workers", get_executor(client), 1))
    for name, executor, repeat in executors:

        def build(workspace: str, executor: Any = executor, size: int = size) -> None:
            got = cairn.build(
                FanIn(size=size), workspace=workspace, executor=executor, progress=False
            )
            assert got == size * (size - 1) // 2

        build(tempfile.mkdtemp(), size=20)  # warm: workers started, one-time costs paid
        seconds = best_of(repeat, build)
        executor.close()
        per_task[name] = min(seconds) / (size + 1) * 1000
        row(name, seconds, f"{per_task[name]:6.2f} ms/task")
    ratio = per_task["threads, workers=2"] / per_task["inline"]
    verdict = "ok" if 0.5 <= ratio <= 2 else "MISSED: must stay within 2x"
    print(f"  threads / inline: {ratio:.2f}x  {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fan-in", type=int, default=2000, help="tasks in the fan-in")
    parser.add_argument("--skip-dask", action="store_true", help="leave Dask out")
    parser.add_argument("--skip-cpu", action="store_true", help="only the overhead part")
    parser.add_argument("--skip-overhead", action="store_true", help="only the CPU part")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each timing (best kept)")
    args = parser.parse_args()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"cairn {cairn.__version__}, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    print(f"load average (1 min) at start: {load:.2f}")
    client = cluster = None
    if not args.skip_dask:
        import distributed

        cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        )
        client = distributed.Client(cluster)
    try:
        if not args.skip_cpu:
            cpu_bound(args, client)
        if not args.skip_overhead:
            overhead(args, client)
    finally:
        if client is not None:
            client.close()
            cluster.close()


if __name__ == "__main__":
    main()
