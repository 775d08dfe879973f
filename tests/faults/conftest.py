"""The fault suite: bad input, corruption, crashes and service faults.

Every case asserts three things: the error type (a ``CairnError`` subclass), that the
message names the cause, and that every result already stored is still correct afterwards.

Files:

- ``test_inputs_*.py``: bad input (parameters, settings, command line), refused at the
  earliest moment with a message that says what was wrong and what to do;
- ``test_faults_*.py``: crashes, full disks and dying services (Redis, S3);
- ``test_integrity_*.py``: stored results that were damaged after they were written.

Keep cases fast: small graphs and short timeouts.
"""

from __future__ import annotations

from pathlib import Path

import pytest

_HERE = Path(__file__).resolve().parent


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The closing note: how many fault cases were tried, held (passed) and skipped."""
    counts: dict[str, int] = {}
    for outcome in ("passed", "failed", "error", "skipped"):
        for report in terminalreporter.stats.get(outcome, []):
            path = Path(str(getattr(report, "fspath", "") or "")).resolve()
            if _HERE in path.parents and getattr(report, "when", "call") in ("call", "setup"):
                if outcome == "passed" and report.when != "call":
                    continue
                counts[outcome] = counts.get(outcome, 0) + 1
    tried = counts.get("passed", 0) + counts.get("failed", 0) + counts.get("error", 0)
    if tried or counts.get("skipped"):
        terminalreporter.write_line(
            f"fault suite: {tried} case(s) tried, {counts.get('passed', 0)} held, "
            f"{counts.get('failed', 0) + counts.get('error', 0)} broke, "
            f"{counts.get('skipped', 0)} skipped"
        )
