"""A namespace that would put records outside the workspace is refused at class definition."""

from __future__ import annotations

import pytest

import cairn


class Kept(cairn.Task):
    def run(self):
        return "kept"


@pytest.mark.parametrize(
    "namespace",
    [
        "../../../x",
        "..",
        "a/../../x",
        "a/..",
        "/abs",
        "/",
        "\\\\server\\x",
        "C:/x",
        "~/x",
        "s3://b/x",
    ],
)
def test_an_escaping_namespace_is_refused_at_class_definition(workspace, tmp_path, namespace):
    assert cairn.build(Kept()) == "kept"
    before = sorted(p.name for p in tmp_path.rglob("*"))
    with pytest.raises(cairn.CairnError, match="outside the workspace") as caught:
        type("Escaping", (cairn.Task,), {"namespace": namespace, "run": lambda self: 1})
    assert repr(namespace) in str(caught.value)
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
    assert cairn.build(Kept()) == "kept"


@pytest.mark.parametrize("namespace", ["team_a", "team/sub", "exp.1"])
def test_a_relative_namespace_still_works(workspace, namespace):
    cls = type("Named", (cairn.Task,), {"namespace": namespace, "run": lambda self: 2})
    task = cls()
    assert cairn.build(task) == 2
    assert task.record_path().startswith(namespace + "/")
