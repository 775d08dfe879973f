"""cairn against peer pipeline tools: Kedro, Hamilton, redun, joblib, Prefect and Dask.

    python benchmarks/bench_peers.py [--tools cairn,kedro,...] [--workloads fanin,chain,frames]
        [--sizes 1000,5000] [--repeat 3] [--quick] [--tmpdir DIR]

Three workloads, each written the way the tool's documentation recommends for persisted
reuse, with every output persisted so that a rerun can reuse it:

- ``fanin``: N trivial leaves (leaf i returns i) and one root summing them (``--sizes``);
- ``chain``: 1,000 trivial tasks, each adding one to the previous one's output; a tool that
  dies (RecursionError, a crashed interpreter) is reported as such;
- ``frames``: 50 tasks, each a 1,000,000 x 5 float64 pandas frame, the previous one + 1,
  stored in the tool's natural frame format.

Each run is a fresh interpreter: *cold* against an empty store, then *warm*, a new
interpreter rerunning against the filled store. The times are of the run itself (from just
before the tool is asked to run until the root's value is in hand); imports and setup (for
Prefect, starting its ephemeral local server) are shown apart as "start". Tools run
interleaved, their order rotated each repeat; the table gives the best and the median of
``--repeat`` runs and the ratio peer / cairn of the best times (above 1: cairn is faster).

How each tool persists and reuses:

- cairn: ``cairn.build`` inline; ``.pkl`` outputs by default, ``.parquet`` (snappy) for frames,
  and a ``cairn-pkl`` variant with ``.pkl`` frames;
- kedro: ``SequentialRunner().run(..., only_missing_outputs=True)``, one ``PickleDataset`` per
  output (``ParquetDataset`` for frames, and a ``kedro-pkl`` variant with ``PickleDataset``);
  it reuses an output that exists, without looking at code or inputs;
- hamilton: ``Builder().with_cache(path)`` (results pickled; ``hamilton-parquet`` is the
  frame chain with ``@cache(format="parquet")``); nodes made with ``@parameterize``;
- redun: a ``Scheduler`` on a SQLite database in the store; values live in the database;
- joblib: ``Memory(location).cache`` on each function; arguments are hashed on every call;
- prefect: tasks with ``persist_result=True`` and ``cache_policy=INPUTS + TASK_SOURCE``,
  results in local storage, against an ephemeral local server whose SQLite database lives in
  a ``PREFECT_HOME`` inside the store, so nothing outside it is touched;
- dask: ``dask.delayed`` computed with the synchronous scheduler and nothing persisted: the
  floor for scheduling alone (warm recomputes everything).

A tool that is not installed is skipped with the reason (``pip install -e '.[peers]'``).
``--quick`` runs tiny sizes (a smoke run of the whole script in seconds).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

TOOLS = (
    "cairn",
    "cairn-pkl",
    "kedro",
    "kedro-pkl",
    "hamilton",
    "hamilton-parquet",
    "redun",
    "joblib",
    "prefect",
    "dask",
)
# the module each tool needs, and what to install when it is missing
REQUIRES = {
    "cairn": ("cairn", "pandas", "pyarrow"),
    "kedro": ("kedro", "kedro_datasets", "pandas", "pyarrow"),
    "hamilton": ("hamilton", "pandas", "pyarrow"),
    "redun": ("redun", "pandas"),
    "joblib": ("joblib", "pandas"),
    "prefect": ("prefect", "pandas"),
    "dask": ("dask", "pandas"),
}
FRAMES_ONLY = {"cairn-pkl", "kedro-pkl", "hamilton-parquet"}
NOT_PERSISTED = {"dask"}
WORKLOADS = ("fanin", "chain", "frames")
COLUMNS = 5


def base_tool(tool: str) -> str:
    return tool.split("-", maxsplit=1)[0]


def make_base(rows: int) -> Any:
    """The first frame of the frame chain: ``rows`` x 5 random float64 (incompressible)."""
    import numpy as np
    import pandas as pd

    data = np.random.default_rng(0).standard_normal((rows, COLUMNS))
    return pd.DataFrame(data, columns=[f"c{i}" for i in range(COLUMNS)])


def plus_one(frame: Any) -> Any:
    return frame + 1


# ---------------------------------------------------------------------------------------
# One run of one tool, in the child process. Each returns a function that runs the workload
# and returns the root's value; everything before that call counts as "start".


def cairn_runner(tool: str, workload: str, size: int, rows: int, ws: str) -> Callable[[], Any]:
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

    class Link(cairn.Task):
        depth = cairn.IntParameter()

        def requires(self):
            return Link(depth=self.depth - 1) if self.depth > 0 else []

        def run(self):
            return self.load() + 1 if self.depth > 0 else 0

    class Frame(cairn.Task):
        step = cairn.IntParameter()
        rows = cairn.IntParameter()
        extension = ".parquet"

        def requires(self):
            return type(self)(step=self.step - 1, rows=self.rows) if self.step > 0 else []

        def output(self):
            return self.make_target("frames/frame" + self.extension)

        def run(self):
            return plus_one(self.load()) if self.step > 0 else make_base(self.rows)

    class FramePkl(Frame):
        extension = ".pkl"

    if workload == "fanin":
        root: cairn.Task = Root(n=size)
    elif workload == "chain":
        root = Link(depth=size)
    else:
        root = (FramePkl if tool == "cairn-pkl" else Frame)(step=size - 1, rows=rows)
    return lambda: cairn.build(root, workspace=os.path.join(ws, "cairn"))


def kedro_runner(tool: str, workload: str, size: int, rows: int, ws: str) -> Callable[[], Any]:
    from kedro.io import DataCatalog
    from kedro.pipeline import Pipeline, node
    from kedro.runner import SequentialRunner
    from kedro_datasets.pandas import ParquetDataset
    from kedro_datasets.pickle import PickleDataset

    def const(i: int) -> Callable[[], int]:
        def leaf() -> int:
            return i

        return leaf

    def total(*values: int) -> int:
        return sum(values)

    def increment(value: int) -> int:
        return value + 1

    def base() -> Any:
        return make_base(rows)

    if workload == "fanin":
        nodes = [node(const(i), None, f"leaf_{i}", name=f"leaf_{i}") for i in range(size)]
        nodes.append(node(total, [f"leaf_{i}" for i in range(size)], "root", name="root"))
        last = "root"
    elif workload == "chain":
        nodes = [node(const(0), None, "link_0", name="link_0")]
        nodes += [
            node(increment, f"link_{i - 1}", f"link_{i}", name=f"link_{i}")
            for i in range(1, size + 1)
        ]
        last = f"link_{size}"
    else:
        nodes = [node(base, None, "frame_0", name="frame_0")]
        nodes += [
            node(plus_one, f"frame_{i - 1}", f"frame_{i}", name=f"frame_{i}")
            for i in range(1, size)
        ]
        last = f"frame_{size - 1}"
    pipe = Pipeline(nodes)
    parquet = workload == "frames" and tool == "kedro"
    directory = os.path.join(ws, "kedro")
    datasets = {
        name: ParquetDataset(filepath=os.path.join(directory, f"{name}.parquet"))
        if parquet
        else PickleDataset(filepath=os.path.join(directory, f"{name}.pkl"))
        for name in pipe.datasets()
    }

    def run() -> Any:
        catalog = DataCatalog(datasets)
        SequentialRunner().run(pipe, catalog, only_missing_outputs=True)
        return catalog.load(last)

    return run


def hamilton_runner(tool: str, workload: str, size: int, rows: int, ws: str) -> Callable[[], Any]:
    from hamilton import ad_hoc_utils, driver
    from hamilton.function_modifiers import cache, group, inject, parameterize, source, value

    if workload == "fanin":

        @parameterize(**{f"leaf_{i}": {"i": value(i)} for i in range(size)})
        def leaf(i: int) -> int:
            return i

        @inject(leaves=group(*[source(f"leaf_{i}") for i in range(size)]))
        def root(leaves: list[int]) -> int:
            return sum(leaves)

        functions: tuple[Callable[..., Any], ...] = (leaf, root)
        last, inputs = "root", {}
    elif workload == "chain":

        def link_0() -> int:
            return 0

        @parameterize(
            **{f"link_{i}": {"prev": source(f"link_{i - 1}")} for i in range(1, size + 1)}
        )
        def link(prev: int) -> int:
            return prev + 1

        functions = (link_0, link)
        last, inputs = f"link_{size}", {}
    else:
        import pandas as pd

        fmt = "parquet" if tool == "hamilton-parquet" else None

        def frame_0(rows: int) -> pd.DataFrame:
            return make_base(rows)

        def frame(prev: pd.DataFrame) -> pd.DataFrame:
            return plus_one(prev)

        # the annotations are strings here (postponed evaluation) naming pandas, which is not
        # a global of this module: give Hamilton the types before its decorators check them
        frame_0.__annotations__ = {"rows": int, "return": pd.DataFrame}
        frame.__annotations__ = {"prev": pd.DataFrame, "return": pd.DataFrame}
        steps = {f"frame_{i}": {"prev": source(f"frame_{i - 1}")} for i in range(1, size)}
        frame_0 = cache(format=fmt)(frame_0)
        frame = cache(format=fmt)(parameterize(**steps)(frame))

        functions = (frame_0, frame)
        last, inputs = f"frame_{size - 1}", {"rows": rows}
    module = ad_hoc_utils.create_temporary_module(*functions, module_name="bench_peers_dag")
    dr = driver.Builder().with_modules(module).with_cache(path=os.path.join(ws, "hamilton")).build()
    return lambda: dr.execute([last], inputs=inputs)[last]


def redun_runner(tool: str, workload: str, size: int, rows: int, ws: str) -> Callable[[], Any]:
    import logging

    from redun import Scheduler, task
    from redun.config import Config

    logging.getLogger("redun").setLevel(logging.WARNING)

    @task(namespace="bench")
    def leaf(i: int) -> int:
        return i

    @task(namespace="bench")
    def total(values: list[int]) -> int:
        return sum(values)

    @task(namespace="bench")
    def fanin(n: int) -> int:
        return total([leaf(i) for i in range(n)])

    @task(namespace="bench")
    def increment(value: int) -> int:
        return value + 1

    @task(namespace="bench")
    def chain(n: int) -> int:
        link = leaf(0)
        for _ in range(n):
            link = increment(link)
        return link

    @task(namespace="bench")
    def base(rows: int) -> Any:
        return make_base(rows)

    @task(namespace="bench")
    def step(frame: Any) -> Any:
        return plus_one(frame)

    @task(namespace="bench")
    def frames(n: int, rows: int) -> Any:
        frame = base(rows)
        for _ in range(n - 1):
            frame = step(frame)
        return frame

    db = os.path.join(ws, "redun", "redun.db")
    os.makedirs(os.path.dirname(db), exist_ok=True)
    scheduler = Scheduler(config=Config({"backend": {"db_uri": f"sqlite:///{db}"}}))
    scheduler.load()  # connect to the database, creating it on first use
    if workload == "fanin":
        expr = fanin(size)
    elif workload == "chain":
        expr = chain(size)
    else:
        expr = frames(size, rows)
    return lambda: scheduler.run(expr)


def joblib_runner(tool: str, workload: str, size: int, rows: int, ws: str) -> Callable[[], Any]:
    from joblib import Memory

    memory = Memory(os.path.join(ws, "joblib"), verbose=0)

    def leaf(i: int) -> int:
        return i

    def total(values: list[int]) -> int:
        return sum(values)

    def increment(value: int) -> int:
        return value + 1

    cached_leaf, cached_total = memory.cache(leaf), memory.cache(total)
    cached_increment = memory.cache(increment)
    cached_base, cached_step = memory.cache(make_base), memory.cache(plus_one)

    def run() -> Any:
        if workload == "fanin":
            return cached_total([cached_leaf(i) for i in range(size)])
        if workload == "chain":
            link = cached_leaf(0)
            for _ in range(size):
                link = cached_increment(link)
            return link
        frame = cached_base(rows)
        for _ in range(size - 1):
            frame = cached_step(frame)
        return frame

    return run


def prefect_runner(tool: str, workload: str, size: int, rows: int, ws: str) -> Callable[[], Any]:
    home = os.path.join(ws, "prefect")
    os.makedirs(home, exist_ok=True)
    os.environ.pop("PREFECT_API_URL", None)
    os.environ.update(
        PREFECT_HOME=home,
        PREFECT_SERVER_ALLOW_EPHEMERAL_MODE="true",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_LOGGING_LEVEL="WARNING",
        PREFECT_RESULTS_PERSIST_BY_DEFAULT="true",
        # its default (20 s) is too short for a busy machine
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="300",
    )
    import atexit

    from prefect import flow, task
    from prefect.cache_policies import INPUTS, TASK_SOURCE
    from prefect.server.api.server import SubprocessASGIServer

    # the server a flow run would start on first use, started here so that "start" holds it
    server = SubprocessASGIServer()
    server.start(timeout=300)
    atexit.register(server.stop)
    persisted = task(persist_result=True, cache_policy=INPUTS + TASK_SOURCE)

    @persisted
    def leaf(i: int) -> int:
        return i

    @persisted
    def total(values: list[int]) -> int:
        return sum(values)

    @persisted
    def increment(value: int) -> int:
        return value + 1

    @persisted
    def base(rows: int) -> Any:
        return make_base(rows)

    @persisted
    def step(frame: Any) -> Any:
        return plus_one(frame)

    @flow(name=f"bench-{workload}")
    def pipeline() -> Any:
        if workload == "fanin":
            return total([leaf(i) for i in range(size)])
        if workload == "chain":
            link = leaf(0)
            for _ in range(size):
                link = increment(link)
            return link
        frame = base(rows)
        for _ in range(size - 1):
            frame = step(frame)
        return frame

    return pipeline


def dask_runner(tool: str, workload: str, size: int, rows: int, ws: str) -> Callable[[], Any]:
    import dask
    from dask import delayed

    def leaf(i: int) -> int:
        return i

    def total(values: list[int]) -> int:
        return sum(values)

    def increment(value: int) -> int:
        return value + 1

    def run() -> Any:
        if workload == "fanin":
            root = delayed(total)([delayed(leaf)(i) for i in range(size)])
        elif workload == "chain":
            root = delayed(leaf)(0)
            for _ in range(size):
                root = delayed(increment)(root)
        else:
            root = delayed(make_base)(rows)
            for _ in range(size - 1):
                root = delayed(plus_one)(root)
        return dask.compute(root, scheduler="sync")[0]

    return run


RUNNERS = {
    "cairn": cairn_runner,
    "kedro": kedro_runner,
    "hamilton": hamilton_runner,
    "redun": redun_runner,
    "joblib": joblib_runner,
    "prefect": prefect_runner,
    "dask": dask_runner,
}


def expected_ok(workload: str, size: int, rows: int, result: Any) -> bool:
    if workload == "fanin":
        return bool(result == size * (size - 1) // 2)
    if workload == "chain":
        return bool(result == size)
    first = float(make_base(1).iloc[0, 0]) if rows else 0.0
    return bool(
        result.shape == (rows, COLUMNS) and abs(result.iloc[0, 0] - first - (size - 1)) < 1e-9
    )


def child(tool: str, workload: str, size: int, rows: int, ws: str) -> None:
    """Run one workload once in this process; print one JSON line."""
    started = time.perf_counter()
    if workload == "frames":
        # the frame libraries are the workload's, not the tool's: loaded before any timing
        import numpy  # noqa: F401
        import pandas  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    if base_tool(tool) != "cairn":
        import logging

        logging.basicConfig(level=logging.WARNING)  # peers log each task at INFO
    out: dict[str, Any]
    try:
        run = RUNNERS[base_tool(tool)](tool, workload, size, rows, ws)
        ready = time.perf_counter()
        result = run()
        done = time.perf_counter()
        out = {"run": done - ready, "start": ready - started}
        if not expected_ok(workload, size, rows, result):
            out = {"error": f"wrong result {str(result)[:60]!r}"}
    except RecursionError:
        out = {"error": "RecursionError"}
    except Exception as exc:
        # a tool that wraps the RecursionError in its own error
        text = f"{type(exc).__name__}: {exc}"
        out = {"error": "RecursionError" if "recursion" in text.lower() else text[:120]}
    print(json.dumps(out), flush=True)


# ---------------------------------------------------------------------------------------
# The parent: interleaved runs, each in a fresh interpreter.


def run_child(tool: str, workload: str, size: int, rows: int, ws: str, timeout: float) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--child", tool, workload, str(size)]
    cmd += [str(rows), ws]
    # this folder first, then whatever the caller put on the path (a checkout's src/)
    path = [os.path.dirname(os.path.abspath(__file__)), os.environ.get("PYTHONPATH")]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, path)))
    try:
        proc = subprocess.run(
            cmd, cwd=ws, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timeout ({timeout:.0f} s)"}
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if lines:
        # the JSON line is printed before interpreter teardown, which may still fail
        return dict(json.loads(lines[-1]))
    if proc.returncode < 0:
        return {"error": f"crashed (signal {-proc.returncode})"}
    tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    return {"error": "RecursionError" if "RecursionError" in proc.stderr else tail[:120]}


def missing(tool: str) -> str | None:
    """Why ``tool`` cannot run here, or None."""
    import importlib.util

    for module in REQUIRES[base_tool(tool)]:
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed (pip install -e '.[peers]')"
    return None


def load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def fmt(values: list[float], how: Callable[[list[float]], float]) -> str:
    return f"{how(values):.3f}" if values else "-"


def measure(
    tools: list[str], workload: str, size: int, rows: int, args: argparse.Namespace
) -> dict[str, dict[str, Any]]:
    results: dict[str, dict[str, Any]] = {
        t: {"cold": [], "warm": [], "start": [], "error": None} for t in tools
    }
    for rep in range(args.repeat):
        order = tools[rep % len(tools) :] + tools[: rep % len(tools)]
        for tool in order:
            res = results[tool]
            if res["error"]:
                continue  # a tool that died once dies again: no need to wait for it
            ws = tempfile.mkdtemp(prefix=f"peers-{tool}-", dir=args.tmpdir)
            try:
                cold = run_child(tool, workload, size, rows, ws, args.timeout)
                if "error" in cold:
                    res["error"] = cold["error"]
                    if args.progress:
                        print(f"  [{workload} {size}] {tool}: {cold['error']}", file=sys.stderr)
                    continue
                warm = run_child(tool, workload, size, rows, ws, args.timeout)
                if "error" in warm:
                    res["error"] = "warm: " + warm["error"]
                    continue
                res["cold"].append(cold["run"])
                res["warm"].append(warm["run"])
                res["start"].append(warm["start"])
                if args.progress:
                    print(
                        f"  [{workload} {size}, repeat {rep + 1}] {tool}: "
                        f"cold {cold['run']:.3f} s, warm {warm['run']:.3f} s, load {load()}",
                        file=sys.stderr,
                        flush=True,
                    )
            finally:
                shutil.rmtree(ws, ignore_errors=True)
    return results


def report(title: str, tools: list[str], results: dict[str, dict[str, Any]]) -> None:
    print(f"\n{title}")
    head = ("tool", "cold best", "cold med", "warm best", "warm med", "cold x", "warm x", "start")
    print(f"  {head[0]:18}" + "".join(f"{h:>10}" for h in head[1:]))
    ref = results.get("cairn", {})
    for tool in tools:
        res = results[tool]
        if res["error"] and not res["cold"]:
            print(f"  {tool:18} {res['error']}")
            continue
        cells = [
            fmt(res["cold"], min),
            fmt(res["cold"], statistics.median),
            fmt(res["warm"], min),
            fmt(res["warm"], statistics.median),
        ]
        for phase in ("cold", "warm"):
            if ref.get(phase) and tool != "cairn":
                cells.append(f"{min(res[phase]) / min(ref[phase]):.2f}")
            else:
                cells.append("-")
        cells.append(fmt(res["start"], statistics.median))
        note = "  (no persistence: warm recomputes)" if tool in NOT_PERSISTED else ""
        print(f"  {tool:18}" + "".join(f"{c:>10}" for c in cells) + note)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--sizes", default="1000,5000", help="fan-in sizes")
    parser.add_argument("--chain", type=int, default=1000, help="chain length")
    parser.add_argument("--frames", type=int, default=50, help="frame chain length")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows per frame")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    parser.add_argument("--tmpdir", default=None, help="where the stores go (default: TMPDIR)")
    parser.add_argument("--timeout", type=float, default=1200, help="seconds per run")
    parser.add_argument("--progress", action="store_true", help="print each run's times")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        tool, workload, size, rows, ws = args.child
        child(tool, workload, int(size), int(rows), ws)
        return
    if args.quick:
        args.sizes, args.chain, args.frames, args.rows = "50", 50, 3, 1000
        args.repeat = min(args.repeat, 1)
    tools = []
    for tool in [t for t in args.tools.split(",") if t]:
        if tool not in TOOLS:
            parser.error(f"unknown tool {tool!r}; known: {', '.join(TOOLS)}")
        reason = missing(tool)
        if reason:
            print(f"skipping {tool}: {reason}")
        else:
            tools.append(tool)
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} cores, repeat {args.repeat}, "
        f"stores in {args.tmpdir or tempfile.gettempdir()}; seconds; x = peer best / cairn best "
        f"(above 1: cairn is faster); start = imports + setup of a warm run (median)"
    )
    for workload in [w for w in args.workloads.split(",") if w]:
        if workload == "fanin":
            cases = [
                (int(s), 0, f"fan-in: {int(s):,} leaves -> 1 root") for s in args.sizes.split(",")
            ]
        elif workload == "chain":
            cases = [(args.chain, 0, f"chain: {args.chain:,} tasks")]
        elif workload == "frames":
            title = f"frame chain: {args.frames} tasks, {args.rows:,} x {COLUMNS} float64 each"
            cases = [(args.frames, args.rows, title)]
        else:
            parser.error(f"unknown workload {workload!r}; known: {', '.join(WORKLOADS)}")
        names = [t for t in tools if workload == "frames" or t not in FRAMES_ONLY]
        for size, rows, title in cases:
            before = load()
            results = measure(names, workload, size, rows, args)
            report(f"{title}   (load average {before} -> {load()})", names, results)


if __name__ == "__main__":
    main()
