"""Scale: trivial fan-ins of 10,000 to 1,000,000 tasks, cold and warm, time and memory.

    python benchmarks/bench_scale.py                       # 10,000 and 100,000
    python benchmarks/bench_scale.py --sizes 1000000       # the big one (minutes, GBs)
    python benchmarks/bench_scale.py --stores tmpfs,memory --dir /dev/shm

One root requires N leaves (leaf i returns i) and sums them. Two series:

- ``tmpfs``: a local workspace in ``--dir`` (``/dev/shm``, a file system in memory, so the
  disk does not hide what cairn itself costs). *cold* builds against an empty workspace in a
  fresh interpreter, *warm* rebuilds in another fresh interpreter, which runs nothing;
- ``memory``: a ``memory://`` store, which lives in one process: cold, then warm in the
  same interpreter (so its warm run finds the process's caches filled).

For each run: seconds of the build (from ``cairn.build`` called to the root's value in
hand; making the root task and importing cairn are not counted), the peak resident memory
the build added (``VmHWM`` reset before it, less the resident size before it) per planned
task, and, between sizes, the growth ratio of the time (10 for a tenfold size: linear).
Targets: linear time, warm 1,000,000 under 30 s, under 2 KiB per planned task. A tmpfs
workspace of 1,000,000 tasks holds 2,000,000 small files: about 8 GiB of memory while it
exists.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any

TARGET_WARM_1M = 30.0
TARGET_BYTES_PER_TASK = 2048
WIDTHS = (10, 5, 9, 8, 10, 12)


def _status(field: str) -> int:
    """A ``/proc/self/status`` size, in bytes (0 where there is no /proc)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _reset_peak() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")  # the peak (VmHWM) starts again from the current size
    except OSError:
        pass


def child(store: str, size: int, workspace: str, phases: list[str]) -> None:
    """Build the fan-in once per phase in this process; print one JSON line per phase."""
    import gc

    import cairn

    class Leaf(cairn.Task):
        i = cairn.IntParameter()

        def run(self):
            return self.i

    class Root(cairn.Task):
        n = cairn.IntParameter()

        def requires(self):
            return [Leaf(i=i) for i in range(self.n)]

        def run(self):
            return sum(self.load())

    for phase in phases:
        root = Root(n=size)
        gc.collect()
        before = _status("VmRSS")
        _reset_peak()
        start = time.perf_counter()
        total = cairn.build(root, workspace=workspace, progress=False)
        seconds = time.perf_counter() - start
        peak = _status("VmHWM")
        ok = total == size * (size - 1) // 2
        out = {"phase": phase, "seconds": seconds, "added": max(peak - before, 0), "ok": ok}
        print(json.dumps(out), flush=True)
        del root, total


def run_child(store: str, size: int, workspace: str, phases: list[str]) -> list[dict[str, Any]]:
    cmd = [sys.executable, os.path.abspath(__file__), "--child", store, str(size), workspace]
    proc = subprocess.run([*cmd, ",".join(phases)], capture_output=True, text=True, check=False)
    found = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or len(found) != len(phases):
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return [{"phase": p, "error": tail[:160]} for p in phases]
    return found


def measure(store: str, size: int, directory: str) -> dict[str, dict[str, Any]]:
    if store == "memory":
        name = f"memory://bench-scale-{os.getpid()}-{size}"
        return {r["phase"]: r for r in run_child(store, size, name, ["cold", "warm"])}
    workspace = tempfile.mkdtemp(prefix="cairn-scale-", dir=directory)
    try:
        results = {}
        for phase in ("cold", "warm"):
            results[phase] = run_child(store, size, workspace, [phase])[0]
        return results
    finally:
        shutil.rmtree(workspace, ignore_errors=True)


def load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="fan-in sizes, comma-separated")
    parser.add_argument("--stores", default="tmpfs,memory", help="tmpfs, memory or both")
    parser.add_argument("--dir", default="/dev/shm", help="where the tmpfs workspaces go")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        store, size, workspace, phases = args.child
        child(store, int(size), workspace, phases.split(","))
        return
    sizes = [int(s) for s in args.sizes.split(",") if s]
    stores = [s for s in args.stores.split(",") if s]
    for store in stores:
        if store not in ("tmpfs", "memory"):
            parser.error(f"unknown store {store!r}; use tmpfs, memory or both")
    if "tmpfs" in stores and not os.path.isdir(args.dir):
        parser.error(f"--dir {args.dir} is not a directory; give one on a tmpfs")
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} cores; trivial fan-in of N leaves; "
        f"seconds of the build; memory = peak resident size the build added per planned task"
    )
    for store in stores:
        where = f"workspace in {args.dir}" if store == "tmpfs" else "memory:// store"
        warm = "in the same process" if store == "memory" else "in a fresh one"
        print(f"\n{store} ({where}; warm {warm})")
        head = ("tasks", "phase", "seconds", "us/task", "bytes/task", "x time")
        print("  " + " ".join(h.rjust(w) for h, w in zip(head, WIDTHS, strict=True)) + "  load")
        previous: dict[str, tuple[int, float]] = {}
        for size in sizes:
            results = measure(store, size, args.dir)
            for phase in ("cold", "warm"):
                res = results.get(phase, {"error": "no result"})
                if "error" in res or not res.get("ok"):
                    print(f"  {size:>10,} {phase:>5}  {res.get('error', 'wrong result')}")
                    continue
                seconds, tasks = res["seconds"], size + 1
                growth = ""
                if phase in previous:
                    last_size, last_seconds = previous[phase]
                    growth = f"{seconds / last_seconds:.1f}" if last_seconds else ""
                    growth += f" (N x{size // last_size})"
                previous[phase] = (size, seconds)
                per_task = res["added"] / tasks
                flags = []
                if per_task > TARGET_BYTES_PER_TASK:
                    flags.append(f"over {TARGET_BYTES_PER_TASK} B/task")
                if phase == "warm" and size >= 1_000_000 and seconds > TARGET_WARM_1M:
                    flags.append(f"over {TARGET_WARM_1M:.0f} s")
                print(
                    f"  {size:>10,} {phase:>5} {seconds:9.2f} {1e6 * seconds / tasks:8.1f} "
                    f"{per_task:10.0f} {growth:>12}  {load()}"
                    + (f"  ({'; '.join(flags)})" if flags else "")
                )


if __name__ == "__main__":
    main()
