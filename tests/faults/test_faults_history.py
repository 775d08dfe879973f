"""The run history is a hint for later plans: when it cannot be written the build still
succeeds, and a warning names the history file and why; it is never dropped silently."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

import cairn


class Step(cairn.Task):
    n = cairn.IntParameter()

    def run(self):
        return self.n


@pytest.mark.parametrize("executor", ["inline", "threads"])
def test_a_history_that_cannot_be_written_is_a_warning_naming_the_file(workspace, executor, caplog):
    cairn.build(Step(n=0))
    history = Path(workspace) / ".cairn" / "history"
    shutil.rmtree(history)
    history.write_text("a file where the history directory belongs")
    with caplog.at_level(logging.WARNING, logger="cairn"):
        assert cairn.build([Step(n=1), Step(n=2)], executor=executor) == [1, 2]
    warnings = [r.getMessage() for r in caplog.records if "run history" in r.getMessage()]
    assert warnings, "no warning about the history"
    assert any(".cairn/history/" in w and "Step" in w for w in warnings), warnings
    assert any("writable" in w for w in warnings)
    # the results themselves are stored and complete
    assert cairn.status(Step(n=1))[Step(n=1)].state == "complete"
    assert cairn.build(Step(n=2)) == 2
