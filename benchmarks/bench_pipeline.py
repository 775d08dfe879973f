"""Cost of the function style: a fan-out/fan-in pipeline of trivial nodes.

    python benchmarks/bench_pipeline.py [--sizes 1000,5000]

``source -> step_0 .. step_{n-1} -> total``, each node a trivial function. Measured in a fresh
interpreter each: building the Pipeline (name checks, cycle check), a cold run (every node
runs and is stored), a warm run of ``total`` alone (every node reused; loads one output), a
warm run returning every output (loads n + 2 outputs), and, for comparison, the same graph
written as tasks built with ``cairn.build``.
"""

from __future__ import annotations

import argparse

from _common import row, run_python

PIPELINE = r"""
import json, sys, tempfile, time
import cairn

def source():
    return 1

def step(x, i):
    return x + i

def total(*xs):
    return sum(xs)

n = int(sys.argv[1])
nodes = [cairn.node(source, outputs="src")]
nodes += [cairn.node(step, inputs=["src", f"config.i{i}"], outputs=f"s{i}", name=f"step{i}")
          for i in range(n)]
nodes.append(cairn.node(total, inputs=[f"s{i}" for i in range(n)], outputs="total"))
config = {f"i{i}": i for i in range(n)}
with tempfile.TemporaryDirectory() as ws:
    t = time.perf_counter()
    pipe = cairn.Pipeline(nodes, config=config)
    construct = time.perf_counter() - t
    t = time.perf_counter()
    assert pipe.run(["total"], workspace=ws)["total"] == n + n * (n - 1) // 2
    cold = time.perf_counter() - t
    t = time.perf_counter()
    cairn.Pipeline(nodes, config=config).run(["total"], workspace=ws)
    warm = time.perf_counter() - t
    t = time.perf_counter()
    assert len(cairn.Pipeline(nodes, config=config).run(workspace=ws)) == n + 2
    warm_all = time.perf_counter() - t
print(json.dumps({"construct": construct, "cold": cold, "warm": warm, "warm_all": warm_all}))
"""

TASKS = r"""
import json, sys, tempfile, time
import cairn

class Source(cairn.Task):
    def run(self):
        return 1

class Step(cairn.Task):
    i = cairn.IntParameter()
    def requires(self):
        return Source()
    def run(self):
        return self.load() + self.i

class Total(cairn.Task):
    n = cairn.IntParameter()
    def requires(self):
        return [Step(i=i) for i in range(self.n)]
    def run(self):
        return sum(self.load())

n = int(sys.argv[1])
with tempfile.TemporaryDirectory() as ws:
    t = time.perf_counter()
    assert cairn.build(Total(n=n), workspace=ws) == n + n * (n - 1) // 2
    cold = time.perf_counter() - t
    t = time.perf_counter()
    cairn.build(Total(n=n), workspace=ws)
    warm = time.perf_counter() - t
print(json.dumps({"cold": cold, "warm": warm}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,5000")
    args = parser.parse_args()
    widths = (30, 11, 11, 11, 11)
    print(row("seconds", "construct", "cold", "warm", "warm, all", widths=widths))
    for n in [int(s) for s in args.sizes.split(",")]:
        p = run_python(PIPELINE, str(n))
        t = run_python(TASKS, str(n))
        if "error" in p or "error" in t:
            print(row(f"n={n}", p.get("error", ""), t.get("error", ""), widths=widths))
            continue
        print(
            row(
                f"pipeline, {n} + 2 nodes",
                p["construct"],
                p["cold"],
                p["warm"],
                p["warm_all"],
                widths=widths,
            )
        )
        print(row(f"tasks, {n} + 2 tasks", "", t["cold"], t["warm"], "", widths=widths))


if __name__ == "__main__":
    main()
