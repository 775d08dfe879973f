"""Parameter types: validation, conversion, parsing, defaults, significance."""

from __future__ import annotations

import datetime as dt
import enum
import json

import pytest

import cairn


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class AllTypes(cairn.Task):
    name = cairn.Parameter(default="x")
    count = cairn.IntParameter(default=1)
    rate = cairn.FloatParameter(default=0.5)
    flag = cairn.BoolParameter(default=False)
    day = cairn.DateParameter(default=dt.date(2024, 1, 1))
    when = cairn.DateTimeParameter(default=dt.datetime(2024, 1, 1, 12))
    color = cairn.EnumParameter(Color, default=Color.RED)
    items = cairn.ListParameter(default=[1, 2])
    options = cairn.DictParameter(default={"a": 1})

    def run(self):
        return 1


def test_int_parameter_refuses_text_that_is_not_a_number_and_floats():
    with pytest.raises(cairn.ParameterError, match="count expects int"):
        AllTypes(count="abc")
    with pytest.raises(cairn.ParameterError, match="an integer"):
        AllTypes(count=1.5)
    with pytest.raises(cairn.ParameterError, match="an integer"):
        AllTypes(count=True)
    assert AllTypes(count="42").count == 42


def test_float_parameter_converts_ints_and_parses_text():
    assert AllTypes(rate=2).rate == 2.0
    assert isinstance(AllTypes(rate=2).rate, float)
    assert AllTypes(rate="0.25").rate == 0.25
    with pytest.raises(cairn.ParameterError):
        AllTypes(rate="fast")
    with pytest.raises(cairn.ParameterError):
        AllTypes(rate=True)


def test_bool_parameter_parses_common_spellings():
    for text, value in [("true", True), ("No", False), ("1", True), ("off", False)]:
        assert AllTypes(flag=text).flag is value
    with pytest.raises(cairn.ParameterError, match="flag"):
        AllTypes(flag="maybe")
    with pytest.raises(cairn.ParameterError):
        AllTypes(flag=1)


def test_date_parameter_accepts_date_or_iso_string():
    assert AllTypes(day="2024-05-01").day == dt.date(2024, 5, 1)
    assert AllTypes(day=dt.date(2024, 5, 1)) == AllTypes(day="2024-05-01")
    with pytest.raises(cairn.ParameterError):
        AllTypes(day="01/05/2024")
    with pytest.raises(cairn.ParameterError, match="DateTimeParameter"):
        AllTypes(day=dt.datetime(2024, 5, 1, 3))


def test_datetime_parameter_with_timezone_refuses_naive_values():
    class Zoned(cairn.Task):
        at = cairn.DateTimeParameter(timezone=dt.UTC)
        soft = cairn.DateTimeParameter(default=None, timezone=dt.UTC, assume_timezone=True)

    with pytest.raises(cairn.ParameterError, match="time-zone-aware"):
        Zoned(at=dt.datetime(2024, 1, 1))
    plus2 = dt.timezone(dt.timedelta(hours=2))
    task = Zoned(at=dt.datetime(2024, 1, 1, 12, tzinfo=plus2), soft="2024-01-01T10:00")
    assert task.at == dt.datetime(2024, 1, 1, 10, tzinfo=dt.UTC)
    assert task.soft == dt.datetime(2024, 1, 1, 10, tzinfo=dt.UTC)
    assert Zoned(at="2024-01-01T10:00+00:00") == Zoned(
        at=dt.datetime(2024, 1, 1, 10, tzinfo=dt.UTC)
    )


def test_enum_parameter_accepts_member_name_or_value():
    assert AllTypes(color="BLUE").color is Color.BLUE
    assert AllTypes(color="blue").color is Color.BLUE
    with pytest.raises(cairn.ParameterError, match="one of RED, BLUE"):
        AllTypes(color="green")


def test_list_and_dict_parameters_are_frozen_and_parse_json():
    task = AllTypes(items="[1, [2, 3]]", options='{"b": {"c": [1]}}')
    assert task.items == (1, (2, 3))
    assert task.options == {"b": {"c": (1,)}}
    with pytest.raises(TypeError):
        task.options["b"] = 2  # type: ignore[index]
    with pytest.raises(cairn.ParameterError):
        AllTypes(items="not json")


def test_parameters_cannot_be_reassigned():
    task = AllTypes()
    with pytest.raises(AttributeError, match="immutable"):
        task.count = 3


def test_unknown_parameter_lists_valid_ones_and_suggests_the_closest():
    with pytest.raises(cairn.ParameterError) as info:
        AllTypes(cuont=3)
    message = str(info.value)
    assert "Did you mean 'count'?" in message
    assert "name, count, rate" in message


def test_missing_required_parameter_is_named():
    class Needs(cairn.Task):
        path = cairn.Parameter()

    with pytest.raises(cairn.ParameterError, match="needs a value for 'path'"):
        Needs()


def test_positional_arguments_are_refused_with_a_hint():
    class Needs(cairn.Task):
        path = cairn.Parameter()

    with pytest.raises(cairn.ParameterError, match=r"by name only, like Needs\(path=...\)"):
        Needs("a")  # type: ignore[misc]


def test_string_parameter_refuses_other_types_with_a_hint():
    with pytest.raises(cairn.ParameterError, match="IntParameter"):
        AllTypes(name=3)


def test_bad_default_fails_when_the_class_is_defined():
    with pytest.raises((cairn.ParameterError, RuntimeError)):

        class Bad(cairn.Task):
            n = cairn.IntParameter(default="three")


def test_none_is_accepted_only_when_it_is_the_default():
    class Optional(cairn.Task):
        limit = cairn.IntParameter(default=None)
        name = cairn.Parameter(default="a")

    assert Optional().limit is None
    assert Optional(limit=None).limit is None
    with pytest.raises(cairn.ParameterError):
        Optional(name=None)


