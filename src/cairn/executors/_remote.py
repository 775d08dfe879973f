"""Running tasks in other processes: what travels there and back, and the shared executor base.

:func:`pack` turns a call into bytes with cloudpickle, so tasks and functions defined in
``__main__`` or a notebook travel by value. Tasks are written *flat*: each task once, with
references to the tasks it holds (parameters, requirements) in place of nested copies, so a
deep graph neither recurses nor grows with its depth squared. The tasks being run travel
whole; the others (their inputs) without their own requirement caches, since a worker only
needs their ids and outputs. The code fingerprint of a task's class travels with it, so the
run record written on the worker holds the fingerprint the task id was made from, even for a
class whose source the worker cannot read.

:func:`run_packed` runs on the worker and never raises: it returns packed ``("ok", value)``
or ``("error", summary, traceback text, packed exception)``.

:class:`RemoteExecutor` is the base of the process and Dask executors. The futures it hands
out are completed in :meth:`RemoteExecutor.wait`, in the scheduling loop's thread, from
events the backend reports; a backend failure (a dead worker) is sorted out there.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import contextlib
import ctypes
import io
import itertools
import linecache
import os
import pickle
import queue
import select
import signal
import threading
import time
import traceback
import types
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, ClassVar, NoReturn

import cloudpickle
from cloudpickle.cloudpickle import _should_pickle_by_reference

from cairn._errors import CairnError
from cairn.executors import BaseExecutor
from cairn.identity.fingerprint import remember
from cairn.model.runtime import delegated_requirements
from cairn.model.task import Task

__all__ = [
    "Job",
    "RemoteError",
    "RemoteExecutor",
    "RemoteTraceback",
    "cancel_job",
    "cancel_running",
    "init_process_worker",
    "pack",
    "run_packed",
    "unpack",
    "worker_pid",
]

#: Task attributes a task that is not itself being run does not need on the worker (sent
#: as None: not computed yet).
_SLIM = frozenset({"_req_cache", "_deps_cache"})


class RemoteTraceback(Exception):
    """The traceback, as text, of an exception raised in another process."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return self.text


class RemoteError(Exception):
    """An exception raised in a worker that could not be sent back as itself."""


def _code_with_origin(
    rebuild: Callable[..., types.CodeType],
    args: tuple[Any, ...],
    filename: str,
    source: tuple[int, list[str]] | None,
) -> types.CodeType:
    """Rebuild a code object pickled by value, under the file name it was defined in.

    The source lines travel along for a worker that cannot read the file, so a traceback
    there still shows the user's line.
    """
    code = rebuild(*args).replace(co_filename=filename)
    if source is not None and filename not in linecache.cache and not os.path.exists(filename):
        size, lines = source
        linecache.cache[filename] = (size, None, lines, filename)
    return code


def _source_of(filename: str) -> tuple[int, list[str]] | None:
    """The lines of ``filename`` as linecache holds them, or None for a pseudo-file."""
    if filename.startswith("<") and filename not in linecache.cache:
        return None
    lines = linecache.getlines(filename)
    if not lines:
        return None
    return sum(len(line) for line in lines), lines


def _reduce_code(code: types.CodeType) -> tuple[Any, ...]:
    """cloudpickle's reduction of a code object, keeping the file name it drops.

    cloudpickle (3.1 and later) writes code pickled by value under ``<dynamic-code>``, so a
    traceback from a worker would lose the file, line and source of a task defined in a
    script or notebook.
    """
    rebuild, args = _CLOUDPICKLE_TABLE[types.CodeType](code)
    filename = code.co_filename
    return _code_with_origin, (rebuild, args, filename, _source_of(filename))


_CLOUDPICKLE_TABLE = cloudpickle.Pickler.dispatch_table


class _ByValue(cloudpickle.Pickler):  # type: ignore[misc]
    """cloudpickle that keeps the file names of code pickled by value."""

    dispatch_table: ClassVar[Mapping[type, Any]] = collections.ChainMap(
        {types.CodeType: _reduce_code}, _CLOUDPICKLE_TABLE
    )

    def __init__(self, file: io.BytesIO) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)


#: Task classes that arrived by value, by the bytes they arrived as (on a worker).
_arrived: dict[bytes, type] = {}
_arrived_lock = threading.Lock()


def _class_by_value(blob: bytes) -> type:
    """The task class pickled by value in ``blob``, loaded once per process."""
    cls = _arrived.get(blob)
    if cls is None:
        with _arrived_lock:
            cls = _arrived.get(blob)
            if cls is None:
                cls = _arrived[blob] = pickle.loads(blob)
    return cls


