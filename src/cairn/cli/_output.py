"""What ``cairn run`` prints while it builds: a line per finished task, then the summary.

A build listener (a :class:`cairn.running.events.BaseListener`); on a terminal it also
shows a spinner naming the running tasks.
"""

from __future__ import annotations

import contextlib
from typing import Any

from rich.console import Console
from rich.text import Text

from cairn._render import format_duration
from cairn.model.task import Task
from cairn.running.events import BaseListener
from cairn.running.failures import location

__all__ = ["BuildOutput"]


class BuildOutput(BaseListener):
    """Prints one line per finished task, and the summary; a spinner on terminals."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.finished: dict[str, Any] = {}
        self._status: Any = None
        self._running: list[str] = []

    def spinner(self) -> Any:
        if not self.console.is_terminal:
            return contextlib.nullcontext()
        self._status = self.console.status("planning ...")
        return self._status

    def _update(self) -> None:
        if self._status is not None:
            shown = ", ".join(self._running[:3]) + (" ..." if len(self._running) > 3 else "")
            self._status.update(f"running {shown}" if shown else "...")

    def task_started(self, task: Task[Any]) -> None:
        self._running.append(type(task).__name__)
        self._update()

    def _done(self, task: Task[Any]) -> None:
        name = type(task).__name__
        if name in self._running:
            self._running.remove(name)
        self._update()

    def task_succeeded(self, task: Task[Any], record: dict[str, Any] | None) -> None:
        self._done(task)
        duration = (record or {}).get("duration_s")
        line = Text.assemble(("✓ ", "green"), task.label(), (f"  #{task.task_id[:8]}", "dim"))
        if duration is not None:
            line.append(f"  {format_duration(duration)}", style="dim")
        self.console.print(line)

    def task_failed(self, task: Task[Any], error: BaseException) -> None:
        self._done(task)
        self.console.print(
            Text.assemble(
                ("✗ ", "red"),
                task.label(),
                (f"  #{task.task_id[:8]}", "dim"),
                (f"  {type(error).__name__}: {error}", "red"),
                (f"  at {where}" if (where := location(error)) else "", "red"),
            )
        )

    def build_interrupted(self, running: list[Task[Any]], waiting: bool) -> None:
        """Said at once on Ctrl-C: what stops now, and what the next Ctrl-C does."""
        if waiting:
            text = (
                f"interrupted: no new task starts; waiting for {len(running)} running task(s) "
                "to finish (press Ctrl-C again to stop them and exit now)"
            )
        else:
            text = f"interrupted: stopping {len(running)} running task(s) and exiting"
        self.console.print(Text(text, style="yellow"))

    def build_finished(
        self, *, plan: Any, outcome: Any, workspace: str, error: BaseException | None = None
    ) -> None:
        self.finished = {"plan": plan, "outcome": outcome, "workspace": workspace}

    def print_summary(self) -> None:
        if not self.finished:
            return
        the_plan, outcome = self.finished["plan"], self.finished["outcome"]
        reused = len(the_plan) - len(the_plan.to_run) + len(outcome.reused)
        failed = len(outcome.failed)
        text = Text.assemble(
            (f"{len(the_plan)} task(s): ", "bold"),
            (f"{len(outcome.ran)} ran", "green"),
            f", {reused} reused, ",
            (f"{failed} failed", "red" if failed else ""),
            f", {len(outcome.skipped)} skipped in {outcome.seconds:.2f}s",
            (f"  (workspace {self.finished['workspace']})", "dim"),
        )
        self.console.print(text)
