"""What checking outputs costs: the size and CRC-32 check of every load, against a parquet
round trip of a 10,000,000 x 10 float frame (build writes it, a second build loads it).

    python benchmarks/bench_integrity.py [--rows 10000000] [--repeat 3]

Prints the round trip (write + read), the check alone (the same CRC pass every load and every
plan that reuses the output makes) and its share of the round trip. Target: under 5%.
"""

from __future__ import annotations

import argparse
import os
import time

from _common import fresh_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import numpy as np
    import pandas as pd

    import cairn
    from cairn.storage.integrity import verify_file
    from cairn.storage.records import read_run_record
    from cairn.storage.store import open_store

    frame = pd.DataFrame(
        np.random.default_rng(0).random((args.rows, 10)), columns=[f"c{i}" for i in range(10)]
    )

    class Frame(cairn.Task):
        rows = cairn.IntParameter()

        def output(self):
            return self.make_target("frame.parquet")

        def run(self):
            return frame

    best_trip = best_check = float("inf")
    size = 0
    for _ in range(args.repeat):
        with fresh_dir("cairn-bench-integrity-") as ws:
            task = Frame(rows=args.rows)
            start = time.perf_counter()
            cairn.build(task, workspace=ws, summary=False)  # writes; returns the frame loaded
            trip = time.perf_counter() - start
            store = open_store(ws)
            entry = read_run_record(store, task.record_path()).outputs[""]
            start = time.perf_counter()
            with store.open_read(entry["path"]) as file:
                assert verify_file(file, entry) is None
            check = time.perf_counter() - start
            size = os.path.getsize(os.path.join(ws, entry["path"]))
            best_trip = min(best_trip, trip)
            best_check = min(best_check, check)
    print(f"frame {args.rows:,} x 10 float64, parquet {size / 1e6:.0f} MB")
    print(f"round trip (build: write, check, read): {best_trip:.3f} s")
    print(f"size + CRC-32 check alone:             {best_check:.3f} s")
    print(f"check / round trip:                    {100 * best_check / best_trip:.1f} %")


if __name__ == "__main__":
    main()
