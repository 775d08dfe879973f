"""How fast a large graph renders in the browser: ``cairn graph -o graph.html`` and the
graph page of ``cairn ui``, in headless Chromium, for a layered graph of N tasks (columns of
chains, the first layer joined to the next column).

    python benchmarks/bench_ui_graph.py [--tasks 2000] [--width 50]

Prints, per page, the milliseconds from the start of loading to the graph placed and
fitted (``window.cairnReadyMs``), and for the ui the drawing alone once its data arrived
(``window.cairnRenderMs``). Target: under 2,000 ms for 2,000 tasks. Needs ``chromium``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from _common import fresh_dir

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

TASKS = textwrap.dedent(
    """
    import cairn

    WIDTH = {width}

    class Node(cairn.Task):
        layer = cairn.IntParameter()
        i = cairn.IntParameter()

        def requires(self):
            if not self.layer:
                return []
            # a chain per column, its first layer joined to the next column (kept sparse:
            # every requires() makes new task objects, and a dense lattice multiplies them)
            ahead = [Node(layer=self.layer - 1, i=(self.i + 1) % WIDTH)]
            return [Node(layer=self.layer - 1, i=self.i)] + (ahead if self.layer == 1 else [])

        def run(self):
            return self.i

    class Top(cairn.Task):
        layers = cairn.IntParameter()

        def requires(self):
            return [Node(layer=self.layers - 1, i=i) for i in range(WIDTH)]

        def run(self):
            return 0
    """
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--width", type=int, default=50)
    args = parser.parse_args()
    chromium = shutil.which("chromium")
    if chromium is None:
        print("SKIP: chromium is not installed")
        return
    from _browser import Browser

    layers = max(args.tasks // args.width, 1)
    with fresh_dir("cairn-bench-ui-") as tmp:
        root = Path(tmp)
        (root / "bigtasks.py").write_text(TASKS.format(width=args.width))
        env = {**os.environ, "CAIRN_WORKSPACE": str(root / "ws"), "PYTHONPATH": str(root)}
        build = (
            f"import cairn, bigtasks as b; root = b.Top(layers={layers}); "
            "cairn.graph(root).save('graph.html'); cairn.build(root, progress=False)"
        )
        subprocess.run([sys.executable, "-c", build], cwd=root, env=env, check=True,
                       capture_output=True)  # fmt: skip
        server = subprocess.Popen(
            [sys.executable, "-m", "cairn", "ui", "--port", "0"],
            cwd=root, env=env, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            line = server.stderr.readline() if server.stderr else ""
            url = line.split(" at ")[1].split()[0]
            profile = root / "profile"
            profile.mkdir()
            browser = Browser(chromium, profile, 1400, 900)
            try:
                results = []
                for name, page in (
                    ("cairn graph -o graph.html", (root / "graph.html").as_uri()),
                    ("cairn ui: a build's graph", url + "#/build/latest"),
                ):
                    browser.navigate("about:blank")
                    browser.navigate(page)
                    deadline = time.monotonic() + 120
                    while not browser.evaluate("typeof window.cairnReadyMs === 'number'"):
                        if time.monotonic() > deadline:
                            raise TimeoutError(page)
                        time.sleep(0.05)
                    count = browser.evaluate("document.querySelectorAll('svg .node').length")
                    ready = browser.evaluate("window.cairnReadyMs")
                    drawing = browser.evaluate("window.cairnRenderMs || null")
                    results.append((name, count, ready, drawing))
                    problems = browser.problems()
                    if problems:
                        print("problems:", problems[:3])
            finally:
                browser.close()
        finally:
            server.terminate()
            server.wait(10)
    print(f"{'page':34} {'tasks':>6} {'ready ms':>9} {'drawing ms':>11}")
    for name, count, ready, drawing in results:
        shown = f"{drawing:.0f}" if drawing is not None else "-"
        print(f"{name:34} {count:>6} {ready:>9.0f} {shown:>11}")


if __name__ == "__main__":
    main()
