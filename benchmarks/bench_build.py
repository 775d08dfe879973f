"""Scheduling cost of build(): fan-in and chain graphs of trivial tasks, cairn vs gokart.

    python benchmarks/bench_build.py [--sizes 1000,5000,20000] [--gokart-sizes 1000,5000]

Each measurement runs in a fresh interpreter, with its workspace in a temporary directory:
set TMPDIR to choose the file system (TMPDIR=/dev/shm takes disk speed out of the numbers;
every task writes two files, its output and its run record, each atomically).

Targets (foundation issue): cold 5,000-task fan-in at least 50x faster than gokart in the same
run; 20,000 within 4.5x the 5,000 time;
warm rebuild of 20,000 under 1 s; `import cairn` under 100 ms without pandas or numpy.
"""

from __future__ import annotations

import argparse

from _common import have, row, run_python

CAIRN_FAN_IN = r"""
import json, sys, tempfile, time
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

n = int(sys.argv[1])
with tempfile.TemporaryDirectory() as ws:
    t = time.perf_counter()
    assert cairn.build(Root(n=n), workspace=ws) == n * (n - 1) // 2
    cold = time.perf_counter() - t
    t = time.perf_counter()
    cairn.build(Root(n=n), workspace=ws)
    warm = time.perf_counter() - t
print(json.dumps({"cold": cold, "warm": warm}))
"""

CAIRN_CHAIN = r"""
import json, sys, tempfile, time
import cairn

class Link(cairn.Task):
    depth = cairn.IntParameter()
    def requires(self):
        return Link(depth=self.depth - 1) if self.depth > 0 else []
    def run(self):
        return self.depth

n = int(sys.argv[1])
with tempfile.TemporaryDirectory() as ws:
    t = time.perf_counter()
    assert cairn.build(Link(depth=n), workspace=ws) == n
    cold = time.perf_counter() - t
    t = time.perf_counter()
    cairn.build(Link(depth=n), workspace=ws)
    warm = time.perf_counter() - t
print(json.dumps({"cold": cold, "warm": warm}))
"""

GOKART_FAN_IN = r"""
import json, logging, sys, tempfile, time
import gokart, luigi

class Leaf(gokart.TaskOnKart):
    i = luigi.IntParameter()
    def run(self):
        self.dump(self.i)

class Root(gokart.TaskOnKart):
    n = luigi.IntParameter()
    def requires(self):
        return [Leaf(i=i) for i in range(self.n)]
    def run(self):
        self.dump(sum(self.load()))

n = int(sys.argv[1])
with tempfile.TemporaryDirectory() as ws:
    luigi.configuration.get_config().set("TaskOnKart", "workspace_directory", ws)
    t = time.perf_counter()
    assert gokart.build(Root(n=n), log_level=logging.CRITICAL) == n * (n - 1) // 2
    cold = time.perf_counter() - t
    t = time.perf_counter()
    gokart.build(Root(n=n), log_level=logging.CRITICAL)
    warm = time.perf_counter() - t
print(json.dumps({"cold": cold, "warm": warm}))
"""

GOKART_CHAIN = r"""
import json, logging, sys, tempfile, time
import gokart, luigi

class Link(gokart.TaskOnKart):
    depth = luigi.IntParameter()
    def requires(self):
        return Link(depth=self.depth - 1) if self.depth > 0 else []
    def run(self):
        self.dump(self.depth)

n = int(sys.argv[1])
with tempfile.TemporaryDirectory() as ws:
    luigi.configuration.get_config().set("TaskOnKart", "workspace_directory", ws)
    t = time.perf_counter()
    try:
        gokart.build(Link(depth=n), log_level=logging.CRITICAL)
        status = "ok"
    except RecursionError:
        status = "RecursionError"
    except Exception as exc:
        status = type(exc).__name__
    print(json.dumps({"cold": time.perf_counter() - t, "status": status}))
"""

IMPORT = r"""
import json, subprocess, sys, time
best = 1e9
for _ in range(7):
    out = subprocess.run([sys.executable, "-c",
        "import time; t = time.perf_counter(); import cairn, sys; "
        "print(time.perf_counter() - t, 'numpy' in sys.modules or 'pandas' in sys.modules)"],
        capture_output=True, text=True, check=True).stdout.split()
    best = min(best, float(out[0]))
print(json.dumps({"seconds": best, "heavy": out[1] == "True"}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,5000,20000")
    parser.add_argument("--chains", default="1000,100000")
    parser.add_argument("--gokart-sizes", default="1000,5000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    gokart_sizes = [int(s) for s in args.gokart_sizes.split(",") if s] if have("gokart") else []

    imp = run_python(IMPORT)
    print(
        f"import cairn: {imp['seconds'] * 1000:.1f} ms (best of 7); "
        f"pulls in numpy/pandas: {imp['heavy']}   [target < 100 ms, False]"
    )
    print()
    print(row("fan-in (N trivial tasks + root)", "cold s", "warm s", "gokart cold"))
    results: dict[int, dict[str, float]] = {}
    for n in sizes:
        res = run_python(CAIRN_FAN_IN, str(n))
        results[n] = res
        gk = run_python(GOKART_FAN_IN, str(n), timeout=3600) if n in gokart_sizes else {}
        gk_text = f"{gk['cold']:.2f}" if "cold" in gk else gk.get("error", "-")
        print(row(f"N={n}", res["cold"], res["warm"], gk_text))
        if "cold" in gk:
            print(
                f"    cairn is {gk['cold'] / res['cold']:.1f}x faster than gokart cold "
                f"({gk['warm'] / res['warm']:.1f}x warm)"
                + ("   [target >= 50x cold]" if n == 5000 else "")
            )
    if 5000 in results and 20000 in results:
        ratio = results[20000]["cold"] / results[5000]["cold"]
        print(f"    cold 20,000 / cold 5,000 = {ratio:.2f}   [target <= 4.5]")
        print(f"    warm 20,000 = {results[20000]['warm']:.3f} s   [target < 1 s]")
    print()
    print(row("chain (depth N)", "cold s", "warm s", "gokart"))
    for n in [int(s) for s in args.chains.split(",") if s]:
        res = run_python(CAIRN_CHAIN, str(n))
        gk = run_python(GOKART_CHAIN, str(min(n, 1000))) if have("gokart") else {}
        gk_text = gk.get("status", gk.get("error", "-")) if n <= 1000 else "-"
        print(row(f"N={n}", res.get("cold", res.get("error")), res.get("warm", ""), gk_text))


if __name__ == "__main__":
    main()
