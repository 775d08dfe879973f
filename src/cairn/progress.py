"""What a build shows a person: a live display on a terminal, and a summary line at the end.

A face (the top layer, the only one that prints). ``cairn/__init__.py`` installs
:class:`Reporter` as the factory :func:`cairn.build` uses (``cairn.running.build.set_reporter``), so
the build layer never imports this module.

The live display (rich) is a header, ``cairn done 3/9 · running 2 · failed 0 · 1.4s``, then
one line per running task: its short label (the parameters that tell it from its siblings,
:mod:`cairn.model.labels`) and how long it has run. It is on when ``progress=True``, off when
``progress=False``, and with ``progress=None`` on only when standard error is a terminal and
the ``CI`` variable is not set. It is transient: when the build ends, or is interrupted, it is
erased, so no stale line stays on the screen. The one-line summary (ran, reused, failed,
time; ``all N task(s) reused`` when nothing ran) is printed to standard error after every
build unless ``summary=False``; after Ctrl-C it also lists what finished. The command line
uses the same display with its own lines and summary (``summary=False``).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any, TextIO

from cairn._errors import BuildError
from cairn.running.events import BaseListener

__all__ = ["Reporter", "live_display_wanted"]  # the summary helpers serve the faces only

#: Running tasks listed by name at most; the rest are counted.
MAX_SHOWN = 8
#: Finished tasks listed by name after Ctrl-C at most.
MAX_LISTED = 20


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def live_display_wanted(progress: bool | None, stream: TextIO) -> bool:
    """Whether to show the live display on ``stream`` for the build's ``progress`` value."""
    if progress is not None:
        return bool(progress)
    return _is_terminal(stream) and not _in_ci() and os.environ.get("TERM") != "dumb"


def _is_terminal(stream: Any) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def all_reused(outcome: Any) -> bool:
    """True when a build ran nothing, and nothing failed or was interrupted."""
    return not (outcome.ran or outcome.failed or outcome.skipped or outcome.interrupted)


def graph_size(plan: Any) -> int:
    """How many tasks the plan's roots reach, below complete tasks too (their ids are
    known already, so this asks no store). Counted with a set of ids, without ordering the
    tasks as a walk does."""
    seen: set[str] = set()
    stack = list(plan.roots)
    while stack:
        task = stack.pop()
        tid = task.task_id
        if tid not in seen:
            seen.add(tid)
            stack.extend(task._dependencies())
    return len(seen)


def summary_counts(plan: Any, outcome: Any) -> str:
    """``'2 ran, 1 reused, 0 failed'`` (``', 1 skipped'`` when tasks were skipped), or
    ``'all 3 task(s) reused'`` when the build ran nothing and nothing failed (counting every
    task the roots reach: a plan stops at complete tasks)."""
    reused = len(plan) - len(plan.to_run) + len(outcome.reused)
    if all_reused(outcome):
        return f"all {graph_size(plan)} task(s) reused"
    counts = f"{len(outcome.ran)} ran, {reused} reused, {len(outcome.failed)} failed"
    if outcome.skipped:
        counts += f", {len(outcome.skipped)} skipped"
    return counts


