"""cairn's contract with a real Dask cluster, a shared S3 store and several clients.

The clients are ``cairn run`` processes (other machines, as far as the workers know); the
workers import the task package from their own copy of it. Runs are counted in Redis by the
tasks themselves, so "exactly once" is counted across every process.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import cairn

from .conftest import Cluster


@pytest.fixture
def tasks(cluster: Cluster, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``cluster_tasks`` imported here from the clients' copy, with a client's environment:
    for computing ids and loading results as another client would."""
    monkeypatch.syspath_prepend(str(cluster.client_path))
    for name, value in cluster.env.items():
        monkeypatch.setenv(name, value)
    import cluster_tasks

    return cluster_tasks


def _load(task: cairn.Task[Any], workspace: str) -> dict[str, Any]:
    """How many tasks a plan would run for ``task``, and its value (built inline)."""
    plan = cairn.plan(task, workspace=workspace)
    value = cairn.build(task, workspace=workspace, summary=False)
    return {"will_run": len(plan.to_run), "value": value}


def test_three_clients_building_one_graph_run_each_task_exactly_once(
    cluster: Cluster, salt: str, tasks: Any
) -> None:
    workspace = cluster.bucket()
    args = [
        "run",
        "cluster_tasks:Root",
        "--salt",
        salt,
        "--seconds",
        "0.2",
        "--workspace",
        workspace,
        "--executor",
        cluster.scheduler.replace("tcp://", "dask://"),
        "--lock",
        cluster.redis.url,
    ]
    clients = [cluster.start_cairn(*args) for _ in range(3)]
    outcomes = [client.communicate(timeout=120) for client in clients]
    for client, (out, err) in zip(clients, outcomes, strict=True):
        assert client.returncode == 0, f"{out}\n{err}"
    runs = cluster.runs(salt)
    root = tasks.Root(salt=salt, seconds=0.2)
    ids = {e.task.task_id for e in cairn.plan(root, workspace=workspace, rerun="all")}
    assert len(ids) == 17
    assert runs == dict.fromkeys(ids, 1)  # every task once, in all three clients
    loaded = _load(root, workspace)
    assert loaded["will_run"] == 0
    assert loaded["value"] == {
        f"m{k}": sum(((3 * k + j) % 12) ** 2 for j in range(5)) for k in range(4)
    }


def test_a_worker_killed_mid_build_does_not_stop_the_build(
    cluster: Cluster, salt: str, tasks: Any
) -> None:
    workspace = cluster.bucket()
    client = cluster.start_cairn(
        "run",
        "cluster_tasks:Fan",
        "--salt",
        salt,
        "--n",
        "6",
        "--seconds",
        "1.5",
        "--workspace",
        workspace,
        "--executor",
        cluster.scheduler.replace("tcp://", "dask://"),
    )
    deadline = time.monotonic() + 60
    while not cluster.started(salt):
        assert client.poll() is None, client.communicate()
        assert time.monotonic() < deadline, "no task started within 60 s"
        time.sleep(0.05)
    victim_id, victim_pid = cluster.started(salt)[0]
    os.kill(victim_pid, signal.SIGKILL)  # the worker process itself, mid-run()
    out, err = client.communicate(timeout=120)
    assert client.returncode == 0, f"{out}\n{err}"
    runs = cluster.runs(salt)
    assert runs[victim_id] == 2  # killed once, then run again on a worker that lived
    others = [n for tid, n in runs.items() if tid != victim_id]
    assert len(others) == 6 and all(n >= 1 for n in others)
    assert _load(tasks.Fan(salt=salt, n=6, seconds=1.5), workspace) == {
        "will_run": 0,
        "value": [i * i for i in range(6)],
    }
    with cluster.dask_client() as dask:  # the worker's nanny starts it again
        dask.wait_for_workers(2, timeout=60)


def test_dynamic_requirements_keep_the_clients_ids_when_workers_import_another_copy(
    cluster: Cluster, salt: str, tasks: Any
) -> None:
    workspace = cluster.bucket()
    done = cluster.cairn(
        "run",
        "cluster_tasks:Dynamics",
        "--salt",
        salt,
        "--workspace",
        workspace,
        "--executor",
        cluster.scheduler.replace("tcp://", "dask://"),
    )
    assert done.returncode == 0, done.stderr
    leaves = [tasks.Leaf(salt=salt, i=i) for i in range(8)]
    dynamic = [tasks.Dynamic(salt=salt, first=2 * j) for j in range(3)]
    ids = [t.task_id for t in [*leaves, *dynamic, tasks.Dynamics(salt=salt)]]
    assert len(set(ids)) == 12  # 8 leaves (0..7), 3 dynamic tasks, the top
    assert cluster.runs(salt) == dict.fromkeys(ids, 1)
    import s3fs

    fs = s3fs.S3FileSystem(skip_instance_cache=True, **cluster.moto.storage_options)
    records = [p for p in fs.find(workspace.removeprefix("s3://")) if p.endswith(".run.json")]
    recorded = sorted(Path(p).name.removesuffix(".run.json").rpartition("_")[2] for p in records)
    assert recorded == sorted(ids)  # no record under an id the client did not decide
    assert _load(tasks.Dynamics(salt=salt), workspace) == {
        "will_run": 0,
        "value": [sum(i * i for i in range(2 * j, 2 * j + 4)) for j in range(3)],
    }


