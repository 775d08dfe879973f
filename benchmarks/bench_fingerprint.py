"""What transitive code fingerprints cost.

Generates a package whose task's ``run()`` reaches 200 helper functions spread over 20
modules (each helper calls the next, across module boundaries, and reads a module constant),
then reports, each measurement in a fresh interpreter:

- the first fingerprint of that task class (modules already imported), and a cached lookup;
- a cold build and a warm rebuild of N tasks of that class (default 5,000, one root requiring
  them all): the time spent inside fingerprinting during the real build (every call timed),
  per task and as a share of the build (target: under 5 percent); and the whole build with
  fingerprints on and off (``CAIRN_FINGERPRINT=off``), whose difference on a shared machine
  is mostly noise;
- computing the ids alone, on and off.

Run: ``.venv/bin/python benchmarks/bench_fingerprint.py [--tasks 5000] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

MODULES = 20
HELPERS_PER_MODULE = 10


def write_package(root: Path) -> None:
    """``benchpkg``: modules mod00..mod19 of 10 chained helpers each, and the tasks."""
    pkg = root / "benchpkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    for m in range(MODULES):
        lines = [f'"""Helpers, part {m}."""', ""]
        if m + 1 < MODULES:
            lines.append(f"from . import mod{m + 1:02d}")
        lines += ["", f"OFFSET = {m}", ""]
        for h in range(HELPERS_PER_MODULE):
            if h + 1 < HELPERS_PER_MODULE:
                call = f"helper_{h + 1}(x)"
            elif m + 1 < MODULES:
                call = f"mod{m + 1:02d}.helper_0(x)"
            else:
                call = "x"
            lines += [
                f"def helper_{h}(x):",
                f'    """Step {h} of part {m}."""',
                f"    return {call} + OFFSET + {h}",
                "",
                "",
            ]
        (pkg / f"mod{m:02d}.py").write_text("\n".join(lines))
    (pkg / "tasks.py").write_text(
        textwrap.dedent(
            """
            import cairn
            from . import mod00

            class Leaf(cairn.Task):
                i = cairn.IntParameter()

                def run(self):
                    return mod00.helper_0(self.i)

            class Root(cairn.Task):
                n = cairn.IntParameter()

                def requires(self):
                    return [Leaf(i=i) for i in range(self.n)]

                def run(self):
                    return sum(self.load())
            """
        )
    )


CHILD = """
import json, sys, time
mode, n, workspace = sys.argv[1], int(sys.argv[2]), sys.argv[3]
t0 = time.perf_counter()
import cairn
from cairn.model.graph import compute_ids
from benchpkg.tasks import Leaf, Root
out = {"import_s": time.perf_counter() - t0}
if mode == "first":
    t = time.perf_counter()
    fp = Leaf.code_fingerprint()
    out["first_s"] = time.perf_counter() - t
    t = time.perf_counter()
    for _ in range(10000):
        Leaf.code_fingerprint()
    out["cached_s"] = (time.perf_counter() - t) / 10000
    out["components"] = len(fp.components)
elif mode == "ids":
    root = Root(n=n)
    t = time.perf_counter()
    compute_ids(root)
    out["ids_s"] = time.perf_counter() - t
else:
    from cairn.identity import fingerprint as _fingerprint
    spent = [0.0]
    real = _fingerprint.class_fingerprint

    def timed(cls, stop=None):
        t = time.perf_counter()
        try:
            return real(cls, stop)
        finally:
            spent[0] += time.perf_counter() - t

    def noop(cls, stop=None):
        return None

    def timed_noop(cls, stop=None):  # the same wrapper around nothing: what timing costs
        t = time.perf_counter()
        try:
            return noop(cls, stop)
        finally:
            spent[0] += time.perf_counter() - t

    calls = [0]
    t = time.perf_counter()
    for _ in range(100000):
        timed_noop(Leaf)
    wrapper = (time.perf_counter() - t) / 100000
    spent[0] = 0.0

    def counted(cls, stop=None):
        calls[0] += 1
        return timed(cls, stop)

    _fingerprint.class_fingerprint = counted  # every fingerprint a build asks for goes here
    t = time.perf_counter()
    cairn.build(Root(n=n), workspace=workspace)
    out["build_s"] = time.perf_counter() - t
    out["build_raw_s"], out["build_fp_s"] = spent[0], max(spent[0] - calls[0] * wrapper, 0.0)
    spent[0], calls[0] = 0.0, 0
    t = time.perf_counter()
    cairn.build(Root(n=n), workspace=workspace)
    out["warm_s"] = time.perf_counter() - t
    out["warm_raw_s"], out["warm_fp_s"] = spent[0], max(spent[0] - calls[0] * wrapper, 0.0)
print(json.dumps(out))
"""


def child(root: Path, mode: str, n: int, fingerprint: bool) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(root), "PYTHONDONTWRITEBYTECODE": "1"}
    env["CAIRN_FINGERPRINT"] = "on" if fingerprint else "off"
    with tempfile.TemporaryDirectory(dir=root) as workspace:
        proc = subprocess.run(
            [sys.executable, "-c", CHILD, mode, str(n), workspace],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=5000, help="tasks in the build")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each (best is kept)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_package(root)
        print(f"task class reaching {MODULES * HELPERS_PER_MODULE} helpers in {MODULES} modules")
        firsts = [child(root, "first", 0, True) for _ in range(args.repeat)]
        first = min(f["first_s"] for f in firsts)
        cached = min(f["cached_s"] for f in firsts)
        print(f"  components in its fingerprint: {int(firsts[0]['components'])}")
        print(f"  first fingerprint:  {first * 1e3:8.1f} ms (fresh process, modules imported)")
        print(f"  cached lookup:      {cached * 1e6:8.2f} us")

        n = args.tasks
        ids_on = min(child(root, "ids", n, True)["ids_s"] for _ in range(args.repeat))
        ids_off = min(child(root, "ids", n, False)["ids_s"] for _ in range(args.repeat))
        print(f"ids of {n + 1:,} tasks (best of {args.repeat}):")
        print(f"  fingerprints on {ids_on:.3f} s, off {ids_off:.3f} s")

        on: list[dict[str, float]] = []
        off: list[dict[str, float]] = []
        for _ in range(args.repeat):  # alternate, so drift on a shared machine hits both
            on.append(child(root, "build", n, True))
            off.append(child(root, "build", n, False))
        for key, label in (("build", "cold build"), ("warm", "warm rebuild")):
            best = min(on, key=lambda r: r[f"{key}_s"])
            total, spent = best[f"{key}_s"], best[f"{key}_fp_s"]
            raw = best[f"{key}_raw_s"]
            best_off = min(r[f"{key}_s"] for r in off)
            print(f"{label} of {n + 1:,} tasks (best of {args.repeat}):")
            print(
                f"  time inside fingerprinting: {spent * 1e3:.1f} ms = "
                f"{spent / n * 1e6:.2f} us per task = {spent / total * 100:.2f}% of the "
                f"{total:.3f} s build   [target < 5%]"
            )
            print(
                f"  (measured {raw * 1e3:.1f} ms = {raw / total * 100:.2f}% with the cost of "
                "timing each call still in; the line above subtracts it)"
            )
            print(
                f"  whole build, fingerprints on {total:.3f} s vs off {best_off:.3f} s "
                "(difference includes machine noise)"
            )


if __name__ == "__main__":
    main()
