"""Format benchmark: a float64 frame through cairn's targets against the raw libraries.

For .parquet (snappy; no dictionary, as cairn writes float columns), .pkl and .feather,
times a dump plus a load through ``cairn.Target`` on a local workspace (the path every task
takes: store, atomic write, checksum) and the same round trip done by hand with pyarrow /
pickle, on the same disk, and prints the ratios.
Two raw baselines are shown for the Arrow formats: the pandas-level one a user would write
(``Table.from_pandas`` + ``write_table``, ``read_table`` + ``to_pandas``) and the Arrow-only
one (``write_table`` / ``read_table`` of an already converted table). With gokart installed
(``pip install 'cairn[bench]'``) its parquet and pickle targets run on the same frame.
Finally, in a fresh subprocess, the peak resident memory of the parquet round trip.

    python benchmarks/bench_formats.py                  # 10,000,000 x 10, as in the issue
    python benchmarks/bench_formats.py --rows 1000000   # a quick run

Each measurement is the best of ``--repeat`` runs (raw and cairn interleaved), since the
machine may be shared. Run it alone: it holds several copies of the frame in memory.
"""

from __future__ import annotations

import argparse
import gc
import os
import pickle
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

COLUMNS = 10


def make_frame(rows: int) -> Any:
    import numpy as np
    import pandas as pd

    data = np.random.default_rng(0).standard_normal((rows, COLUMNS))
    return pd.DataFrame(data, columns=[f"c{i}" for i in range(COLUMNS)])


def cpu_seconds() -> float:
    """CPU time of this process so far, all threads, user and system."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall seconds, CPU seconds, result) of ``fn()``."""
    gc.collect()
    cpu, start = cpu_seconds(), time.perf_counter()
    result = fn()
    return time.perf_counter() - start, cpu_seconds() - cpu, result


Case = tuple[Callable[[], Any], Callable[[], Any], Callable[[], Any]]
Best = dict[str, dict[str, float]]


def best_of(repeat: int, cases: dict[str, Case]) -> Best:
    """Run each case's (prepare, dump, load) ``repeat`` times, interleaved; keep the best
    wall and CPU time of the dump, the load and the round trip. ``prepare`` (not timed)
    removes the previous file, so every dump writes a new file, as a task's output is."""
    best: Best = {name: {} for name in cases}
    for _ in range(repeat):
        for name, (prepare, dump, load) in cases.items():
            prepare()
            wall_dump, cpu_dump, _ = timed(dump)
            wall_load, cpu_load, loaded = timed(load)
            del loaded
            times = {
                "dump": wall_dump,
                "load": wall_load,
                "total": wall_dump + wall_load,
                "cpu": cpu_dump + cpu_load,
            }
            for key, value in times.items():
                best[name][key] = min(best[name].get(key, float("inf")), value)
    return best


def report(title: str, best: Best, versus: dict[str, str]) -> None:
    """Print the best times; ``versus`` maps a case to the case its ratios compare with."""
    print(f"\n{title}")
    print(f"  {'':32} {'dump s':>7} {'load s':>7} {'total s':>7} {'cpu s':>7}   total, cpu ratio")
    for name, t in best.items():
        line = f"  {name:32} {t['dump']:7.3f} {t['load']:7.3f} {t['total']:7.3f} {t['cpu']:7.3f}"
        ref = versus.get(name)
        if ref is not None:
            r = best[ref]
            line += f"   {t['total'] / r['total']:.2f}x, {t['cpu'] / r['cpu']:.2f}x vs {ref}"
        print(line)