def _can_unshare() -> bool:
    unshare = shutil.which("unshare")
    if unshare is None:
        return False
    probe = subprocess.run(
        [unshare, "--user", "--map-root-user", "--mount", "true"],
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


def test_a_local_workspace_the_workers_cannot_see_fails_before_any_run(
    cluster: Cluster, salt: str, tmp_path: Path
) -> None:
    if not _can_unshare():
        reason = "unshare (user and mount namespaces) is not available: no disk of the client's own"
        print(f"SKIP: {reason}")
        pytest.skip(reason)
    # The client's workspace is on a file system only the client sees (a tmpfs mounted in a
    # mount namespace of its own): as a laptop's disk is to a cluster's workers.
    private = tmp_path / "laptop"
    private.mkdir()
    workspace = private / "ws"
    command = (
        f"mount -t tmpfs tmpfs {private} && exec {sys.executable} -m cairn run "
        f"cluster_tasks:Fan --salt {salt} --n 2 "
        f"--workspace {workspace} --executor {cluster.scheduler.replace('tcp://', 'dask://')}"
    )
    env = {k: v for k, v in {**os.environ, **cluster.client_env()}.items() if v is not None}
    done = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", command],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "cannot see the workspace" in done.stderr
    assert "Nothing was run" in done.stderr
    assert cluster.runs(salt) == {}
    assert not workspace.exists()  # nothing was written where the workers could see it


def test_an_adaptive_cluster_grows_to_its_maximum_during_a_build(
    cluster: Cluster, salt: str, tasks: Any, tmp_path: Path
) -> None:
    import distributed

    cluster_tasks = tasks

    with (
        distributed.LocalCluster(
            n_workers=0, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as local,
        distributed.Client(local) as client,
    ):
        local.adapt(minimum=0, maximum=2, interval="200ms", wait_count=50, target_duration="1s")
        seen: list[int] = []
        stop = threading.Event()

        def watch() -> None:
            while not stop.is_set():
                seen.append(len(client.scheduler_info()["workers"]))
                time.sleep(0.1)

        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            value = cairn.build(
                cluster_tasks.Fan(salt=salt, n=8, seconds=1.0),
                workspace=str(tmp_path / "ws"),
                executor=client,
                summary=False,
            )
        finally:
            stop.set()
            watcher.join()
    assert value == [i * i for i in range(8)]
    assert max(seen) == 2, seen
    assert sum(cluster.runs(salt).values()) == 9


def test_secret_storage_options_stay_on_the_client_unless_asked_for(
    cluster: Cluster, salt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cairn.executors._dask import DaskExecutor
    from cairn.executors._remote import unpack
    from cairn.storage.store import FsspecStore

    monkeypatch.syspath_prepend(str(cluster.client_path))
    monkeypatch.setenv("CAIRN_TEST_REDIS", cluster.redis.url)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)  # this client has only its storage_options
    monkeypatch.delenv("CAIRN_SHIP_CREDENTIALS", raising=False)
    import cluster_tasks

    secret = f"secret-{salt}"
    options = {"key": f"key-{salt}", "secret": secret, "endpoint_url": cluster.moto.endpoint}
    sent: list[bytes] = []

    class Spy(DaskExecutor):
        """Keeps every payload sent to the workers."""

        def _start(self, job: Any) -> None:
            sent.append(job.data)
            super()._start(job)

    workspace = cluster.bucket()
    with Spy(address=cluster.scheduler) as executor:
        value = cairn.build(
            cluster_tasks.Fan(salt=salt, n=2),
            workspace=workspace,
            storage_options=options,
            executor=executor,
            summary=False,
        )
    assert value == [0, 1]  # the workers wrote with the credentials of their own environment
    assert len(sent) == 3
    assert not [data for data in sent if secret.encode() in data or b"key-" + salt.encode() in data]
    _, args, _ = unpack(sent[0])
    (store,) = [a for a in args if isinstance(a, FsspecStore)]
    assert store.storage_options == {"endpoint_url": cluster.moto.endpoint}
    import s3fs

    fs = s3fs.S3FileSystem(skip_instance_cache=True, **cluster.moto.storage_options)
    stored = fs.cat(fs.find(workspace.removeprefix("s3://")))
    assert stored and not [p for p, data in stored.items() if secret.encode() in data]

    monkeypatch.setenv("CAIRN_SHIP_CREDENTIALS", "1")  # opted in: the secrets travel
    sent.clear()
    with Spy(address=cluster.scheduler) as executor:
        cairn.build(
            cluster_tasks.Fan(salt=salt, n=3),
            workspace=workspace,
            storage_options=options,
            executor=executor,
            summary=False,
        )
    assert sent and all(secret.encode() in data for data in sent)
