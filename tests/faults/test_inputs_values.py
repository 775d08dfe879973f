"""Values that JSON cannot hold: refused where they enter (a list or dict parameter, a .json
or .jsonl output), with a message naming the value and what to use instead."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import uuid
from pathlib import Path

import pytest

import cairn


class Values(cairn.Task):
    items = cairn.ListParameter(default=[1, 2])
    options = cairn.DictParameter(default={"a": 1})

    def run(self):
        return {"items": list(self.items)}


@pytest.mark.parametrize(
    ("kwargs", "kind"),
    [
        ({"items": [{1, 2}]}, "set"),
        ({"items": [frozenset({1})]}, "frozenset"),
        ({"items": [dt.datetime(2024, 1, 2, 3, 4)]}, "datetime"),
        ({"items": [dt.date(2024, 1, 2)]}, "date"),
        ({"items": [b"raw"]}, "bytes"),
        ({"items": [bytearray(b"raw")]}, "bytearray"),
        ({"items": [1 + 2j]}, "complex"),
        ({"items": [decimal.Decimal("1.5")]}, "Decimal"),
        ({"items": [uuid.UUID(int=1)]}, "UUID"),
        ({"items": [[1, {"deep": {3}}]]}, "set"),
        ({"options": {"when": dt.date(2024, 1, 2)}}, "date"),
        ({"options": {"a": {"b": b"x"}}}, "bytes"),
    ],
)
def test_a_value_json_cannot_hold_is_refused_at_construction(workspace, kwargs, kind):
    good = Values()
    assert cairn.build(good) == {"items": [1, 2]}
    with pytest.raises(cairn.ParameterError, match="not a JSON value") as info:
        Values(**kwargs)
    message = str(info.value)
    assert next(iter(kwargs)) in message
    assert f"of type {kind}" in message
    assert "Convert it" in message
    assert cairn.status(good)[good].state == "complete"
    assert cairn.build(good) == {"items": [1, 2]}


def test_a_converted_value_round_trips_through_the_run_record(workspace):
    task = Values(items=[sorted({2, 1}), dt.date(2024, 1, 2).isoformat(), b"raw".hex()])
    assert cairn.build(task) == {"items": [(1, 2), "2024-01-02", "726177"]}
    again = Values(items=json.loads(json.dumps([[1, 2], "2024-01-02", "726177"])))
    assert again.task_id == task.task_id
    assert cairn.status(again)[again].state == "complete"


class Dumps(cairn.Task):
    extension = cairn.Parameter()
    value = cairn.Parameter()

    def output(self):
        return self.make_target(f"values{self.extension}")

    def run(self):
        return {
            "nan": [math.nan],
            "inf": [1.0, math.inf],
            "-inf": [{"low": -math.inf}],
            "nested": [{"a": [math.nan]}],
        }[self.value]


@pytest.mark.parametrize("extension", [".json", ".jsonl"])
@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "nested"])
def test_a_non_finite_float_is_not_written_as_invalid_json(workspace, extension, value):
    good = Dumps(extension=extension, value="unused")
    task = Dumps(extension=extension, value=value)
    with pytest.raises(cairn.BuildError) as info:
        cairn.build(task)
    error = info.value.failures[task]
    assert isinstance(error, cairn.FormatError)
    assert "non-finite float" in str(error)
    assert "None" in str(error)
    assert task.output().path in str(error)
    # nothing that reads as complete, and no invalid file left behind
    assert cairn.status(task)[task].state != "complete"
    assert not (Path(workspace) / task.output().path).exists()
    assert good.output().path != task.output().path
