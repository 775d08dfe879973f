"""A task's own code misbehaving: requires() raising, run() calling sys.exit, dump() of
something its format cannot write, dump() twice. Each fails that task, names it, and leaves
every stored result intact."""

from __future__ import annotations

import threading

import pytest

import cairn


class Good(cairn.Task):
    def run(self):
        return "good"


class RaisesInRequires(cairn.Task):
    n = cairn.IntParameter(default=7)
    error = cairn.Parameter(default="KeyError")

    def requires(self):
        raise {"KeyError": KeyError, "ValueError": ValueError, "TypeError": TypeError}[self.error](
            "no such upstream"
        )


class NeedsBroken(cairn.Task):
    def requires(self):
        return RaisesInRequires(n=8)


@pytest.mark.parametrize("error", ["KeyError", "ValueError", "TypeError"])
def test_requires_raising_names_the_task_and_its_parameters(workspace, error):
    assert cairn.build(Good()) == "good"
    task = RaisesInRequires(error=error)
    with pytest.raises(cairn.RequirementError) as info:
        cairn.build([Good(), task])
    message = str(info.value)
    assert f"RaisesInRequires(n=7, error={error!r}).requires()" in message
    assert "no such upstream" in message
    assert type(info.value.__cause__).__name__ == error
    assert cairn.build(Good()) == "good"


def test_requires_raising_below_the_root_names_the_task_that_raised(workspace):
    with pytest.raises(cairn.RequirementError, match=r"RaisesInRequires\(n=8"):
        cairn.plan(NeedsBroken())


class Exits(cairn.Task):
    code = cairn.IntParameter(default=3)

    def run(self):
        raise SystemExit(self.code)


class AfterExit(cairn.Task):
    def requires(self):
        return Exits(code=4)

    def run(self):
        return "never"


@pytest.mark.parametrize("executor", ["inline", "threads", "processes"])
def test_run_calling_sys_exit_fails_that_task_only(workspace, executor):
    exits = Exits()
    downstream = AfterExit()
    with pytest.raises(cairn.BuildError) as info:
        cairn.build([exits, downstream, Good()], executor=executor, workers=2)
    error = info.value
    assert set(error.failures) == {exits, Exits(code=4)}
    assert "sys.exit(3)" in str(error)
    assert "Exits(code=3)" in str(error)
    assert downstream in error.skipped
    assert Good() in error.succeeded
    assert isinstance(error.__cause__, cairn.CairnError)
    assert cairn.build(Good()) == "good"


class Unpicklable(cairn.Task):
    what = cairn.Parameter()

    def output(self):
        return self.make_target("thing.pkl")

    def run(self):
        return {"lock": threading.Lock, "generator": lambda: (i for i in range(3))}[self.what]()


@pytest.mark.parametrize("what", ["lock", "generator"])
def test_dumping_an_unpicklable_object_names_the_task_and_output(workspace, what):
    cairn.build(Good())
    task = Unpicklable(what=what)
    with pytest.raises(cairn.BuildError) as info:
        cairn.build(task)
    error = info.value.failures[task]
    assert isinstance(error, cairn.FormatError)
    message = str(error)
    assert repr(task) in message
    assert task.output().path in message
    assert "cannot pickle" in message
    assert cairn.status(task)[task].state != "complete"
    assert cairn.build(Good()) == "good"


class DumpsTwice(cairn.Task):
    keyed = cairn.BoolParameter(default=False)

    def output(self):
        if self.keyed:
            return {"a": self.make_target("a.json"), "b": self.make_target("b.json")}
        return self.make_target("once.json")

    def run(self):
        key = "a" if self.keyed else None
        self.dump([1], key)
        self.dump([2], key)
        if self.keyed:
            self.dump([3], "b")


@pytest.mark.parametrize("keyed", [False, True])
def test_dumping_one_output_twice_is_an_error(workspace, keyed):
    task = DumpsTwice(keyed=keyed)
    with pytest.raises(cairn.BuildError) as info:
        cairn.build(task)
    error = info.value.failures[task]
    assert isinstance(error, cairn.CairnError)
    assert "twice" in str(error)
    assert repr(task) in str(error)
    if keyed:
        assert "'a'" in str(error)
    assert cairn.status(task)[task].state != "complete"
