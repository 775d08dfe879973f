"""Lock overhead: a 2,000-task fan-in built with no lock, the file lock and the Redis lock.

Each build starts from an empty local workspace and runs on the inline executor, so the
difference between two builds is what the lock costs: taking the lease, checking completeness
again after taking it, and giving it back. Builds alternate between the locks, ``--repeat``
times each; prints each lock's best time and the overhead per task against no lock, in wall
time and in this process's CPU time. On a busy machine every Redis round trip also waits for
the server process to be scheduled, and the wall-time overhead grows with the load average
(printed too); the CPU overhead is what the lock itself costs the runner.

Redis: ``--redis URL`` (or ``$CAIRN_BENCH_REDIS``); otherwise a private ``redis-server`` is
started on a free loopback port when installed.

    python benchmarks/bench_locks.py [--tasks 2000] [--repeat 5] [--redis redis://127.0.0.1:6379/0]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

from _common import fresh_dir, timed

import cairn


class Item(cairn.Task[int]):
    i = cairn.IntParameter()

    def run(self) -> int:
        return self.i


class FanIn(cairn.Task[int]):
    n = cairn.IntParameter()

    def requires(self) -> list[Item]:
        return [Item(i=i) for i in range(self.n)]

    def run(self) -> int:
        return sum(self.load())


@contextmanager
def private_redis() -> Iterator[str | None]:
    """A redis-server on a free loopback port for the benchmark, or None if not installed."""
    program = shutil.which("redis-server")
    if program is None:
        yield None
        return
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with fresh_dir("cairn-bench-redis-") as work:
        proc = subprocess.Popen(
            [program, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", work],
            stdout=subprocess.DEVNULL,
        )
        url = f"redis://127.0.0.1:{port}/0"
        try:
            import redis

            client = redis.Redis.from_url(url)
            for _ in range(200):
                try:
                    client.ping()
                    break
                except redis.ConnectionError:
                    time.sleep(0.05)
            client.close()
            yield url
        finally:
            proc.terminate()
            proc.wait()


def timed_build(n: int, lock: str | None) -> tuple[float, float]:
    """Wall-clock and CPU seconds (this process) of one build from an empty workspace."""
    with fresh_dir("cairn-bench-locks-") as workspace:
        cpu = time.process_time()
        seconds, total = timed(lambda: cairn.build(FanIn(n=n), workspace=workspace, lock=lock))
        cpu = time.process_time() - cpu
    assert total == n * (n - 1) // 2
    return float(seconds), cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=2000, help="leaves of the fan-in")
    parser.add_argument("--repeat", type=int, default=5, help="builds per lock; best is kept")
    parser.add_argument("--redis", default=os.environ.get("CAIRN_BENCH_REDIS"))
    args = parser.parse_args()
    n, tasks = args.tasks, args.tasks + 1

    with private_redis() if args.redis is None else _given(args.redis) as redis_url:
        locks: dict[str, str | None] = {"no lock": None, "file lock": "file"}
        if redis_url is not None:
            locks["Redis lock"] = redis_url
        timed_build(min(n, 50), None)  # warm up: imports, fingerprints
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in locks}
        for _ in range(args.repeat):  # interleaved, so a busy spell hits every lock alike
            for name, lock in locks.items():
                times[name].append(timed_build(n, lock))
        best = {name: min(found) for name, found in times.items()}

    print(f"{n:,}-task fan-in ({tasks:,} tasks), inline executor, best of {args.repeat}")
    if redis_url is None:
        print("(Redis lock skipped: redis-server is not installed and --redis was not given)")
    else:
        print(f"Redis: {redis_url}")
    base, base_cpu = best["no lock"]
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    print(
        f"{'lock':<12} {'build s':>8} {'ms/task':>8} {'overhead ms/task':>17} "
        f"{'CPU overhead ms/task':>21}"
    )
    for name, (seconds, cpu) in best.items():
        overhead = (seconds - base) / tasks * 1000
        cpu_overhead = (cpu - base_cpu) / tasks * 1000
        shown = ("", "") if name == "no lock" else (f"{overhead:.3f}", f"{cpu_overhead:.3f}")
        print(
            f"{name:<12} {seconds:>8.3f} {seconds / tasks * 1000:>8.3f} {shown[0]:>17} "
            f"{shown[1]:>21}"
        )


@contextmanager
def _given(url: str) -> Iterator[str | None]:
    yield url


if __name__ == "__main__":
    main()
