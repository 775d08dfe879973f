"""In-process executors: inline (one task at a time, in the caller's thread) and threads."""

from __future__ import annotations

import concurrent.futures as cf
import os
from collections.abc import Callable, Collection
from typing import Any

from cairn.executors import BaseExecutor

__all__ = ["InlineExecutor", "ThreadExecutor"]


class InlineExecutor(BaseExecutor):
    """Runs each task in the calling thread, the moment it is submitted.

    On Ctrl-C the running task itself receives the ``KeyboardInterrupt``.
    """

    capacity = 1
    on_interrupt = "cancel"

    def __init__(self, workers: int | None = None) -> None:
        del workers  # one at a time, by definition

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> cf.Future[Any]:
        future: cf.Future[Any] = cf.Future()
        try:
            future.set_result(fn(*args))
        except Exception as exc:  # the loop reports it as the task's failure
            future.set_exception(exc)
        return future

    def wait(self, futures: Collection[Any], timeout: float | None) -> set[Any]:
        return {f for f in futures if f.done()}

    def close(self, cancel: bool = False) -> None:
        pass

    def __enter__(self) -> InlineExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ThreadExecutor(BaseExecutor):
    """Runs tasks on a pool of threads in this process (``workers``, default: CPU count).

    On Ctrl-C running tasks finish (a thread cannot be stopped from outside).
    """

    on_interrupt = "finish"

    def __init__(self, workers: int | None = None) -> None:
        self.capacity = workers or os.cpu_count() or 1
        self._pool = cf.ThreadPoolExecutor(self.capacity, thread_name_prefix="cairn")

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> cf.Future[Any]:
        return self._pool.submit(fn, *args)

    def wait(self, futures: Collection[Any], timeout: float | None) -> set[Any]:
        done, _ = cf.wait(futures, timeout=timeout, return_when=cf.FIRST_COMPLETED)
        return done

    def cancel(self, futures: Collection[Any]) -> None:
        for future in futures:
            future.cancel()  # only those not started yet: running threads cannot be stopped

    def close(self, cancel: bool = False) -> None:
        self._pool.shutdown(wait=not cancel, cancel_futures=cancel)

    def __enter__(self) -> ThreadExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close(cancel=exc[0] is not None)
