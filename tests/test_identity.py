"""Task ids: type-tagged canonical encoding, golden digests, code fingerprints."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import importlib.util
import sys
import textwrap
import types
import uuid
from pathlib import Path, PurePosixPath

import pytest

import cairn


class Pinned(cairn.Task):
    code_version = "1"
    value = cairn.Parameter()
    note = cairn.Parameter(default="", significant=False)

    def run(self):
        return self.value


class PinnedInt(cairn.Task):
    code_version = "1"
    value = cairn.IntParameter()


class PinnedFloat(cairn.Task):
    code_version = "1"
    value = cairn.FloatParameter()


class PinnedDict(cairn.Task):
    code_version = "1"
    value = cairn.DictParameter()


class PinnedAny(cairn.Task):
    code_version = "1"
    value = cairn.ListParameter()


class Downstream(cairn.Task):
    code_version = "1"
    up = cairn.TaskParameter()


def test_golden_digests_pin_the_id_scheme():
    # A change here changes every id in every store: it must be deliberate and noted in
    # the changelog. (The family is "test_identity.<Class>": tests/ is not a package.)
    assert Pinned(value="a").task_id == "d3434ee0d93f83543dc7caa18a342d00"
    assert PinnedInt(value=1).task_id == "cc2179c0d7222b64afda189198498829"
    assert Downstream(up=Pinned(value="a")).task_id == "54c6bea44fbb24b06c7a84139bdb9a72"


def test_golden_canonical_encoding():
    from cairn.identity.canonical import canonical, digest

    value = {"b": [1, 1.0, "1", True, None], "a": (b"x",)}
    assert canonical(value) == "D[S1:a=L[Y1:78],S1:b=L[I1,F0x1.0000000000000p+0,S1:1,B1,N]]"
    assert digest("a", "b") == "c04e17957d4ca3123b3afdaab02e4023"


class Colour(enum.Enum):
    RED = "red"


class Window:
    def __init__(self, start: int, end: int) -> None:
        self.start, self.end = start, end

    def __cairn_serialize__(self) -> str:
        return f"{self.start}:{self.end}"

    @classmethod
    def __cairn_deserialize__(cls, text: str) -> Window:
        start, end = text.split(":")
        return cls(int(start), int(end))


class PinnedDate(cairn.Task):
    code_version = "1"
    value = cairn.DateParameter()


class PinnedDateTime(cairn.Task):
    code_version = "1"
    value = cairn.DateTimeParameter()


class PinnedEnum(cairn.Task):
    code_version = "1"
    value = cairn.EnumParameter(Colour)


class PinnedWindow(cairn.Task):
    code_version = "1"
    value = cairn.SerializableParameter(Window)


class PinnedFile(cairn.Task):
    code_version = "1"
    value = cairn.FileParameter()


TOKYO = dt.timezone(dt.timedelta(hours=9))

# (task, canonical text of its value, task id): one row per encoding. A change to any of
# these changes ids in users' stores: it must be deliberate and noted in the changelog.
GOLDEN = [
    (
        lambda: PinnedDate(value=dt.date(2024, 5, 1)),
        "d2024-05-01",
        "1b2a6a31003ced44d47724117df92d02",
    ),
    (
        lambda: PinnedDateTime(value=dt.datetime(2024, 5, 1, 12, 30, 15, 250)),
        "t2024-05-01T12:30:15.000250",
        "171f26ac523c295a1570afec6c2ac5c7",
    ),
    (
        lambda: PinnedDateTime(value=dt.datetime(2024, 5, 1, 12, 30, tzinfo=TOKYO)),
        "t2024-05-01T12:30:00+09:00",
        "5c5afa56e872b4fc304962a826658fac",
    ),
    (
        lambda: PinnedDateTime(value=dt.datetime(2024, 5, 1, 3, 30, tzinfo=dt.UTC)),
        "t2024-05-01T03:30:00+00:00",
        "079c796eb6a4751327f7b9182c6cc86d",
    ),
    (
        lambda: PinnedEnum(value=Colour.RED),
        "Mtest_identity.Colour.S3:RED",
        "3128a17627b6da888e1454378ca14325",
    ),
    (
        lambda: PinnedWindow(value=Window(2, 5)),
        "Otest_identity.Window:S3:2:5",
        "c59f1f26b59c3fe7d0fabf285a305aea",
    ),
]


@pytest.mark.parametrize(("make", "text", "task_id"), GOLDEN, ids=[g[1][:12] for g in GOLDEN])
def test_golden_digests_pin_every_encoding(make, text, task_id):

    task = make()
    param = type(task).value
    assert param.encode(task.value) == text
    assert task.task_id == task_id


# Values a list parameter refuses (they are not JSON, so their task could never write its
# run record): the canonical encoding still pins their text, and the parameter says no.
NOT_JSON = [
    ({3, 1, 2}, "L[E[I1,I2,I3]]"),
    (decimal.Decimal("1.10"), "L[C1.10]"),
    (uuid.UUID("12345678-1234-5678-1234-567812345678"), "L[G12345678-1234-5678-1234-567812345678]"),
    (PurePosixPath("data/raw.csv"), "L[PS12:data/raw.csv]"),
]


@pytest.mark.parametrize(("value", "text"), NOT_JSON, ids=[t[:12] for _, t in NOT_JSON])
def test_values_that_are_not_json_keep_their_encoding_and_are_refused_in_a_list(value, text):
    from cairn.identity.canonical import canonical

    assert canonical([value]) == text
    with pytest.raises(cairn.ParameterError, match="not a JSON value"):
        PinnedAny(value=[value])


def test_golden_digest_of_a_file_parameter_pins_path_and_content(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.txt").write_bytes(b"hello\n")
    task = PinnedFile(value="in.txt")
    expected = "S6:in.txt#blake2b:ea41b4de6c03f13a95758b28dd75693e"  # path, then content
    assert PinnedFile.value.fingerprint("in.txt") == expected
    assert task.task_id == "ce52ea5530f35d659103ecbbbe55267f"


def test_one_one_point_oh_text_one_and_true_give_four_ids():
    ids = {
        PinnedAny(value=[1]).task_id,
        PinnedAny(value=[1.0]).task_id,
        PinnedAny(value=["1"]).task_id,
        PinnedAny(value=[True]).task_id,
    }
    assert len(ids) == 4


def test_dict_key_order_does_not_change_the_id():
    assert PinnedDict(value={"a": 1, "b": 2}).task_id == PinnedDict(value={"b": 2, "a": 1}).task_id
    assert PinnedDict(value={"a": 1}).task_id != PinnedDict(value={"a": 2}).task_id


def test_insignificant_parameter_is_kept_out_of_the_id_but_shown():
    a, b = Pinned(value="x", note="first"), Pinned(value="x", note="second")
    assert a.task_id == b.task_id
    assert a == b and hash(a) == hash(b)
    assert "note='first'" in repr(a)


def test_equal_tasks_are_equal_values():
    assert Pinned(value="x") == Pinned(value="x")
    assert len({Pinned(value="x"), Pinned(value="x"), Pinned(value="y")}) == 2
    assert Pinned(value="1") != PinnedInt(value=1)


def test_upstream_id_enters_the_downstream_id():
    assert Downstream(up=Pinned(value="a")).task_id != Downstream(up=Pinned(value="b")).task_id


def test_int_and_float_tasks_differ_even_for_equal_numbers():
    assert PinnedInt(value=1).task_id != PinnedFloat(value=1.0).task_id


def _load(tmp_path: Path, source: str, name: str = "user_pipeline"):
    directory = tmp_path / uuid.uuid4().hex
    directory.mkdir()
    path = directory / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # stays registered, as an imported module would
    spec.loader.exec_module(module)
    return module


BASE = """
import cairn

