"""The process executor: tasks run in a pool of worker processes, reused across tasks.

Workers start with ``forkserver`` where the platform has it, else ``spawn``: both are safe in
a program that runs threads, unlike ``fork``. A program that builds on processes therefore
needs the usual ``if __name__ == "__main__":`` guard around its entry point. Tasks travel by
cloudpickle (see :mod:`cairn.executors._remote`), so classes defined in ``__main__`` or a
notebook work.

A worker that dies (SIGKILL, a segfault, the out-of-memory killer) breaks a
``ProcessPoolExecutor`` for every task in it. Each worker notes the job it is running in a
file named after its pid; a worker stopped by the pool on purpose (SIGTERM) marks that file
before it exits. When the pool breaks, the job whose worker left no mark is the one that
died: it fails with :class:`~cairn.WorkerLostError`. The others are sent again to a fresh
pool, at most ``MAX_RESTARTS`` times each.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import multiprocessing
import os
import shutil
import signal
import tempfile
import threading
import weakref
from collections.abc import Collection
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from typing import Any

from cairn._errors import ConfigError, WorkerLostError
from cairn.executors._remote import (
    Job,
    RemoteExecutor,
    cancel_job,
    init_process_worker,
    run_packed,
    worker_pid,
)

__all__ = ["ProcessExecutor"]

#: How often one job may be sent again because *another* task's worker broke the pool.
MAX_RESTARTS = 3
#: Seconds a cancelled worker gets to unwind before it is killed.
CANCEL_GRACE = 5.0

_SAFE_METHODS = ("forkserver", "spawn")


class _Pool:
    """One ``ProcessPoolExecutor`` and the directory where its workers note their jobs."""

    def __init__(self, workers: int, context: Any) -> None:
        self.job_dir = tempfile.mkdtemp(prefix="cairn-workers-")
        weakref.finalize(self, shutil.rmtree, self.job_dir, True)
        self.executor = cf.ProcessPoolExecutor(
            workers,
            mp_context=context,
            initializer=init_process_worker,
            initargs=(self.job_dir, os.getpid()),
        )
        self.jobs: dict[str, Job] = {}
        #: Whether any job came back from this pool (its workers started fine).
        self.finished = False

    def start_workers(self, count: int) -> bool:
        """Start every worker now; False if they die as they start.

        The pool starts workers as jobs arrive, and its manager thread may miss the death
        of a worker started while it was between two looks (it would notice only at the
        next result, which a long task delays). Started up front, every worker is watched.
        """
        try:
            started = [self.executor.submit(worker_pid) for _ in range(count)]
            cf.wait(started)
            return all(f.exception() is None for f in started)
        except BaseException:
            self.executor.shutdown(wait=False, cancel_futures=True)
            raise

    def notes(self) -> dict[str, tuple[int, bool]]:
        """Map each job a worker noted to ``(pid, stopped on purpose)``."""
        found: dict[str, tuple[int, bool]] = {}
        with contextlib.suppress(FileNotFoundError):
            for name in os.listdir(self.job_dir):
                try:
                    with open(os.path.join(self.job_dir, name)) as file:
                        text = file.read()
                except OSError:
                    continue
                job, _, mark = text.partition("\n")
                if job:
                    found[job] = (int(name), mark == "!cancelled")
        return found

    def shutdown(self, *, wait: bool, cancel: bool) -> None:
        self.executor.shutdown(wait=wait, cancel_futures=cancel)
        if wait:
            shutil.rmtree(self.job_dir, ignore_errors=True)


def _shutdown_or_kill(pool: _Pool) -> set[int]:
    """Shut a broken pool down; kill workers still there after ``CANCEL_GRACE`` seconds.

    The pool stops its other workers with SIGTERM, which a task stuck in native code only
    sees when that code returns. Returns the pids killed here.
    """
    pids = [pid for pid, _ in pool.notes().values()]
    killed: set[int] = set()

    def kill() -> None:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)

    timer = threading.Timer(CANCEL_GRACE, kill)
    timer.daemon = True
    timer.start()
    try:
        pool.executor.shutdown(wait=True, cancel_futures=True)
    finally:
        timer.cancel()
    return killed


class ProcessExecutor(RemoteExecutor):
    """Runs tasks in ``workers`` processes (default: the CPU count), reused across tasks."""

    def __init__(self, workers: int | None = None, start_method: str | None = None) -> None:
        super().__init__()
        self.capacity = workers or os.cpu_count() or 1
        available = multiprocessing.get_all_start_methods()
        if start_method is None:
            start_method = "forkserver" if "forkserver" in available else "spawn"
        if start_method not in _SAFE_METHODS or start_method not in available:
            raise ConfigError(
                f"start_method {start_method!r} is not available for the process executor; "
                f"use one of {[m for m in _SAFE_METHODS if m in available]} ('fork' is unsafe "
                "in a program that runs threads)"
            )
        self.start_method = start_method
        self._context = multiprocessing.get_context(start_method)
        if start_method == "forkserver":  # takes effect if the forkserver is not running yet
            self._context.set_forkserver_preload(["__main__", "cairn.executors._preload"])
        self._pool: _Pool | None = None
        self._cannot_start = False

    def _start_failure(self, job: Job) -> WorkerLostError:
        return WorkerLostError(
            f"the worker processes for {job.extra['describe']} failed to start; their error "
            "output is above. A program that builds on processes needs its entry point under "
            'if __name__ == "__main__":'
        )

    def _start(self, job: Job) -> None:
        if self._cannot_start:  # workers died before running anything: do not try again
            job.future.set_exception(self._start_failure(job))
            return
        for _ in range(2):
            if self._pool is None:
                pool = _Pool(self.capacity, self._context)
                if not pool.start_workers(self.capacity):
                    pool.shutdown(wait=True, cancel=True)
                    self._cannot_start = True
                    job.future.set_exception(self._start_failure(job))
                    return
                self._pool = pool
            pool = self._pool
            try:
                handle = pool.executor.submit(run_packed, job.data, job.id)
            except BrokenProcessPool:  # broke since its last event: sort it out, then again
                self._broken(pool)
                continue
            job.handle = handle
            job.extra["pool"] = pool
            pool.jobs[job.id] = job
            handle.add_done_callback(partial(self._post, job))
            return
        job.future.set_exception(
            WorkerLostError(f"cannot start a worker process for {job.extra['describe']}")
        )

    def _handle(self, job: Job, handle: cf.Future[Any]) -> None:
        pool: _Pool = job.extra["pool"]
        pool.jobs.pop(job.id, None)
        if handle.cancelled():
            cancel_job(job)
            return
        error = handle.exception()
        if error is None:
            pool.finished = True
            self._settle(job, handle.result())
        elif isinstance(error, BrokenProcessPool):
            pool.jobs[job.id] = job
            self._broken(pool)
        else:
            job.future.set_exception(error)

    def _broken(self, pool: _Pool) -> None:
        """A worker of ``pool`` died: fail its job, send the other jobs to a new pool."""
        if self._pool is pool:
            self._pool = None
        killed = _shutdown_or_kill(pool)  # every worker has exited: their notes are final
        notes = pool.notes()
        shutil.rmtree(pool.job_dir, ignore_errors=True)
        again = []
        for job_id, job in list(pool.jobs.items()):
            del pool.jobs[job_id]
            if job.future.done() or job.extra.get("pool") is not pool:
                continue
            pid, stopped = notes.get(job_id, (None, True))
            stopped = stopped or pid in killed
            if not notes and not pool.finished:
                self._cannot_start = True
                job.future.set_exception(self._start_failure(job))
            elif not stopped:
                job.future.set_exception(
                    WorkerLostError(
                        f"the worker process running {job.extra['describe']} (pid {pid}) died "
                        "abruptly: killed by a signal, out of memory, or a crash in native "
                        "code. The task's outputs were not recorded; build again to retry it, "
                        "or set retries."
                    )
                )
            elif job.restarts >= MAX_RESTARTS:
                job.future.set_exception(
                    WorkerLostError(
                        f"{job.extra['describe']} could not finish: worker processes running "
                        f"other tasks died {job.restarts + 1} times while it ran"
                    )
                )
            else:
                again.append(job)
        for job in again:
            job.restarts += 1
            self._start(job)

    def cancel(self, futures: Collection[Any]) -> None:
        """Stop the tasks of ``futures`` now: their workers unwind and exit (then are killed)."""
        jobs = self._running_jobs(futures)
        for job in [j for j in jobs if "pool" not in j.extra]:  # Ctrl-C while it started
            cancel_job(job)
        jobs = [j for j in jobs if "pool" in j.extra]
        if not jobs:
            return
        pools = {id(j.extra["pool"]): j.extra["pool"] for j in jobs}
        if self._pool is not None and id(self._pool) in pools:
            self._pool = None
        pids: dict[str, int] = {}
        for pool in pools.values():
            pids.update({job: pid for job, (pid, _) in pool.notes().items()})
        for job in jobs:
            if job.id in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pids[job.id], signal.SIGTERM)
        handles = [j.handle for j in jobs]
        cf.wait(handles, timeout=CANCEL_GRACE)
        for job in jobs:
            if not job.handle.done() and job.id in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pids[job.id], signal.SIGKILL)
            cancel_job(job)
        for pool in pools.values():
            pool.shutdown(wait=True, cancel=True)

    def close(self, cancel: bool = False) -> None:
        """Stop the workers; ``cancel`` stops running tasks too instead of waiting for them."""
        if cancel:
            self.cancel(list(self._jobs))
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel=cancel)