class _Pickler(_ByValue):
    """cloudpickle that writes each task once, as a reference resolved after loading.

    A task class that must travel by value (defined in ``__main__`` or a notebook) is
    pickled once per executor (``blobs``) and loaded once per worker process, not with
    every task.
    """

    def __init__(self, file: io.BytesIO, blobs: dict[type, bytes] | None = None) -> None:
        super().__init__(file)
        self.index: dict[int, int] = {}
        self.tasks: list[Task[Any]] = []
        self.blobs = blobs

    def reducer_override(self, obj: Any) -> Any:
        if (
            self.blobs is not None
            and isinstance(obj, type)
            and issubclass(obj, Task)
            and not _should_pickle_by_reference(obj)
        ):
            blob = self.blobs.get(obj)
            if blob is None:
                buffer = io.BytesIO()
                _ByValue(buffer).dump(obj)
                blob = self.blobs[obj] = buffer.getvalue()
            return _class_by_value, (blob,)
        return super().reducer_override(obj)

    def persistent_id(self, obj: Any) -> Any:
        if not isinstance(obj, Task):
            return None
        index = self.index.get(id(obj))
        if index is None:
            index = self.index[id(obj)] = len(self.tasks)
            self.tasks.append(obj)
        return (index, type(obj))


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO) -> None:
        super().__init__(file)
        self.shells: dict[int, Task[Any]] = {}

    def persistent_load(self, pid: Any) -> Any:
        index, cls = pid
        shell = self.shells.get(index)
        if shell is None:
            shell = self.shells[index] = cls.__new__(cls)
        return shell


def pack(
    obj: Any, roots: Iterable[Task[Any]] = (), blobs: dict[type, bytes] | None = None
) -> bytes:
    """Serialise ``obj``; tasks in ``roots`` travel whole, other tasks without their inputs.

    ``blobs`` caches the pickled task classes that travel by value, from one call to the next.
    """
    buffer = io.BytesIO()
    pickler = _Pickler(buffer, blobs)
    whole = {id(t) for t in roots}
    pickler.dump(obj)
    done = 0
    while done < len(pickler.tasks):  # tasks found while writing add more to the list
        task = pickler.tasks[done]
        if id(task) in whole:
            state = task.__dict__
        else:
            if task._id is not None:  # (a task without an id travels to get one made there)
                task._outputs()  # computed here: the worker never calls output() without inputs
            state = {k: None if k in _SLIM else v for k, v in task.__dict__.items()}
        pickler.dump((done, state))
        done += 1
    pickler.dump(None)
    return buffer.getvalue()


def unpack(data: bytes) -> Any:
    """Load what :func:`pack` wrote, with every task rebuilt and linked."""
    unpickler = _Unpickler(io.BytesIO(data))
    obj = unpickler.load()
    while (item := unpickler.load()) is not None:
        index, state = item
        unpickler.shells[index].__dict__.update(state)
    return obj


# --- the worker side ----------------------------------------------------------------------

#: Set by :func:`init_process_worker` in a process-pool worker: where it notes its current job.
_job_dir: str | None = None
_running = False
CANCELLED_EXIT = 143  # 128 + SIGTERM, as a shell reports a process that ended on SIGTERM


class _Cancelled(BaseException):
    """Raised in a running task when its worker is told to stop (SIGTERM)."""


def _note(text: str, mode: str = "w") -> None:
    if _job_dir is not None:
        with open(os.path.join(_job_dir, str(os.getpid())), mode) as file:
            file.write(text)


def _exit_cancelled() -> NoReturn:
    _note("\n!cancelled", "a")
    os._exit(CANCELLED_EXIT)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    if _running:
        raise _Cancelled  # unwinds the task: a write in progress removes its temporary file
    _exit_cancelled()


def init_process_worker(job_dir: str, parent: int | None = None) -> None:
    """Set up a process-pool worker: Ctrl-C is the parent's to handle; SIGTERM cancels.

    With ``parent`` (the pid of the process that runs the build), the worker ends when that
    process does, however it ends (SIGKILL included): a thread waits for it to exit, then
    cancels the task running here (its writes clean up after themselves) and exits.
    """
    global _job_dir
    _job_dir = job_dir
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _on_sigterm)
    if parent is not None:
        threading.Thread(
            target=_end_with, args=(parent,), name="cairn-parent-watch", daemon=True
        ).start()


#: Seconds a worker whose parent died gives its running task to unwind before it exits.
ORPHAN_GRACE = 3.0
#: Seconds between two looks at the parent where the system cannot signal its exit.
PARENT_POLL = 0.5


