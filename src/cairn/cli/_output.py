"""What ``cairn run`` prints while it builds: a line per finished task, then the summary.

A build listener (it has the methods of :class:`cairn.running.events.Listener`). On a
terminal the build's live display (:mod:`cairn.progress`) runs below these lines.
"""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console
from rich.text import Text

from cairn._render import format_duration
from cairn.model.task import Task
from cairn.progress import all_reused, summary_counts
from cairn.running.events import BaseListener
from cairn.running.failures import location

__all__ = ["BuildOutput"]


class BuildOutput(BaseListener):
    """Prints one line per finished task, and the summary."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.finished: dict[str, Any] = {}

    def _emit(self, line: Text) -> None:
        """Print ``line`` through the current ``sys.stdout``: while the live display runs on
        the same terminal, that is its proxy, which prints above the display (a console
        writing to the terminal directly would be overwritten by the display's next
        refresh)."""
        with self.console.capture() as captured:
            self.console.print(line)
        sys.stdout.write(captured.get())
        sys.stdout.flush()

    def task_started(self, task: Task[Any]) -> None:
        """Nothing: the live display shows running tasks."""

    def task_succeeded(self, task: Task[Any], record: dict[str, Any] | None) -> None:
        duration = (record or {}).get("duration_s")
        line = Text.assemble(("✓ ", "green"), task.label(), (f"  #{task.task_id[:8]}", "dim"))
        if duration is not None:
            line.append(f"  {format_duration(duration)}", style="dim")
        self._emit(line)

    def task_failed(self, task: Task[Any], error: BaseException) -> None:
        self._emit(
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
        self._emit(Text(text, style="yellow"))

    def build_finished(
        self, *, plan: Any, outcome: Any, workspace: str, error: BaseException | None = None
    ) -> None:
        self.finished = {"plan": plan, "outcome": outcome, "workspace": workspace}

    def print_summary(self) -> None:
        if not self.finished:
            return
        the_plan, outcome = self.finished["plan"], self.finished["outcome"]
        if all_reused(outcome):
            head = Text(summary_counts(the_plan, outcome), style="bold")
        else:
            failed = len(outcome.failed)
            reused = len(the_plan) - len(the_plan.to_run) + len(outcome.reused)
            head = Text.assemble(
                (f"{len(the_plan)} task(s): ", "bold"),
                (f"{len(outcome.ran)} ran", "green"),
                f", {reused} reused, ",
                (f"{failed} failed", "red" if failed else ""),
                f", {len(outcome.skipped)} skipped",
            )
        head.append(f" in {outcome.seconds:.2f}s")
        head.append(f"  (workspace {self.finished['workspace']})", style="dim")
        self.console.print(head)
