"""Start, once per module, what a team's cluster is made of, the way they start it.

``cluster`` gives a :class:`Cluster`: a moto S3 server (the shared store), a private
``redis-server`` (the lock, and the run counters of ``cluster_tasks``), ``dask scheduler``
and two ``dask worker`` processes started from the command line. The workers import
``cluster_tasks`` from their own copy of it and take their S3 credentials from their own
environment. Everything is stopped at the end of the module, killed if it does not stop.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from _processes import run_cairn
from _servers import MotoServer, RedisServer, free_port

PACKAGE = Path(__file__).parent / "cluster_tasks"


def dask_program() -> str:
    """The ``dask`` command of this environment; skip the module when there is none."""
    beside = Path(sys.executable).parent / "dask"
    found = str(beside) if beside.exists() else shutil.which("dask")
    if found is None:
        reason = "the dask command line is not installed (pip install 'cairn[dask]')"
        print(f"SKIP: {reason}")
        pytest.skip(reason)
    return found


def _stop(proc: subprocess.Popen[Any]) -> None:
    """SIGTERM the process group ``proc`` leads (it was started in a session of its own),
    then SIGKILL it if it has not ended within 10 s."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass


@dataclass
class Cluster:
    """What the module's tests build against, and how to run clients on "other machines"."""

    scheduler: str
    moto: MotoServer
    redis: RedisServer
    client_path: Path
    worker_path: Path
    env: dict[str, str]
    processes: list[subprocess.Popen[Any]] = field(default_factory=list)

    def bucket(self) -> str:
        """A fresh, empty workspace on the S3 server: ``s3://bucket/ws``."""
        return f"s3://{self.moto.new_bucket()}/ws"

    def client_env(self, **extra: str | None) -> dict[str, str | None]:
        """The environment of a client process: its own copy of the tasks, S3 credentials."""
        return {**self.env, "PYTHONPATH": str(self.client_path), **extra}

    def cairn(self, *args: str, **env: str | None) -> subprocess.CompletedProcess[str]:
        """``cairn ARGS`` in a client process."""
        return run_cairn(*args, env=self.client_env(**env), timeout=120)

    def start_cairn(self, *args: str) -> subprocess.Popen[str]:
        """``cairn ARGS`` in a client process, not waited for."""
        env = {k: v for k, v in {**os.environ, **self.client_env()}.items() if v is not None}
        return subprocess.Popen(
            [sys.executable, "-m", "cairn", *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def runs(self, salt: str) -> dict[str, int]:
        """How many times each task id of test ``salt`` ran (Redis counters)."""
        client = self.redis.client()
        try:
            keys = client.keys(f"runs:{salt}:*")
            values = client.mget(keys) if keys else []
            return {
                key.decode().rpartition(":")[2]: int(value)
                for key, value in zip(keys, values, strict=True)
            }
        finally:
            client.close()

    def started(self, salt: str) -> list[tuple[str, int]]:
        """``(task id, pid)`` of each run of test ``salt`` that started, in order."""
        client = self.redis.client()
        try:
            entries = client.lrange(f"started:{salt}", 0, -1)
        finally:
            client.close()
        return [(tid, int(pid)) for tid, _, pid in (e.decode().partition(" ") for e in entries)]

    def dask_client(self) -> Any:
        import distributed

        return distributed.Client(self.scheduler, timeout=30)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Scheduler, two workers, S3 and Redis, started from the command line for this module."""
    from conftest import require_program

    dask = dask_program()
    redis_program = require_program("redis-server")
    base = tmp_path_factory.mktemp("cluster")
    client_path, worker_path = base / "client-site", base / "worker-site"
    for site in (client_path, worker_path):  # the same package, installed in two places
        shutil.copytree(
            PACKAGE, site / "cluster_tasks", ignore=shutil.ignore_patterns("__pycache__")
        )
    moto = MotoServer(base)
    redis = RedisServer(redis_program, base)
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_S3": moto.endpoint,
        "CAIRN_TEST_REDIS": redis.url,
    }
    port = free_port()
    scheduler = f"tcp://127.0.0.1:{port}"
    logs = base / "logs"
    logs.mkdir()
    processes: list[subprocess.Popen[Any]] = []

    def start(name: str, *args: str, path: Path) -> None:
        full = {**os.environ, **env, "PYTHONPATH": str(path)}
        full.pop("CAIRN_WORKSPACE", None)
        log = open(logs / f"{name}.log", "wb")
        processes.append(
            subprocess.Popen(
                [dask, *args],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=base,
                env=full,
                start_new_session=True,
            )
        )
        log.close()  # the child holds its own descriptor

    made = Cluster(scheduler, moto, redis, client_path, worker_path, env, processes)
    try:
        start(
            "scheduler",
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-dashboard",
            path=worker_path,
        )
        for n in (1, 2):
            start(
                f"worker-{n}",
                "worker",
                scheduler,
                "--nthreads",
                "1",
                "--name",
                f"worker-{n}",
                "--no-dashboard",
                "--local-directory",
                str(base / f"worker-{n}"),
                path=worker_path,
            )
        deadline = time.monotonic() + 60
        client = None
        while client is None:
            try:
                client = made.dask_client()
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        try:
            client.wait_for_workers(2, timeout=60)
        finally:
            client.close()
        yield made
    finally:
        for proc in reversed(processes):  # workers first, then the scheduler
            _stop(proc)
        redis.stop()
        moto.stop()


@pytest.fixture
def salt() -> str:
    """A value no other test uses: tasks made with it are new to every store."""
    return uuid.uuid4().hex[:10]