def _end_with(parent: int) -> None:
    """Wait until process ``parent`` exits, then cancel what runs here and exit."""
    _wait_for_exit(parent)
    with contextlib.suppress(OSError):
        os.kill(os.getpid(), signal.SIGTERM)  # unwinds a running task, or exits when idle
    time.sleep(ORPHAN_GRACE)
    os._exit(CANCELLED_EXIT)


def _wait_for_exit(pid: int) -> None:
    """Return once process ``pid`` has exited: at once on Linux (a pidfd becomes readable),
    else within :data:`PARENT_POLL` seconds."""
    opener = getattr(os, "pidfd_open", None)
    if opener is not None:
        try:
            fd = opener(pid)
        except ProcessLookupError:
            return
        except OSError:
            pass
        else:
            try:
                select.select([fd], [], [])
            finally:
                os.close(fd)
            return
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        except PermissionError:
            pass  # alive, another user's: a recycled pid, or ours under another uid
        time.sleep(PARENT_POLL)


def worker_pid() -> int:
    """A no-op for a worker to run: its pid (the process executor starts workers with it)."""
    return os.getpid()


def _pack_error(exc: BaseException) -> bytes:
    summary = f"{type(exc).__module__}.{type(exc).__qualname__}: {exc}"
    text = "".join(traceback.format_exception(exc))
    try:
        packed: bytes | None = pack(exc)
    except Exception:
        packed = None
    return pack(("error", summary, text, packed))


def run_packed(data: bytes, job: str = "") -> bytes:
    """Run a packed ``(fn, args, fingerprints)`` call on a worker; return the packed outcome."""
    global _running
    _note(job)
    try:
        try:
            fn, args, fingerprints = unpack(data)
        except Exception as exc:
            raise CairnError(
                f"the worker cannot load the task ({type(exc).__name__}: {exc}). Tasks defined "
                "in the script you run travel with it; a module that defines tasks must be "
                "importable on the worker too (installed there, or on its PYTHONPATH)"
            ) from exc
        for cls, fingerprint in fingerprints:
            remember(cls, fingerprint)
        with _threads_lock:
            _threads[job] = threading.get_ident()
        _running = True
        delegated = delegated_requirements.set({})  # the client decides dynamic ids
        try:
            value = fn(*args)
        finally:
            delegated_requirements.reset(delegated)
            _running = False
            with _threads_lock:
                _threads.pop(job, None)
        return pack(("ok", value))
    except _Cancelled as exc:
        if _job_dir is not None:  # a process-pool worker: it was told to exit
            _exit_cancelled()
        return _pack_error(exc)  # a Dask worker thread: the worker goes on
    except BaseException as exc:  # the task's failure travels back; the worker lives on
        return _pack_error(exc)


#: Jobs running in this process, by id: the thread that runs each.
_threads: dict[str, int] = {}
_threads_lock = threading.Lock()


def cancel_running(jobs: list[str]) -> int:
    """Raise :class:`_Cancelled` in the threads of this process running ``jobs``.

    Run on Dask workers (``client.run``) to stop tasks there: the exception arrives between
    two bytecodes of the task, which then unwinds like on Ctrl-C (a write in progress removes
    its temporary file). Returns how many were found here.
    """
    found = 0
    with _threads_lock:  # a job leaves _threads under this lock, so it is still running
        for job in jobs:
            ident = _threads.get(job)
            if ident is not None:
                found += ctypes.pythonapi.PyThreadState_SetAsyncExc(
                    ctypes.c_ulong(ident), ctypes.py_object(_Cancelled)
                )
    return found


def outcome_of(data: bytes) -> tuple[Any, BaseException | None]:
    """Return ``(value, None)`` or ``(None, exception)`` for what :func:`run_packed` returned."""
    reply = unpack(data)
    if reply[0] == "ok":
        return reply[1], None
    _, summary, text, packed = reply
    error: BaseException | None = None
    if packed is not None:
        try:
            error = unpack(packed)
        except Exception:
            error = None
    if error is None:
        error = RemoteError(summary)
    error.__cause__ = RemoteTraceback(text)
    return None, error


# --- the executor base --------------------------------------------------------------------


@dataclass(eq=False)
class Job:
    """One submitted call: the future the loop holds, what to send, and the backend's handle."""

    future: cf.Future[Any]
    data: bytes
    id: str
    name: str
    handle: Any = None
    restarts: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def cancel_job(job: Job) -> None:
    """Mark ``job``'s future cancelled (if it is not done yet)."""
    if not job.future.done():
        job.future.cancel()
        job.future.set_running_or_notify_cancel()


