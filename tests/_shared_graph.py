"""Tasks built by several processes at once, and the runner those processes execute.

Every ``run()`` drops a side file ``{task_id}.{pid}.{random}`` in ``$CAIRN_TEST_COUNTS`` (when
set), so a test counts how often each task really ran, across processes. Sleeps are random
(``$CAIRN_TEST_MAX_SLEEP`` seconds at most) and drawn from the operating system, not from the
task's seeded ``random``.

Run as a script: ``python _shared_graph.py CONFIG_JSON`` builds the graph the config names and
prints one JSON line ``{"result": ...}`` or ``{"error": type, "message": ...}``.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import cairn

_urandom = random.SystemRandom()


def _ran(task: cairn.Task[Any]) -> None:
    counts = os.environ.get("CAIRN_TEST_COUNTS")
    if counts:
        Path(counts, f"{task.task_id}.{os.getpid()}.{uuid.uuid4().hex[:8]}").touch()
    top = float(os.environ.get("CAIRN_TEST_MAX_SLEEP", "0"))
    if top:
        time.sleep(_urandom.uniform(0, top))


def runs_by_task(counts: Path) -> dict[str, int]:
    """How many times each task id ran, from the side files in ``counts``."""
    found: dict[str, int] = {}
    for path in counts.iterdir():
        tid = path.name.partition(".")[0]
        found[tid] = found.get(tid, 0) + 1
    return found


class Leaf(cairn.Task[list[int]]):
    i = cairn.IntParameter()

    def run(self) -> list[int]:
        _ran(self)
        return [self.i, self.i * self.i, random.Random(self.i).randrange(1000)]


class Mid(cairn.Task[int]):
    leaves = cairn.ListParameter()

    def requires(self) -> list[Leaf]:
        return [Leaf(i=i) for i in self.leaves]

    def run(self) -> int:
        _ran(self)
        return sum(sum(values) for values in self.load())


class Top(cairn.Task[dict[str, int]]):
    mids = cairn.IntParameter()
    offset = cairn.IntParameter()

    def requires(self) -> dict[str, Mid]:
        return {f"m{k}": mid(k) for k in range(self.offset, self.offset + self.mids)}

    def run(self) -> dict[str, int]:
        _ran(self)
        return dict(sorted(self.load().items()))


class Root(cairn.Task[dict[str, Any]]):
    tops = cairn.IntParameter(default=4)

    def requires(self) -> list[Top]:
        return tops(self.tops)

    def run(self) -> dict[str, Any]:
        _ran(self)
        merged: dict[str, int] = {}
        for part in self.load():
            merged.update(part)
        return {"total": sum(merged.values()), "parts": merged}


def mid(k: int) -> Mid:
    """Mid task ``k`` of the 60-task graph: five overlapping leaves of the forty."""
    return Mid(leaves=[(3 * k + j) % 40 for j in range(5)])


def tops(n: int = 4) -> list[Top]:
    """The tops of the 60-task graph (fifteen mids spread over four tops)."""
    bounds = [0, 4, 8, 12, 15]
    return [Top(mids=bounds[t + 1] - bounds[t], offset=bounds[t]) for t in range(n)]


def graph60() -> Root:
    """40 leaves, 15 mids, 4 tops and the root: 60 tasks."""
    return Root()


def all_tasks60() -> list[cairn.Task[Any]]:
    """Every task of :func:`graph60`."""
    return [Leaf(i=i) for i in range(40)] + [mid(k) for k in range(15)] + [*tops(), Root()]


class Blocker(cairn.Task[str]):
    """Blocks in run() while ``$CAIRN_TEST_BLOCK`` names a file: that file says it started."""

    name = cairn.Parameter(default="blocker")

    def run(self) -> str:
        _ran(self)
        started = os.environ.get("CAIRN_TEST_BLOCK")
        if started:
            Path(started).touch()
            while True:
                time.sleep(1)
        return f"done by pid {os.getpid()}"


class AfterBlocker(cairn.Task[str]):
    def requires(self) -> Blocker:
        return Blocker()

    def run(self) -> str:
        _ran(self)
        return self.load().partition(" by ")[0]


class Blob(cairn.Task[bytes]):
    """100 kB of pseudo-random bytes, the same in every build."""

    i = cairn.IntParameter()

    def run(self) -> bytes:
        return random.Random(self.i).randbytes(100_000)


class Pair(cairn.Task[Any]):
    """Two outputs (pickle and JSON) from four blobs."""

    first = cairn.IntParameter()

    def requires(self) -> list[Blob]:
        return [Blob(i=i) for i in range(self.first, self.first + 4)]

    def output(self) -> dict[str, cairn.Target]:
        return {
            "joined": self.make_target("crash/joined.pkl"),
            "meta": self.make_target("crash/meta.json"),
        }

    def run(self) -> None:
        blobs = self.load()
        self.dump(b"".join(blobs), "joined")
        self.dump({"sizes": [len(b) for b in blobs], "first": self.first}, "meta")


class CrashRoot(cairn.Task[list[int]]):
    def requires(self) -> list[Pair]:
        return [Pair(first=4 * k) for k in range(6)]

    def run(self) -> list[int]:
        return [len(pair["joined"]) + pair["meta"]["first"] for pair in self.load()]


def all_crash_tasks() -> list[cairn.Task[Any]]:
    """The 31 tasks of the crash-safety graph: 24 blobs, 6 pairs, the root."""
    return [Blob(i=i) for i in range(24)] + [Pair(first=4 * k) for k in range(6)] + [CrashRoot()]


GRAPHS = {"graph60": graph60, "blocker": AfterBlocker, "crash": CrashRoot}


def spawn(config: dict[str, Any], **env: str) -> subprocess.Popen[str]:
    """Start a runner process building as ``config`` says, with extra environment ``env``."""
    here = str(Path(__file__).parent)
    path = os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH")) if p)
    return subprocess.Popen(
        [sys.executable, "-c", _RUNNER, json.dumps(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": path, **env},
    )


_RUNNER = "import json, sys, _shared_graph; _shared_graph.main(json.loads(sys.argv[1]))"


def outcome(proc: subprocess.Popen[str], timeout: float = 180) -> dict[str, Any]:
    """Wait for a runner; return what it printed (``result``, or ``error`` and ``message``)."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if not lines:
        raise AssertionError(f"runner exited {proc.returncode} without an outcome:\n{err}")
    found: dict[str, Any] = json.loads(lines[-1])
    return found