class Reporter(BaseListener):
    """Listens to a build; shows it live when wanted and prints its summary at the end.

    A build stopped by an error that is not a task's (the store or the lock service failed)
    prints no summary: the error says what happened.
    """

    def __init__(
        self, *, progress: bool | None = None, summary: bool = True, stream: TextIO | None = None
    ) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self._summary = summary
        self._live_wanted = live_display_wanted(progress, self._stream)
        self._force = progress is True
        self._lock = threading.Lock()
        self._running: dict[str, tuple[str, float]] = {}
        self._total = 0
        self._done = 0
        self._failed = 0
        self._reused = 0
        self._started = time.monotonic()
        self._live: Any = None
        self._console: Any = None
        self._labels: Any = None  # a SiblingLabels while the display is on

    # --- listener events ------------------------------------------------------------------
    def build_started(self, plan: Any) -> None:
        self._started = time.monotonic()
        self._total = len(plan.to_run)
        if self._live_wanted and self._total:
            from cairn.model.labels import SiblingLabels

            self._labels = SiblingLabels(entry.task for entry in plan)
            self._start_live()

    def task_started(self, task: Any) -> None:
        if self._labels is None:
            return  # no display: nothing to show
        label = self._labels.label(task)
        with self._lock:
            self._running[task.task_id] = (label, time.monotonic())

    def task_succeeded(self, task: Any, record: Any) -> None:
        with self._lock:
            self._running.pop(task.task_id, None)
            self._done += 1

    def task_failed(self, task: Any, error: BaseException) -> None:
        with self._lock:
            self._running.pop(task.task_id, None)
            self._failed += 1

    def task_reused(self, task: Any) -> None:
        with self._lock:
            self._reused += 1

    def task_retrying(self, task: Any, error: BaseException, attempt: int, delay: float) -> None:
        with self._lock:
            self._running.pop(task.task_id, None)
        if self._console is not None:  # above the live display; otherwise only logged
            self._say(
                f"cairn: {task!r} failed on attempt {attempt} "
                f"({type(error).__name__}: {error}); retrying in {delay:g}s"
            )

    def build_interrupted(self, running: list[Any], waiting: bool) -> None:
        if not self._summary:
            return  # the caller prints its own (the command line does)
        if waiting:
            self._say(
                f"cairn: interrupted; waiting for {len(running)} running task(s) to finish "
                "(press Ctrl-C again to stop them)"
            )
        else:
            self._say(f"cairn: interrupted; cancelling {len(running)} running task(s)")

    def build_finished(
        self, *, plan: Any, outcome: Any, workspace: str, error: BaseException | None = None
    ) -> None:
        self._stop_live()
        if not self._summary:
            return
        if error is not None and not isinstance(error, BuildError) and not outcome.interrupted:
            return
        elapsed = time.monotonic() - self._started
        counts = summary_counts(plan, outcome)
        if not outcome.interrupted:
            self._print(f"cairn: {counts} in {_duration(elapsed)}")
            return
        self._print(
            f"cairn: interrupted after {_duration(elapsed)}: {counts}; "
            f"{len(outcome.cancelled)} cancelled while running, "
            f"{len(outcome.not_started)} not started"
        )
        finished = outcome.ran
        if finished:
            self._print("cairn: finished before the interrupt (outputs stored):")
            for task in finished[:MAX_LISTED]:
                self._print(f"  {task!r}")
            if len(finished) > MAX_LISTED:
                self._print(f"  ... and {len(finished) - MAX_LISTED} more")

    def close(self) -> None:
        """Erase the live display if it is still up (a build that ended by an exception)."""
        self._stop_live()

    # --- output ---------------------------------------------------------------------------
    def _print(self, line: str) -> None:
        print(line, file=self._stream, flush=True)

    def _say(self, line: str) -> None:
        if self._console is not None:
            self._console.print(line, markup=False, highlight=False, soft_wrap=True)
        else:
            self._print(line)

    def _start_live(self) -> None:
        from rich.console import Console
        from rich.live import Live

        self._console = Console(file=self._stream, force_terminal=True if self._force else None)
        self._live = Live(
            get_renderable=self._render,
            console=self._console,
            refresh_per_second=4,
            transient=True,  # erased when it stops: no stale lines after the build or Ctrl-C
            # what tasks print shows above the display, when it goes to the same terminal
            redirect_stdout=self._stream is sys.stderr and _is_terminal(sys.stdout),
            redirect_stderr=self._stream is sys.stderr,
        )
        self._live.start()

    def _stop_live(self) -> None:
        live, self._live = self._live, None
        if live is not None:
            live.stop()
        self._console = None

    def _render(self) -> Any:
        from rich.console import Group
        from rich.text import Text

        now = time.monotonic()
        with self._lock:
            running = list(self._running.values())
            done, failed, reused, total = self._done, self._failed, self._reused, self._total
        head = Text.assemble(
            ("cairn ", "bold"),
            (f"done {done}/{total}", "green"),
            " · ",
            (f"running {len(running)}", "cyan"),
            " · ",
            (f"failed {failed}", "red" if failed else ""),
            *((" · ", f"reused {reused}") if reused else ()),
            " · ",
            (_duration(now - self._started), "dim"),
        )
        times = [_duration(now - since) for _, since in running[:MAX_SHOWN]]
        width = self._console.width if self._console is not None else 80
        # a long label is cut, never the time: it fits beside the longest time
        room = max(width - 4 - max((len(t) for t in times), default=4), 8)
        names = [n if len(n) <= room else n[: room - 1] + "…" for n, _ in running[:MAX_SHOWN]]
        pad = max((len(n) for n in names), default=0)
        lines = [
            Text.assemble("  ", name.ljust(pad), "  ", (shown, "dim"))
            for name, shown in zip(names, times, strict=True)
        ]
        if len(running) > MAX_SHOWN:
            lines.append(Text(f"  ... and {len(running) - MAX_SHOWN} more", style="dim"))
        head.no_wrap, head.overflow = True, "ellipsis"
        for line in lines:
            line.no_wrap = True
        return Group(head, *lines)
