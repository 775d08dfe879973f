"""The Dask executor: each task runs on a worker of a ``dask.distributed`` cluster.

The cluster is, in order: the ``distributed.Client`` given, the scheduler at ``address``
(``"tcp://host:8786"``), or a ``LocalCluster`` of ``workers`` single-threaded worker
processes started here and stopped at the end. A task runs on a worker and reads its inputs
from, and writes its outputs to, the store itself: on a cluster of several machines the
workspace must be a store they all reach (``s3://``, ``gs://``, a shared file system).

A worker that dies while running a task is Dask's to handle: the scheduler runs the task
again elsewhere up to ``distributed.scheduler.allowed-failures`` times, then reports
``KilledWorker``, which fails the task with :class:`~cairn.WorkerLostError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Collection
from typing import Any

from cairn._errors import ConfigError, MissingExtraError, WorkerLostError
from cairn.executors._remote import Job, RemoteExecutor, cancel_job, cancel_running, run_packed

__all__ = ["DaskExecutor"]

#: Seconds between refreshes of the cluster's thread count (clusters may scale).
_REFRESH = 2.0


def _distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise MissingExtraError.for_module("distributed", "dask", "executor='dask'") from exc
    return distributed


class DaskExecutor(RemoteExecutor):
    """Runs tasks on a Dask cluster: a client, a scheduler address, or a new local cluster."""

    def __init__(self, workers: int | None = None, address: Any = None, client: Any = None) -> None:
        super().__init__()
        distributed = _distributed()
        self._killed_worker = distributed.KilledWorker
        if client is None and address is not None and not isinstance(address, str):
            client = address  # a Client passed as the address
        self._cluster: Any = None
        self._own_client = client is None
        if client is None:
            if address is None:
                self._cluster = distributed.LocalCluster(
                    n_workers=workers or os.cpu_count() or 1,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=":0",
                    preload=["cairn.executors._dask_worker"],
                )
                address = self._cluster
            try:
                client = distributed.Client(address)
            except OSError as exc:
                if self._cluster is not None:
                    self._cluster.close()
                raise ConfigError(
                    f"cannot reach the Dask scheduler at {address!r}: {exc}. Start one with "
                    "'dask scheduler' and workers with 'dask worker ADDRESS'."
                ) from exc
        self.client = client
        self._workers = workers
        self._capacity = 1
        self._checked = float("-inf")

    @property
    def capacity(self) -> int:  # type: ignore[override]
        """How many tasks may run at once: ``workers`` if given, else the cluster's threads."""
        if self._workers is not None:
            return self._workers
        now = time.monotonic()
        if now - self._checked > _REFRESH:
            self._checked = now
            with contextlib.suppress(Exception):  # keep the last value if the scheduler is busy
                self._capacity = max(1, sum(self.client.nthreads().values()))
        return self._capacity

    def _start(self, job: Job) -> None:
        handle = self.client.submit(
            run_packed, job.data, job.id, key=f"cairn-{job.name}-{job.id}", pure=False
        )
        job.handle = handle
        self.client.loop.add_callback(self._fetch, job, handle)

    async def _fetch(self, job: Job, handle: Any) -> None:
        """On the client's event loop: wait for the task, fetch its reply, post the event.

        Every running task is fetched concurrently, so the scheduling loop's thread never
        waits a round trip to the cluster for one result while others are ready.
        """
        try:
            reply: tuple[str, Any] = ("ok", await self.client.gather(handle, asynchronous=True))
        except BaseException as exc:  # cancelled, or the worker died: _handle sorts it out
            reply = ("error", exc)
        job.extra["reply"] = reply
        self._post(job, handle)

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
        if jobs:
            self.client.cancel([j.handle for j in jobs], force=True)
            with contextlib.suppress(Exception):  # stop them on the workers too, if reachable
                self.client.run(cancel_running, [j.id for j in jobs])
        for job in jobs:
            cancel_job(job)

    def close(self, cancel: bool = False) -> None:
        """Release the cluster: close the client and local cluster if this executor made them."""
        if cancel:
            self.cancel(list(self._jobs))
        if self._own_client:
            self.client.close()
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None