def bench(
    rows: int, repeat: int, directory: str, formats: set[str], with_gokart: bool = True
) -> None:
    import pyarrow as pa
    import pyarrow.feather as feather
    import pyarrow.parquet as pq

    import cairn
    from cairn.storage.store import open_store

    frame = make_frame(rows)
    size = int(frame.memory_usage(deep=True).sum())
    print(f"frame: {rows:,} x {COLUMNS} float64, {size / 2**20:,.0f} MiB in memory")
    print(
        f"python {sys.version.split()[0]}, pyarrow {pa.__version__}, "
        f"pandas {sys.modules['pandas'].__version__}, cairn {cairn.__version__}"
    )
    table = pa.Table.from_pandas(frame)
    store = open_store(os.path.join(directory, "ws"))
    raw = os.path.join(directory, "raw")
    os.makedirs(raw)

    def through_cairn(path: str, obj: Any = frame) -> Case:
        target = cairn.Target(path)
        return (
            lambda: store.delete(path),
            lambda: target.dump(store, obj),
            lambda: target.load(store),
        )

    def remove(path: str) -> Callable[[], None]:
        return lambda: os.path.exists(path) and os.unlink(path)

    if "parquet" in formats:
        p = os.path.join(raw, "frame.parquet")
        report(
            ".parquet (snappy, no dictionary for floats)",
            best_of(
                repeat,
                {
                    "raw pyarrow, pandas in and out": (
                        remove(p),
                        lambda: pq.write_table(
                            pa.Table.from_pandas(frame),
                            p,
                            compression="snappy",
                            use_dictionary=False,
                        ),
                        lambda: pq.read_table(p).to_pandas(),
                    ),
                    "cairn, pandas frame": through_cairn("frame.parquet"),
                    "raw pyarrow, arrow table": (
                        remove(p),
                        lambda: pq.write_table(
                            table, p, compression="snappy", use_dictionary=False
                        ),
                        lambda: pq.read_table(p),
                    ),
                    "cairn, arrow table": through_cairn("table.parquet", table),
                },
            ),
            {
                "cairn, pandas frame": "raw pyarrow, pandas in and out",
                "cairn, arrow table": "raw pyarrow, arrow table",
            },
        )
        store.delete("frame.parquet")
        store.delete("table.parquet")

    if "pkl" in formats:
        k = os.path.join(raw, "frame.pkl")

        def pickle_dump() -> None:
            with open(k, "wb") as f:
                pickle.dump(frame, f, protocol=5)

        def pickle_load() -> Any:
            with open(k, "rb") as f:
                return pickle.load(f)

        report(
            ".pkl",
            best_of(
                repeat,
                {
                    "raw pickle, protocol 5": (remove(k), pickle_dump, pickle_load),
                    "cairn, pandas frame": through_cairn("frame.pkl"),
                },
            ),
            {"cairn, pandas frame": "raw pickle, protocol 5"},
        )
        store.delete("frame.pkl")

    if "feather" in formats:
        f = os.path.join(raw, "frame.feather")
        report(
            ".feather (pyarrow's default compression, lz4)",
            best_of(
                repeat,
                {
                    "raw pyarrow, pandas in and out": (
                        remove(f),
                        lambda: feather.write_feather(frame, f),
                        lambda: feather.read_feather(f),
                    ),
                    "cairn, pandas frame": through_cairn("frame.feather"),
                    "raw pyarrow, arrow table": (
                        remove(f),
                        lambda: feather.write_feather(table, f),
                        lambda: feather.read_table(f),
                    ),
                    "cairn, arrow table": through_cairn("table.feather", table),
                },
            ),
            {
                "cairn, pandas frame": "raw pyarrow, pandas in and out",
                "cairn, arrow table": "raw pyarrow, arrow table",
            },
        )
        store.delete("frame.feather")
        store.delete("table.feather")
    table = None  # free it before gokart runs
    shutil.rmtree(raw)
    os.makedirs(raw)

    try:
        import gokart.target
    except ImportError:
        print("\ngokart is not installed (pip install 'cairn[bench]'): no gokart comparison")
    else:
        if not with_gokart:
            return
        for ext in ("parquet", "pkl"):
            if ext not in formats:
                continue
            path = os.path.join(raw, f"gokart.{ext}")
            target = gokart.target.make_target(path)
            ours = f"cairn .{ext}, pandas frame"
            cases = {
                ours: through_cairn(f"frame.{ext}"),
                f"gokart {version('gokart')} .{ext}, pandas": (
                    remove(path),
                    lambda target=target: target.dump(frame),
                    target.load,
                ),
            }
            report(
                f"gokart .{ext}, same frame, one run each",
                best_of(1, cases),
                {name: ours for name in cases if name != ours},
            )
            store.delete(f"frame.{ext}")
        shutil.rmtree(raw)


MEMORY_PROBE = """
import gc, os, sys
sys.path[:0] = {path!r}
from bench_formats import make_frame

def rss(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    raise RuntimeError(field)

frame = make_frame({rows})
size = int(frame.memory_usage(deep=True).sum())
if {how!r} == "cairn":
    import cairn
    from cairn.storage.store import open_store

    store = open_store({workspace!r})
    target = cairn.Target("memory.parquet")
    dump = lambda frame: target.dump(store, frame)
    load = lambda: target.load(store)
else:
    import pyarrow as pa, pyarrow.parquet as pq

    path = os.path.join({workspace!r}, "raw.parquet")
    os.makedirs({workspace!r}, exist_ok=True)
    dump = lambda frame: pq.write_table(
        pa.Table.from_pandas(frame), path, compression="snappy", use_dictionary=False
    )
    load = lambda: pq.read_table(path).to_pandas()
dump(frame.head(1000)); load()  # import everything first
gc.collect()
before = rss("VmRSS")
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # reset the peak (VmHWM) to the current size
dump(frame)
loaded = load()
peak = rss("VmHWM")
print(size, before, peak, flush=True)
os._exit(0)  # skip interpreter teardown: pyarrow may abort there (apache/arrow#34314)
"""


def memory(rows: int, directory: str) -> None:
    if not os.path.exists("/proc/self/clear_refs"):
        print("\npeak memory: needs Linux's /proc/self/clear_refs; not measured here")
        return
    print("\npeak resident memory of a .parquet dump + load, each in a fresh process")
    for how in ("raw", "cairn"):
        code = MEMORY_PROBE.format(
            path=[os.path.dirname(os.path.abspath(__file__))],
            rows=rows,
            workspace=os.path.join(directory, f"mem-{how}"),
            how=how,
        )
        done = subprocess.run(
            [sys.executable, "-c", code], check=False, capture_output=True, text=True
        )
        if done.returncode != 0:
            print(f"  {how}: the probe failed:\n{done.stderr}")
            continue
        size, before, peak = map(int, done.stdout.split())
        print(
            f"  {how + ':':6} frame {size / 2**20:,.0f} MiB; process {before / 2**20:,.0f} MiB "
            f"before, peak {peak / 2**20:,.0f} MiB: the round trip needs "
            f"{(peak - before) / 2**20:,.0f} MiB = {(peak - before) / size:.2f}x the frame "
            f"(the loaded copy included); peak / frame = {peak / size:.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-memory", action="store_true", help="skip the memory probe")
    parser.add_argument("--no-gokart", action="store_true", help="skip the gokart comparison")
    parser.add_argument(
        "--formats", default="parquet,pkl,feather", help="comma-separated subset to run"
    )
    args = parser.parse_args()
    directory = tempfile.mkdtemp(prefix="cairn-bench-", dir=os.environ.get("CAIRN_BENCH_DIR"))
    try:
        formats = set(args.formats.split(","))
        bench(args.rows, args.repeat, directory, formats, with_gokart=not args.no_gokart)
        gc.collect()
        if not args.no_memory:
            memory(args.rows, directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
