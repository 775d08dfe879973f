"""The Dask executor: each task runs on a worker of a ``dask.distributed`` cluster.

The cluster is, in order: the ``distributed.Client`` given, the scheduler at ``address``
(``"tcp://host:8786"``; also from ``executor="dask://host:8786"``), the scheduler Dask's own
configuration names (``scheduler-address``, or the environment variable
``DASK_SCHEDULER_ADDRESS``), or a ``LocalCluster`` of ``workers`` single-threaded worker
processes started here and stopped at the end. Nothing connects until a task is to run: a
build that finds everything complete never reaches the cluster.

A task runs on a worker and reads its inputs from, and writes its outputs to, the store
itself: on a cluster of several machines the workspace must be a store they all reach
(``s3://``, ``gs://``, a shared file system mounted at the same path). Before the first task
of a store is sent, the client writes a probe file with a random token into it and every
worker reads it back (:func:`cairn.executors._dask_worker.read_probe`); a worker that cannot
fails the build with :class:`~cairn.ConfigError` before any ``run()``.

Every ready task is submitted at once, up to ``max_submitted`` (or ``workers``, when given),
so Dask schedules them and an adaptive cluster sees the whole queue and grows. Tasks go to
the scheduler in batches (one ``client.map`` per batch) and their replies come back in
batches (one ``gather`` for those finished together). A store travels to the workers
without its secret storage options (:func:`cairn.storage.store.shareable_options`): the
workers use the credentials of their own environment.

A worker that dies while running a task is Dask's to handle: the scheduler runs the task
again elsewhere up to ``distributed.scheduler.allowed-failures`` times, then reports
``KilledWorker``, which fails the task with :class:`~cairn.WorkerLostError`. A task whose
worker died after it finished, but before its reply was fetched, runs again: ``run()`` runs
at least once, and the second run's outputs and record replace the first's whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import uuid
from collections.abc import Callable, Collection
from typing import Any

from cairn._errors import ConfigError, MissingExtraError, WorkerLostError
from cairn.executors._dask_worker import PROBE_DIR, read_probe
from cairn.executors._remote import Job, RemoteExecutor, cancel_job, cancel_running, run_packed
from cairn.storage.store import FsspecStore, LocalStore, Store

__all__ = ["DEFAULT_MAX_SUBMITTED", "DaskExecutor"]

#: How many tasks are submitted to the cluster at most at once (the rest wait in the
#: build's own queue). Large enough that an adaptive cluster sees its whole backlog.
DEFAULT_MAX_SUBMITTED = 10_000


#: How many queued tasks are sent to the scheduler in one message at most.
_BATCH = 250


def _distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise MissingExtraError.for_module("distributed", "dask", "executor='dask'") from exc
    return distributed


def configured_address() -> str | None:
    """The scheduler Dask's configuration names (``scheduler-address`` or
    ``DASK_SCHEDULER_ADDRESS``), or None."""
    import dask

    address = dask.config.get("scheduler-address", None) or dask.config.get(
        "scheduler_address", None
    )
    return str(address) if address else None


class DaskExecutor(RemoteExecutor):
    """Runs tasks on a Dask cluster: a client, a scheduler address, or a new local cluster."""

    def __init__(
        self,
        workers: int | None = None,
        address: Any = None,
        client: Any = None,
        max_submitted: int | None = None,
    ) -> None:
        super().__init__()
        distributed = _distributed()
        self._killed_worker = distributed.KilledWorker
        if client is None and address is not None and not isinstance(address, str):
            client = address  # a Client passed as the address
        if address is None and client is None:
            address = configured_address()
        if max_submitted is not None and (not isinstance(max_submitted, int) or max_submitted < 1):
            raise ConfigError(f"max_submitted must be a positive integer, not {max_submitted!r}")
        self._address: str | None = address if isinstance(address, str) else None
        self._cluster: Any = None
        self._client: Any = client
        self._own_client = client is None
        self._workers = workers
        self._max_submitted = max_submitted or DEFAULT_MAX_SUBMITTED
        self._probed: set[str] = set()
        self._outbox: list[Job] = []

    @property
    def client(self) -> Any:
        """The ``distributed.Client``, connected (and the local cluster started) on first use."""
        if self._client is None:
            self._client = self._connect()
        return self._client

    def _connect(self) -> Any:
        distributed = _distributed()
        target: Any = self._address
        if target is None:
            self._cluster = distributed.LocalCluster(
                n_workers=self._workers or os.cpu_count() or 1,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
                preload=["cairn.executors._dask_worker"],
            )
            target = self._cluster
        try:
            return distributed.Client(target)
        except (OSError, TimeoutError) as exc:
            if self._cluster is not None:
                self._cluster.close()
                self._cluster = None
            raise ConfigError(
                f"cannot reach the Dask scheduler at {target!r}: {exc}. Check the address "
                "(executor='dask://HOST:PORT', DASK_SCHEDULER_ADDRESS); start a scheduler with "
                "'dask scheduler' and workers with 'dask worker ADDRESS'."
            ) from exc

    @property
    def capacity(self) -> int:  # type: ignore[override]
        """How many tasks may be submitted at once: ``workers`` if given, else
        ``max_submitted`` (Dask queues them and spreads them over the workers it has)."""
        return self._workers if self._workers is not None else self._max_submitted

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Any:
        """Send ``fn(*args)`` to the cluster; first check the workers see each store in ``args``.

        Raises:
            ConfigError: when a worker cannot read the store's probe file.
        """
        for arg in args:
            if isinstance(arg, LocalStore | FsspecStore):
                self._probe(arg)
        return super().submit(fn, *args)

    def _probe(self, store: Store) -> None:
        """Check once per store that every worker reads what the client just wrote there."""
        if store.url in self._probed:
            return
        client = self.client
        token = uuid.uuid4().hex
        path = f"{PROBE_DIR}/{token}"
        store.write_bytes(path, token.encode())
        try:
            if client.scheduler_info().get("workers"):
                answers = client.run(read_probe, store, path, token)
            else:  # an adaptive cluster with no worker yet: one task makes it start one
                future = client.submit(read_probe, store, path, token, pure=False)
                answers = {"the first worker": future.result()}
        finally:
            with contextlib.suppress(Exception):
                store.delete(path)
        blind = {worker: why for worker, why in answers.items() if why is not None}
        if blind:
            worker, why = next(iter(sorted(blind.items())))
            local = isinstance(store, LocalStore) or store.url.startswith("memory://")
            advice = (
                "A workspace on this machine's disk (or in its memory) is only visible to "
                "workers on this machine that see the same files. Use a store every worker "
                "reaches (s3://bucket/prefix, gs://..., or a shared file system mounted at "
                "the same path on every machine), or run the workers here."
                if local
                else "Check that the workers have the credentials and network access to reach "
                "it (their own environment: AWS_* variables, instance roles, config files)."
            )
            raise ConfigError(
                f"{len(blind)} of {len(answers)} Dask worker(s) cannot see the workspace "
                f"{store.url}: {worker} {why}. Nothing was run. {advice}"
            )
        self._probed.add(store.url)

    def _start(self, job: Job) -> None:
        """Queue ``job``; it is sent with the others queued when the build next waits, or
        as soon as a batch is full (so workers start while the rest is being packed)."""
        self._outbox.append(job)
        if len(self._outbox) >= _BATCH:
            self._flush()

    def _flush(self) -> None:
        """Send every queued job in one message to the scheduler (``client.map``), and
        collect their replies in batches on a thread of their own.

        One message per task and one round trip per reply cost more than the tasks of a
        wide graph: sent and gathered together, they cost what Dask's own ``map`` and
        ``gather`` do.
        """
        if not self._outbox:
            return
        jobs, self._outbox = self._outbox, []
        handles = self.client.map(
            run_packed,
            [job.data for job in jobs],
            [job.id for job in jobs],
            key=[f"cairn-{job.name}-{job.id}" for job in jobs],
            pure=False,
        )
        for job, handle in zip(jobs, handles, strict=True):
            job.handle = handle
        collector = threading.Thread(
            target=self._collect, args=(jobs,), name="cairn-dask-replies", daemon=True
        )
        collector.start()

    def _collect(self, jobs: list[Job]) -> None:
        """On a thread: as tasks of ``jobs`` end, fetch the replies of those done together
        (one ``gather``) and post each job's event for :meth:`wait`."""
        distributed = _distributed()
        by_handle = {job.handle: job for job in jobs}
        for batch in distributed.as_completed(list(by_handle)).batches():
            finished = [h for h in batch if h.status == "finished"]
            replies: dict[Any, tuple[str, Any]] = {}
            if finished:
                try:
                    values = self.client.gather(finished)
                    replies.update((h, ("ok", v)) for h, v in zip(finished, values, strict=True))
                except BaseException:  # one of them was lost meanwhile: one at a time
                    pass
            for handle in batch:
                if handle not in replies:
                    replies[handle] = self._reply_of(handle)
                job = by_handle[handle]
                job.extra["reply"] = replies[handle]
                self._post(job, handle)

    @staticmethod
    def _reply_of(handle: Any) -> tuple[str, Any]:
        try:
            return "ok", handle.result()
        except BaseException as exc:  # cancelled, or the worker died: _handle sorts it out
            return "error", exc

    def wait(self, futures: Collection[Any], timeout: float | None) -> set[Any]:
        """Send what is queued, then wait as :meth:`RemoteExecutor.wait` does."""
        self._flush()
        return super().wait(futures, timeout)

    def _handle(self, job: Job, handle: Any) -> None:
        kind, value = job.extra.pop("reply")
        if kind == "ok":
            self._settle(job, value)
        elif handle.status == "cancelled" or isinstance(value, asyncio.CancelledError):
            cancel_job(job)
        elif isinstance(value, self._killed_worker) or handle.status == "lost":
            job.future.set_exception(self._lost(job, value))
        else:
            job.future.set_exception(value)

    def _lost(self, job: Job, error: BaseException) -> WorkerLostError:
        return WorkerLostError(
            f"the Dask worker running {job.extra['describe']} died ({error}). The task's "
            "outputs were not recorded; build again to retry it, or set retries."
        )

    def cancel(self, futures: Collection[Any]) -> None:
        """Cancel the tasks of ``futures``; those running on workers are stopped there too."""
        jobs = self._running_jobs(futures)
        queued = [j for j in jobs if j.handle is None]  # never sent: nothing to stop there
        self._outbox = [j for j in self._outbox if j not in queued]
        jobs = [j for j in jobs if j.handle is not None]
        for job in queued:
            cancel_job(job)
        if jobs:
            self.client.cancel([j.handle for j in jobs], force=True)
            with contextlib.suppress(Exception):  # stop them on the workers too, if reachable
                self.client.run(cancel_running, [j.id for j in jobs])
        for job in jobs:
            cancel_job(job)

    def close(self, cancel: bool = False) -> None:
        """Release the cluster: close the client and local cluster if this executor made them."""
        if self._client is None:
            return  # never connected
        if cancel:
            self.cancel(list(self._jobs))
        if self._own_client:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None