def test_parse_converts_command_line_text():
    params = AllTypes._params
    assert params["count"].parse("7") == 7
    assert params["day"].parse("2020-02-02") == dt.date(2020, 2, 2)
    assert params["items"].parse('["a"]') == ("a",)
    with pytest.raises(cairn.ParameterError, match="does not parse"):
        params["rate"].parse("x")


def test_task_parameter_refuses_non_tasks_and_wrong_task_types():
    class Source(cairn.Task):
        def run(self):
            return 1

    class Other(cairn.Task):
        def run(self):
            return 2

    class Sink(cairn.Task):
        src = cairn.TaskParameter(expected_type=Source)
        many = cairn.TaskListParameter(default=[])

    with pytest.raises(cairn.ParameterError, match="takes a task"):
        Sink(src="Source")
    with pytest.raises(cairn.ParameterError, match="a task instance"):
        Sink(src=3)
    with pytest.raises(cairn.ParameterError, match=r"instance of .*Source"):
        Sink(src=Other())
    with pytest.raises(cairn.ParameterError, match="list of task"):
        Sink(src=Source(), many=[1])
    sink = Sink(src=Source(), many=[Other()])
    assert sink.many == (Other(),)


def test_repr_shows_class_and_parameters():
    class LoadData(cairn.Task):
        path = cairn.Parameter()

    class Train(cairn.Task):
        data = cairn.TaskParameter()
        lr = cairn.FloatParameter(default=0.1)

    task = Train(data=LoadData(path="train.csv"), lr=0.05)
    assert repr(task) == "Train(data=LoadData(path='train.csv'), lr=0.05)"


class Raw(cairn.Task):
    path = cairn.Parameter()
    day = cairn.DateParameter(default=dt.date(2024, 1, 1))

    def run(self):
        return self.path


class Clean(cairn.Task):
    raw = cairn.TaskParameter(expected_type=Raw)
    threshold = cairn.FloatParameter(default=0.5)


class RawSubclass(Raw):
    pass


class Combine(cairn.Task):
    parts = cairn.TaskListParameter(expected_elements_type=Raw)
    optional = cairn.TaskParameter(default=None)

    def run(self):
        return len(self.parts)


def test_a_task_parameter_is_given_as_text_and_its_text_form_round_trips():
    param = Combine._params["optional"]
    task = Clean(raw=Raw(path="a.csv", day="2024-05-01"), threshold=0.7)
    text = param.text(task)
    assert json.loads(text) == {
        "task": f"{__name__}:Clean",
        "params": {
            "raw": {"task": f"{__name__}:Raw", "params": {"path": "a.csv", "day": "2024-05-01"}},
            "threshold": 0.7,
        },
    }
    again = param.parse(text)
    assert again == task and again.task_id == task.task_id
    assert param.parse(f"{__name__}:AllTypes") == AllTypes()  # a bare name: its defaults
    listed = Combine._params["parts"]
    parts = (Raw(path="x"), RawSubclass(path="y"))
    assert listed.parse(listed.text(parts)) == parts


def test_a_task_named_as_text_that_cannot_be_found_says_how_to_name_it():
    param = Clean._params["raw"]
    with pytest.raises(cairn.ParameterError, match=r"named as 'module:ClassName'.*no_such_mod"):
        param.parse("no_such_mod:Raw")
    with pytest.raises(cairn.ParameterError, match=r"has no 'Missing'"):
        param.parse(f"{__name__}:Missing")
    with pytest.raises(cairn.ParameterError, match=r"is not a cairn.Task subclass"):
        param.parse(f"{__name__}:Color")
    with pytest.raises(cairn.ParameterError, match=r"keys 'task' and 'params' only"):
        param.parse(json.dumps({"task": f"{__name__}:Raw", "parms": {}}))


def test_expected_types_accept_subclasses_refuse_others_and_must_be_classes():
    assert Clean(raw=RawSubclass(path="s")).raw == RawSubclass(path="s")
    with pytest.raises(cairn.ParameterError, match=r"instance of Raw"):
        Clean(raw=Clean(raw=Raw(path="p")))
    assert Combine(parts=[Raw(path="a"), RawSubclass(path="b")]).parts[1].path == "b"
    with pytest.raises(cairn.ParameterError, match=r"a list of Raw instances"):
        Combine(parts=[Raw(path="a"), Clean(raw=Raw(path="p"))])
    with pytest.raises(cairn.ParameterError, match=r"must be a task class.*not str"):
        cairn.TaskParameter(expected_type="Raw")
    with pytest.raises(cairn.ParameterError, match=r"expected_elements_type=\) must be a task"):
        cairn.TaskListParameter(expected_elements_type=3)


def test_an_optional_task_parameter_left_out_builds_and_records_none(tmp_path):
    assert cairn.build(Combine(parts=[Raw(path="a")]), workspace=str(tmp_path)) == 1
    (record,) = tmp_path.rglob("Combine_*.run.json")
    assert json.loads(record.read_text())["params"]["optional"] is None


def test_str_of_a_task_shows_dates_and_zoned_datetimes_in_iso_form():
    class Zoned(cairn.Task):
        at = cairn.DateTimeParameter(timezone=dt.timezone(dt.timedelta(hours=9)))
        day = cairn.DateParameter(default="2024-01-02")

    task = Zoned(at="2024-05-01T09:00+09:00")
    assert str(task) == "Zoned(at=2024-05-01T09:00:00+09:00, day=2024-01-02)"
    assert task.label() == str(task)
    assert repr(task).startswith("Zoned(at=datetime.datetime(2024, 5, 1, 9, 0")  # code, as before