def complete_outputs(
    tasks: list[cairn.Task[Any]], workspace: str, storage_options: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Load the output of every task of ``tasks`` that the store calls complete, by task id."""
    found = {}
    for task in tasks:
        plan = cairn.plan(task, workspace=workspace, storage_options=storage_options)
        if not any(e.will_run for e in plan if e.task == task):
            found[task.task_id] = cairn.build(
                task, workspace=workspace, storage_options=storage_options
            )
    return found


def zygote() -> None:
    """Fork a build per config read from stdin, after warming up once (imports, caches).

    Prints ``ready``, then for each config line ``{"status": S, "seconds": T}`` when the
    child ends. With ``kill_after`` in the config, a child still running after that many
    seconds gets SIGKILL (sent before the child is reaped, so its pid cannot have been reused).
    A forked child skips the interpreter start-up, so a test can start and kill a hundred
    builds in well under a minute.
    """
    cairn.build(CrashRoot(), workspace=tempfile.mkdtemp(prefix="cairn-warm-"))
    import s3fs  # noqa: F401 - imported once here rather than in every child

    print("ready", flush=True)
    for line in sys.stdin:
        config = json.loads(line)
        started = time.perf_counter()
        pid = os.fork()
        if pid == 0:  # the child: build, then leave without running the parent's cleanups
            code = 1
            try:
                cairn.build(
                    GRAPHS[config["graph"]](),
                    workspace=config["workspace"],
                    storage_options=config.get("storage_options"),
                    lock=config.get("lock"),
                    executor="threads",
                    workers=4,
                )
                code = 0
            finally:
                os._exit(code)
        deadline = started + config.get("kill_after", float("inf"))
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.perf_counter() >= deadline:
                os.kill(pid, signal.SIGKILL)
                _, status = os.waitpid(pid, 0)
                break
            time.sleep(0.0005)
        seconds = time.perf_counter() - started
        print(json.dumps({"status": status, "seconds": seconds}), flush=True)


def main(config: dict[str, Any]) -> None:
    """Build ``config["graph"]`` as ``config`` says; print the outcome as one JSON line."""
    ready, go = config.get("ready"), config.get("go")
    if ready:
        Path(ready).touch()
    if config.get("announce"):
        print("ready", flush=True)
    while go and not Path(go).exists():
        time.sleep(0.01)
    try:
        result = cairn.build(
            GRAPHS[config["graph"]](),
            workspace=config["workspace"],
            storage_options=config.get("storage_options"),
            lock=config.get("lock"),
            executor=config.get("executor", "threads"),
            workers=config.get("workers", 3),
        )
    except Exception as exc:
        print(json.dumps({"error": type(exc).__name__, "message": str(exc)}), flush=True)
        return
    print(json.dumps({"result": result}), flush=True)


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
