"""Warm builds that run nothing: how long they take in-process, and what they import.

Two pipelines, each built once cold in a fresh interpreter, then once more warm in another
fresh interpreter, timed in-process (``cairn.build`` only, the interpreter and the pipeline
module already loaded):

- the README's example (the ``./dev example`` pipeline: scikit-learn on a bundled data set);
- a 10-task pipeline whose ``run()`` imports scikit-learn and pandas, the habit that keeps a
  script's start fast.

A warm build must not import what the process had not imported before it (fingerprinting
decides what is the user's code from ``sys.modules`` and module specs, without importing):
the script prints every module the warm build imported, outside cairn and the standard
library. Target: each warm build under 0.15 s.

    python benchmarks/bench_warm.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import glob
import os
import statistics

from _common import fresh_dir, run_python

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE = sorted(glob.glob(os.path.join(HERE, "..", "examples", "*models*.py")))

TEN_TASKS = """
import cairn


class Load(cairn.Task):
    n = cairn.IntParameter()

    def run(self):
        import pandas as pd

        return pd.DataFrame({"x": list(range(self.n))})


class Fit(cairn.Task):
    data = cairn.TaskParameter()

    def run(self):
        from sklearn.linear_model import LinearRegression

        frame = self.load("data")
        return float(LinearRegression().fit(frame[["x"]], frame["x"]).coef_[0])


class Report(cairn.Task):
    def requires(self):
        return [Fit(data=Load(n=n)) for n in range(3, 7)] + [Load(n=99)]

    def run(self):
        return sum(v for v in self.load()[:-1])


def pipeline():
    return Report()  # 4 Load + 4 Fit + Load(99) + Report = 10 tasks
"""

MEASURE = r"""
import importlib.util, json, sys, time
path, workspace, phase = sys.argv[1], sys.argv[2], sys.argv[3]
spec = importlib.util.spec_from_file_location("bench_pipeline_module", path)
module = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = module
spec.loader.exec_module(module)
import cairn
root = module.pipeline()
before = set(sys.modules)
started = time.perf_counter()
cairn.build(root, workspace=workspace, summary=False)
seconds = time.perf_counter() - started
std = set(sys.stdlib_module_names)
new = sorted(
    m for m in set(sys.modules) - before
    if not m.startswith(("cairn", "_")) and m.partition(".")[0] not in std
)
print(json.dumps({"seconds": seconds, "new_modules": new}))
"""


def measure(path: str, repeat: int) -> tuple[list[float], list[str]]:
    """Warm build times of the pipeline in ``path``, and the modules the last one imported."""
    with fresh_dir("cairn-bench-warm-") as workspace:
        cold = run_python(MEASURE, path, workspace, "cold")
        if "error" in cold:
            raise SystemExit(f"{path}: the cold build failed: {cold['error']}")
        times, new = [], []
        for _ in range(repeat):
            warm = run_python(MEASURE, path, workspace, "warm")
            if "error" in warm:
                raise SystemExit(f"{path}: the warm build failed: {warm['error']}")
            times.append(warm["seconds"])
            new = warm["new_modules"]
        return times, new


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with fresh_dir("cairn-bench-warm-src-") as src:
        ten = os.path.join(src, "ten_tasks.py")
        with open(ten, "w") as file:
            file.write(TEN_TASKS)
        cases = [("README example", path) for path in EXAMPLE[:1]]
        cases.append(("10 tasks importing sklearn+pandas in run()", ten))
        results = {}
        print(f"{'pipeline':<46}{'best':>8}{'median':>9}  modules the warm build imported")
        for name, path in cases:
            times, new = measure(path, args.repeat)
            results[name] = {"best": min(times), "median": statistics.median(times), "new": new}
            shown = ", ".join(new[:6]) + (" ..." if len(new) > 6 else "") if new else "none"
            print(f"{name:<46}{min(times):>7.3f}s{statistics.median(times):>8.3f}s  {shown}")
    print(f"load average {os.getloadavg()[0]:.1f}; target: under 0.15 s, no new modules")


if __name__ == "__main__":
    main()