def describe(args: tuple[Any, ...]) -> str:
    """Name the task among ``args`` (for error messages), else the call."""
    for arg in args:
        if isinstance(arg, Task):
            return repr(arg)
    return "the call"


class RemoteExecutor(BaseExecutor):
    """Base of executors whose tasks run in other processes.

    Subclasses implement :meth:`_start` (send a job; have the backend call
    ``self._post(job, handle)`` when it ends) and :meth:`_handle` (complete ``job.future``
    from that event).
    """

    #: On Ctrl-C, running tasks are cancelled rather than waited for.
    on_interrupt = "cancel"
    capacity: int

    def __init__(self) -> None:
        self._events: queue.SimpleQueue[tuple[Job, Any]] = queue.SimpleQueue()
        self._jobs: dict[cf.Future[Any], Job] = {}
        self._ids = itertools.count(1)
        self._tag = uuid.uuid4().hex[:8]  # job ids stay unique among executors on one cluster
        self._settled: set[cf.Future[Any]] = set()  # done, not yet returned by wait()
        self._blobs: dict[type, bytes] = {}  # task classes that travel by value, pickled

    def __enter__(self) -> RemoteExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close(cancel=exc[0] is not None)

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> cf.Future[Any]:
        """Send ``fn(*args)`` to a worker; return a future completed by :meth:`wait`."""
        future: cf.Future[Any] = cf.Future()
        roots = [a for a in args if isinstance(a, Task)]
        name = describe(args)
        try:
            fingerprints = [(type(t), type(t).code_fingerprint()) for t in roots]
            data = pack((fn, args, fingerprints), roots, self._blobs)
        except Exception as exc:
            future.set_exception(
                CairnError(
                    f"cannot send {name} to a worker: {type(exc).__name__}: {exc}. Everything "
                    "a task holds must be picklable (cloudpickle) to run on processes or Dask."
                )
            )
            return future
        label = type(roots[0]).__name__ if roots else getattr(fn, "__name__", "call")
        job = Job(future, data, f"{self._tag}-{next(self._ids)}", label)
        job.extra["describe"] = name
        self._jobs[future] = job
        future.add_done_callback(self._forget)
        self._start(job)
        return future

    def _post(self, job: Job, handle: Any) -> None:
        """Done-callback of a backend handle (any thread): queue the event for :meth:`wait`."""
        self._events.put((job, handle))

    def _forget(self, future: cf.Future[Any]) -> None:
        self._jobs.pop(future, None)
        self._settled.add(future)

    def wait(self, futures: Collection[Any], timeout: float | None) -> set[Any]:
        """Block until one of ``futures`` is done (or ``timeout``); return the done ones.

        Futures of this executor are known done as they complete (not by asking each of
        them on every call, which a wide graph pays for with its width squared).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        asked = set(futures)
        foreign = [f for f in asked if f not in self._jobs and f not in self._settled]
        done = self._take_done(asked, foreign)
        while not done:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                events = [self._events.get(timeout=remaining)]
            except queue.Empty:
                break
            while True:  # take whatever else has arrived meanwhile
                try:
                    events.append(self._events.get_nowait())
                except queue.Empty:
                    break
            for job, handle in events:
                # a stale event (the job was cancelled, or sent again since) is dropped;
                # handling one event may make a later one stale (a broken pool resends jobs)
                if not job.future.done() and handle is job.handle:
                    self._handle(job, handle)
            done = self._take_done(asked, foreign)
        return done

    def _take_done(self, asked: set[Any], foreign: list[Any]) -> set[Any]:
        """The futures of ``asked`` that are done, no longer kept as unreported."""
        if len(self._settled) <= len(asked):
            done = {f for f in self._settled if f in asked}
        else:
            done = {f for f in asked if f in self._settled}
        self._settled -= done
        done.update(f for f in foreign if f.done())
        return done

    def _settle(self, job: Job, data: bytes) -> None:
        try:
            value, error = outcome_of(data)
        except Exception as exc:
            what = job.extra["describe"]
            value, error = None, CairnError(f"cannot read the result of {what}: {exc}")
        if error is None:
            job.future.set_result(value)
        else:
            job.future.set_exception(error)

    def _running_jobs(self, futures: Collection[Any]) -> list[Job]:
        return [j for f in futures if (j := self._jobs.get(f)) is not None and not f.done()]

    def _start(self, job: Job) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _handle(self, job: Job, handle: Any) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def close(self, cancel: bool = False) -> None:  # pragma: no cover - abstract
        raise NotImplementedError
