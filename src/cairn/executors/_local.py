"""In-process executors: inline (one task at a time, in the caller's thread) and threads."""

from __future__ import annotations

import os
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any

from cairn.executors import BaseExecutor

if TYPE_CHECKING:
    import concurrent.futures as cf

__all__ = ["InlineExecutor", "ThreadExecutor"]


class Finished:
    """The future of a call that has been made: its value, or the exception it raised.

    What the inline executor hands out (a ``concurrent.futures.Future`` would cost a lock
    and a condition per task, and an import when nothing runs at all).
    """

    __slots__ = ("_error", "_value")

    def __init__(self, value: Any = None, error: BaseException | None = None) -> None:
        self._value = value
        self._error = error

    def done(self) -> bool:
        return True

    def cancelled(self) -> bool:
        return False

    def cancel(self) -> bool:
        return False  # it has run already

    def result(self, timeout: float | None = None) -> Any:
        if self._error is not None:
            raise self._error
        return self._value

    def exception(self, timeout: float | None = None) -> BaseException | None:
        return self._error

    def add_done_callback(self, fn: Callable[[Finished], object]) -> None:
        fn(self)  # done already: called at once, as concurrent.futures does


class InlineExecutor(BaseExecutor):
    """Runs each task in the calling thread, the moment it is submitted.

    On Ctrl-C the running task itself receives the ``KeyboardInterrupt``.
    """

    capacity = 1
    on_interrupt = "cancel"

    def __init__(self, workers: int | None = None) -> None:
        del workers  # one at a time, by definition

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Finished:
        try:
            return Finished(fn(*args))
        except Exception as exc:  # the loop reports it as the task's failure
            return Finished(error=exc)

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
        import concurrent.futures as cf

        self._cf = cf
        self.capacity = workers or os.cpu_count() or 1
        self._pool = cf.ThreadPoolExecutor(self.capacity, thread_name_prefix="cairn")

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> cf.Future[Any]:
        return self._pool.submit(fn, *args)

    def wait(self, futures: Collection[Any], timeout: float | None) -> set[Any]:
        cf = self._cf
        done: set[Any] = cf.wait(futures, timeout=timeout, return_when=cf.FIRST_COMPLETED)[0]
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
