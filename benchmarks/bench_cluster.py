"""cairn on a cluster: planning on S3, and the cost per task on Dask.

1. Planning ``--tasks`` complete tasks on S3 (moto in server mode on this machine): the
   plan's reads of the store (target: 1,000 tasks in under 2 s).
2. A cold build of ``--tasks`` trivial tasks (a fan-in of ``--tasks - 1`` leaves into one)
   on a cluster started from the command line (``dask scheduler``, two ``dask worker``
   processes of one thread each) with a local workspace (target: 1,000 in under 4 s); and
   the Dask-only floor for the same number of trivial calls (``client.submit`` and gather
   one after another, as the fan-in's leaves then its root), so cairn's own cost per task is
   what remains.
3. A warm build of the same graph: everything complete, so nothing runs on Dask and no
   client connects (target: under 0.3 s).

Run: ``python benchmarks/bench_cluster.py`` (``--tasks N``, ``--skip-s3``, ``--skip-dask``).
Needs the extras ``dask`` and ``s3`` and ``moto[server]`` for the S3 part. The load average
is printed: the machine is usually shared.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import cairn


class Leaf(cairn.Task[int]):
    i = cairn.IntParameter()

    def run(self) -> int:
        return self.i


class Gather(cairn.Task[int]):
    n = cairn.IntParameter()

    def requires(self) -> list[Leaf]:
        return [Leaf(i=i) for i in range(self.n)]

    def run(self) -> int:
        return sum(self.load())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(check: Any, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except Exception:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start within {timeout:g}s")
        time.sleep(0.1)


def _stop(procs: list[subprocess.Popen[Any]]) -> None:
    for proc in reversed(procs):
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@contextmanager
def moto_s3(directory: str) -> Iterator[str]:
    """moto's S3 server on a free port; yields its endpoint."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=directory,
        start_new_session=True,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=1), "moto")
        yield endpoint
    finally:
        _stop([proc])


@contextmanager
def cli_cluster(directory: str, workers: int = 2) -> Iterator[str]:
    """``dask scheduler`` and ``workers`` single-threaded ``dask worker`` processes, started
    from the command line; yields the scheduler's address."""
    import distributed

    dask = os.path.join(os.path.dirname(sys.executable), "dask")
    if not os.path.exists(dask):
        dask = shutil.which("dask") or "dask"
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    common = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "cwd": directory}
    procs = [
        subprocess.Popen(
            [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            start_new_session=True,
            **common,  # type: ignore[call-overload]
        )
    ]
    try:
        for n in range(workers):
            procs.append(
                subprocess.Popen(
                    [
                        *(dask, "worker", address, "--nthreads", "1", "--no-dashboard"),
                        *("--name", f"bench-{n}", "--local-directory", f"{directory}/w{n}"),
                    ],
                    start_new_session=True,
                    **common,  # type: ignore[call-overload]
                )
            )

        def up() -> bool:
            with distributed.Client(address, timeout=5) as client:
                client.wait_for_workers(workers, timeout=60)
            return True

        _wait(up, "the Dask cluster", timeout=120)
        yield address
    finally:
        _stop(procs)


def plan_on_s3(tasks: int, directory: str) -> tuple[float, float]:
    """Seconds to plan ``tasks`` complete tasks (given as that many roots) on moto's S3: the
    first plan after the build that made them, and the best of three."""
    import s3fs

    with moto_s3(directory) as endpoint:
        options = {"key": "bench", "secret": "bench", "endpoint_url": endpoint}
        bucket = f"bench-{uuid.uuid4().hex[:8]}"
        s3fs.S3FileSystem(skip_instance_cache=True, **options).mkdir(bucket)
        workspace = f"s3://{bucket}/ws"
        roots = [Leaf(i=i) for i in range(tasks)]
        cairn.build(
            roots,
            workspace=workspace,
            storage_options=options,
            executor="threads",
            workers=8,
            summary=False,
        )
        seconds = []
        for _ in range(3):
            started = time.perf_counter()
            plan = cairn.plan(roots, workspace=workspace, storage_options=options)
            seconds.append(time.perf_counter() - started)
            assert not plan.to_run, "a complete task would run"
        return seconds[0], min(seconds)


def dask_floor(address: str, tasks: int) -> float:
    """Seconds for Dask alone: ``tasks - 1`` trivial calls, gathered, then one more."""
    import distributed

    def leaf(i: int) -> int:
        return i

    with distributed.Client(address) as client:
        client.run(lambda: None)  # connected and warm, as cairn's client is after its probe
        started = time.perf_counter()
        futures = client.map(leaf, range(tasks - 1), pure=False)
        total = sum(client.gather(futures))
        client.submit(leaf, total, pure=False).result()
        return time.perf_counter() - started


def dask_builds(address: str, tasks: int, directory: str) -> tuple[float, float, bool]:
    """Seconds of a cold and a warm build of the fan-in on the cluster; whether the warm one
    connected a client."""
    import distributed

    workspace = os.path.join(directory, "ws")
    root = Gather(n=tasks - 1)
    executor = f"dask://{address.removeprefix('tcp://')}"
    started = time.perf_counter()
    value = cairn.build(root, workspace=workspace, executor=executor, summary=False)
    cold = time.perf_counter() - started
    assert value == sum(range(tasks - 1))
    made: list[Any] = []
    original = distributed.Client.__init__

    def spy(self: Any, *args: Any, **kwargs: Any) -> None:
        made.append(self)
        original(self, *args, **kwargs)

    distributed.Client.__init__ = spy  # type: ignore[method-assign]
    try:
        started = time.perf_counter()
        cairn.build(root, workspace=workspace, executor=executor, summary=False)
        warm = time.perf_counter() - started
    finally:
        distributed.Client.__init__ = original  # type: ignore[method-assign]
    return cold, warm, bool(made)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--skip-s3", action="store_true")
    parser.add_argument("--skip-dask", action="store_true")
    args = parser.parse_args()
    n = args.tasks
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="cairn-bench-cluster-") as directory:
        if not args.skip_s3:
            first, best = plan_on_s3(n, directory)
            print(
                f"plan of {n} complete tasks on S3 (moto): {best:.3f}s (target < 2 s; "
                f"the first plan after the build: {first:.3f}s)"
            )
        if not args.skip_dask:
            with cli_cluster(directory) as address:
                floor = dask_floor(address, n)
                cold, warm, connected = dask_builds(address, n, directory)
            print(f"cold build of {n} trivial tasks on 2 Dask workers: {cold:.3f}s (target < 4 s)")
            print(f"  Dask alone for {n} trivial calls: {floor:.3f}s")
            print(
                f"  cairn's cost per task over Dask's: {(cold - floor) / n * 1000:.2f} ms"
                f" ({cold / n * 1000:.2f} ms per task in all)"
            )
            print(
                f"warm build (all complete): {warm:.3f}s (target < 0.3 s); "
                f"a Dask client connected: {'yes' if connected else 'no'}"
            )
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
