"""Bad parameter values are refused at construction, before anything runs or is stored."""

from __future__ import annotations

import json
import math

import pytest

import cairn


class Values(cairn.Task):
    count = cairn.IntParameter(default=1)
    rate = cairn.FloatParameter(default=0.5)
    items = cairn.ListParameter(default=[1, 2])
    options = cairn.DictParameter(default={"a": 1})

    def run(self):
        return {"count": self.count, "rate": self.rate}


HUGE = 10**5000


@pytest.mark.parametrize(
    ("kwargs", "cause"),
    [
        ({"count": HUGE}, "too large"),
        ({"count": -HUGE}, "too large"),
        ({"count": "9" * 5000}, "count expects int"),
        ({"rate": math.inf}, "non-finite"),
        ({"rate": -math.inf}, "non-finite"),
        ({"rate": math.nan}, "non-finite"),
        ({"rate": "inf"}, "non-finite"),
        ({"rate": "nan"}, "non-finite"),
        ({"rate": "1e400"}, "non-finite"),
        ({"rate": HUGE}, "finite number"),
        ({"items": [math.inf]}, "non-finite"),
        ({"items": [[math.nan]]}, "non-finite"),
        ({"items": [HUGE]}, "too large"),
        ({"items": "[1e400]"}, "non-finite"),
        ({"options": {1: "a"}}, "key 1"),
        ({"options": {None: "a"}}, "key None"),
        ({"options": {(1, 2): "a"}}, "key"),
        ({"options": {"a": {2: "b"}}}, "key 2"),
        ({"options": {"a": math.nan}}, "non-finite"),
        ({"options": '{"a": Infinity}'}, "non-finite"),
    ],
)
def test_bad_value_is_refused_at_construction_and_nothing_runs(workspace, kwargs, cause):
    good = Values()
    assert cairn.build(good) == {"count": 1, "rate": 0.5}
    with pytest.raises(cairn.ParameterError, match=cause) as info:
        Values(**kwargs)
    assert isinstance(info.value, cairn.CairnError)
    name = next(iter(kwargs))
    assert name in str(info.value)
    # what was stored before is untouched and still loads
    assert cairn.status(good)[good].state == "complete"
    assert cairn.build(good) == {"count": 1, "rate": 0.5}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"count": 10**300},
        {"rate": 1e308},
        {"rate": -0.0},
        {"items": [None, True, 1, 1.5, "s", [1], {"k": "v"}]},
        {"options": {"a": {"b": [1, {"c": None}]}}},
    ],
)
def test_json_values_are_accepted_and_rebuild_the_same_task(workspace, kwargs):
    task = Values(**kwargs)
    assert cairn.build(task) == {"count": task.count, "rate": task.rate}
    # the values survive a JSON round trip (as in a run record) and give the same task
    data = {name: _thaw(getattr(task, name)) for name in kwargs}
    again = Values(**json.loads(json.dumps(data, allow_nan=False)))
    assert again.task_id == task.task_id
    assert cairn.status(again)[again].state == "complete"


def _thaw(value):
    if isinstance(value, tuple | list):
        return [_thaw(v) for v in value]
    if isinstance(value, dict):
        return {k: _thaw(v) for k, v in value.items()}
    return value
