"""A build with several failing tasks reports every failure, and keeps what succeeded."""

from __future__ import annotations

import pytest

import cairn


class Good(cairn.Task):
    def run(self):
        return "good"


class Bad(cairn.Task):
    n = cairn.IntParameter()

    def run(self):
        raise RuntimeError(f"broken number {self.n}")


@pytest.mark.parametrize("executor", ["inline", "threads"])
@pytest.mark.parametrize("count", [2, 5])
def test_every_failure_is_in_the_build_error(workspace, executor, count):
    bad = [Bad(n=i) for i in range(count)]
    with pytest.raises(cairn.BuildError) as info:
        cairn.build([Good(), *bad], executor=executor, workers=2, progress=False)
    error = info.value
    assert set(error.failures) == set(bad)
    assert f"{count} task(s) failed" in str(error)
    for task in bad:
        assert isinstance(error.failures[task], RuntimeError)
        assert f"broken number {task.n}" in str(error)
    assert Good() in error.succeeded
    assert cairn.status(Good())[Good()].state == "complete"
    assert cairn.build(Good()) == "good"