class Step(cairn.Task):
    n = cairn.IntParameter(default=1)

    def run(self):
        return self.n * 2
"""


def test_comments_docstrings_and_formatting_do_not_change_the_id(tmp_path):
    reformatted = '''
    import cairn


    class Step(cairn.Task):
        """A step."""

        n = cairn.IntParameter(   default=1 )   # how many


        def run(self):
            "Double it."
            # a comment
            return (self.n
                    * 2)
    '''
    before = _load(tmp_path, BASE).Step().task_id
    after = _load(tmp_path, reformatted).Step().task_id
    assert before == after


def test_editing_run_changes_the_id(tmp_path):
    before = _load(tmp_path, BASE).Step().task_id
    after = _load(tmp_path, BASE.replace("* 2", "* 3")).Step().task_id
    assert before != after


def test_editing_a_user_base_class_changes_the_id(tmp_path):
    source = """
    import cairn

    class Base(cairn.Task):
        def scale(self):
            return 2

    class Step(Base):
        def run(self):
            return self.scale()
    """
    before = _load(tmp_path, source).Step().task_id
    after = _load(tmp_path, source.replace("return 2", "return 3")).Step().task_id
    assert before != after


def test_code_version_replaces_the_fingerprint(tmp_path):
    pinned = BASE.replace(
        "class Step(cairn.Task):", 'class Step(cairn.Task):\n    code_version = "7"'
    )
    before = _load(tmp_path, pinned).Step().task_id
    after = _load(tmp_path, pinned.replace("* 2", "* 3")).Step().task_id
    bumped = _load(tmp_path, pinned.replace('"7"', '"8"')).Step().task_id
    assert before == after != bumped


def test_class_without_source_is_named_in_a_warning(monkeypatch):
    module = types.ModuleType("generated_tasks")  # made at run time: no source file
    monkeypatch.setitem(sys.modules, "generated_tasks", module)
    exec(
        "import cairn\nclass NoSource(cairn.Task):\n    def run(self):\n        return 1\n",
        module.__dict__,
    )
    with pytest.warns(UserWarning, match="cannot fingerprint generated_tasks.NoSource"):
        module.NoSource().task_id
