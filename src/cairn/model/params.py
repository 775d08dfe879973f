"""Parameter types: declared as task class attributes, validated and converted on construction.

Each parameter type

- ``normalize(value)``: validates and converts a Python value (strings are parsed, so values
  from the command line, environment and config files work the same way);
- ``parse(text)``: converts a string;
- ``serialize(value)``: gives a JSON-compatible form for run records;
- ``encode(value)``: gives the type-tagged canonical text that enters the task id.

Parameters are descriptors: ``task.lr`` reads the task's value, and assigning raises, since
tasks are immutable values.
"""

from __future__ import annotations

import datetime as _dt
import enum
import json
import math
import operator
import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar, Generic, NoReturn, Self, TypeVar, overload

from cairn._errors import ParameterError
from cairn.identity.canonical import TASK_MARKER, canonical, is_task
from cairn.identity.files import content_fingerprint

__all__ = [
    "MISSING",
    "task_text_data",
    "SerializableParameter",
    "BoolParameter",
    "DateParameter",
    "DateTimeParameter",
    "DictParameter",
    "EnumParameter",
    "FileParameter",
    "FloatParameter",
    "FrozenDict",
    "IntParameter",
    "ListParameter",
    "Parameter",
    "TaskListParameter",
    "TaskParameter",
]

T = TypeVar("T")
E = TypeVar("E", bound=enum.Enum)


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __reduce__(self) -> str:
        return "MISSING"


#: Sentinel for "no default": the parameter is required.
MISSING: Any = _Missing()


class FrozenDict(dict[str, Any]):
    """A read-only dict: the value of a :class:`DictParameter`."""

    def _readonly(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("task parameters are immutable; build a new task with other values")

    __setitem__ = __delitem__ = _readonly
    clear = pop = popitem = setdefault = update = _readonly
    __ior__ = _readonly

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(canonical(dict(self)))

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenDict, (dict(self),))


def _freeze(value: Any) -> Any:
    """Deep-convert lists to tuples and dicts to FrozenDicts."""
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, dict):
        return FrozenDict({k: _freeze(v) for k, v in value.items()})
    return value


def _safe_repr(value: Any) -> str:
    """``repr(value)``, shortened, or a placeholder when ``repr`` itself fails (huge ints)."""
    try:
        text = repr(value)
    except Exception:  # a message must never fail to build
        return f"<{type(value).__qualname__} without a printable form>"
    return text if len(text) <= 200 else text[:197] + "..."


def _check_json(value: Any, where: str) -> None:
    """Refuse what a run record cannot store as JSON and read back as the same value:
    non-finite floats, integers too large to print, and dict keys that are not strings."""
    if value is None or isinstance(value, bool | str):
        return
    if isinstance(value, int):
        try:
            str(value)
        except ValueError:
            raise ParameterError(
                f"{where} holds an integer too large to store ({value.bit_length()} bits); "
                "use a smaller number or a string"
            ) from None
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ParameterError(
                f"{where} holds {value!r}; non-finite floats cannot be stored in a run "
                "record as JSON: use a finite number or None"
            )
        return
    if isinstance(value, tuple | list):
        for item in value:
            _check_json(item, where)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ParameterError(
                    f"{where} has the key {key!r} of type {type(key).__qualname__}; "
                    "dict keys must be strings (JSON object keys), e.g. "
                    f"{str(key)!r}"
                )
            _check_json(item, where)
        return
    raise ParameterError(
        f"{where} holds {_safe_repr(value)} of type {type(value).__qualname__}, which is not a "
        "JSON value; a list or dict parameter holds only None, bool, int, float, str, lists "
        "and dicts (with string keys). Convert it first (a set to sorted(...), a date to "
        ".isoformat(), bytes to .hex()), or use a SerializableParameter"
    )


def _thaw(value: Any) -> Any:
    """JSON-compatible copy of a frozen value."""
    if isinstance(value, tuple | list):
        return [_thaw(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _thaw(v) for k, v in value.items()}
    return value


class Parameter(Generic[T]):
    """A string parameter, and the base of every parameter type.

    Args:
        default: value used when the task is built without this parameter; without it the
            parameter is required. ``default=None`` makes ``None`` an accepted value.
        significant: ``False`` keeps the parameter out of the task id (it still shows in
            ``repr`` and the run record).
        description: shown by ``cairn run Task --help``.
    """

    #: Name of the type, shown in help and error messages.
    type_name = "str"

    #: Marks parameter declarations (``PARAMETER_MARKER``) for the code fingerprints.
    __cairn_parameter__: ClassVar[bool] = True

    def __init__(
        self,
        default: Any = MISSING,
        *,
        significant: bool = True,
        description: str = "",
    ) -> None:
        self.significant = significant
        self.description = description
        self.name = "?"
        self.owner_name = "?"
        self._default = default

    # --- descriptor -----------------------------------------------------------------------
    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        self.owner_name = owner.__name__
        if self._default is not MISSING and self._default is not None:
            self._default = self.normalize(self._default)

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> Self: ...

    @overload
    def __get__(self, obj: object, owner: type | None = None) -> T: ...

    def __get__(self, obj: object | None, owner: type | None = None) -> Self | T:
        if obj is None:
            return self
        value: T = obj._values[self.name]  # type: ignore[attr-defined]
        return value

    def __set__(self, obj: object, value: T) -> NoReturn:
        raise AttributeError(
            f"{type(obj).__qualname__}.{self.name} cannot be changed: tasks are immutable. "
            f"Build a new task instead, e.g. task.clone(**{{'{self.name}': ...}})."
        )

    # --- values ---------------------------------------------------------------------------
    @property
    def has_default(self) -> bool:
        """True when the parameter may be omitted."""
        return self._default is not MISSING

    @property
    def default(self) -> Any:
        """The default value, or :data:`MISSING`."""
        return self._default

    def _fail(self, value: Any, expected: str) -> NoReturn:
        raise ParameterError(
            f"{self.owner_name}.{self.name} expects {expected}, got {type(value).__qualname__} "
            f"{_safe_repr(value)}"
        )

    def normalize(self, value: Any) -> T:
        """Validate ``value`` and convert it to this parameter's type.

        Raises:
            ParameterError: when the value has the wrong type or does not parse.
        """
        if value is None and self._default is None:
            none: T = value  # type: ignore[assignment]
            return none
        if isinstance(value, str) and not self._accepts_str():
            return self.parse(value)
        return self._convert(value)

    def _accepts_str(self) -> bool:
        return type(self)._convert is Parameter._convert

    def _convert(self, value: Any) -> T:
        if isinstance(value, str):
            text: T = value  # type: ignore[assignment]
            return text
        if isinstance(value, os.PathLike):
            path: T = os.fspath(value)
            return path
        self._fail(value, "a string (use IntParameter, FloatParameter, ... for other types)")

    def parse(self, text: str) -> T:
        """Convert the string ``text`` (from a command line or config file)."""
        try:
            return self._parse(text)
        except ParameterError:
            raise
        except (ValueError, TypeError) as exc:
            raise ParameterError(
                f"{self.owner_name}.{self.name} expects {self.type_name}, "
                f"and {text!r} does not parse as one: {exc}"
            ) from None

    def _parse(self, text: str) -> T:
        return self._convert(text)

    def serialize(self, value: T) -> Any:
        """Return a JSON-compatible form of ``value`` (for run records)."""
        return _thaw(value)

    def encode(self, value: T) -> str:
        """Return the canonical text of ``value`` for the task id."""
        return canonical(value)

    def fingerprint(self, value: T) -> str:
        """Return what enters the task id: :meth:`encode`, plus a fingerprint of the data the
        value points to for parameters that name outside data (``FileParameter``)."""
        return self.identify(value, self.encode(value), lambda: self.content(value))

    def identify(self, value: T, encoded: str, content: Callable[[], str | None]) -> str:
        """What enters the task id for ``value`` whose :meth:`encode` text is ``encoded``.

        ``content()`` gives the fingerprint of the data the value names outside the store
        (see :meth:`content`); a task calls this with the text and content it made once.
        """
        del value, content
        return encoded

    def content(self, value: T) -> str | None:
        """A fingerprint of the data ``value`` names outside the store, or None (for most
        parameters: none; ``FileParameter``: the file's content)."""
        del value
        return None

    def __repr__(self) -> str:
        default = "" if self._default is MISSING else f"default={self._default!r}"
        return f"{type(self).__name__}({default})"


class IntParameter(Parameter[int]):
    """An integer. Refuses floats (even 2.0) and bools; parses decimal strings."""

    type_name = "int"

    def _convert(self, value: Any) -> int:
        if isinstance(value, bool | float):
            self._fail(value, "an integer")
        try:
            number = operator.index(value)
        except TypeError:
            self._fail(value, "an integer")
        _check_json(number, f"{self.owner_name}.{self.name}")
        return number

    def _parse(self, text: str) -> int:
        return self._convert(int(text.strip()))


class FloatParameter(Parameter[float]):
    """A float; integers are converted. Refuses bools."""

    type_name = "float"

    def _convert(self, value: Any) -> float:
        if (isinstance(value, bool) or not isinstance(value, int | float)) and (
            not hasattr(value, "__float__") or isinstance(value, bool | str)
        ):
            self._fail(value, "a number")
        try:
            number = float(value)
        except (OverflowError, ValueError, TypeError):
            self._fail(value, "a finite number")
        _check_json(number, f"{self.owner_name}.{self.name}")
        return number

    def _parse(self, text: str) -> float:
        return self._convert(float(text.strip()))


_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


class BoolParameter(Parameter[bool]):
    """A bool; parses true/false, yes/no, 1/0, on/off."""

    type_name = "bool"

    def _convert(self, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        self._fail(value, "True or False")

    def _parse(self, text: str) -> bool:
        low = text.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise ValueError("use true or false")


class DateParameter(Parameter[_dt.date]):
    """A date: a ``datetime.date`` or an ISO string such as ``"2024-05-01"``."""

    type_name = "date"

    def _convert(self, value: Any) -> _dt.date:
        if isinstance(value, _dt.datetime):
            self._fail(value, "a date without a time (use DateTimeParameter for datetimes)")
        if isinstance(value, _dt.date):
            return value
        self._fail(value, "a date or an ISO date string")

    def _parse(self, text: str) -> _dt.date:
        return _dt.date.fromisoformat(text.strip())

    def serialize(self, value: _dt.date) -> Any:
        return value.isoformat()


class DateTimeParameter(Parameter[_dt.datetime]):
    """A datetime: a ``datetime.datetime`` or an ISO string.

    With ``timezone=`` (a ``tzinfo``), aware values are converted to that zone and naive
    values are refused unless ``assume_timezone=True``, which reads them in that zone.
    """

    type_name = "datetime"

    def __init__(
        self,
        default: Any = MISSING,
        *,
        timezone: _dt.tzinfo | None = None,
        assume_timezone: bool = False,
        significant: bool = True,
        description: str = "",
    ) -> None:
        self.timezone = timezone
        self.assume_timezone = assume_timezone
        super().__init__(default, significant=significant, description=description)

    def _convert(self, value: Any) -> _dt.datetime:
        if not isinstance(value, _dt.datetime):
            self._fail(value, "a datetime or an ISO datetime string")
        if self.timezone is None:
            return value
        if value.tzinfo is None:
            if not self.assume_timezone:
                self._fail(
                    value,
                    f"a time-zone-aware datetime (this parameter is in {self.timezone}; "
                    "pass assume_timezone=True to read naive values in that zone)",
                )
            return value.replace(tzinfo=self.timezone)
        return value.astimezone(self.timezone)

    def _parse(self, text: str) -> _dt.datetime:
        return self._convert(_dt.datetime.fromisoformat(text.strip()))

    def serialize(self, value: _dt.datetime) -> Any:
        return value.isoformat()


class EnumParameter(Parameter[E]):
    """A member of ``enum``; accepts a member, or a member's name or value."""

    def __init__(
        self,
        enum: type[E],
        default: Any = MISSING,
        *,
        significant: bool = True,
        description: str = "",
    ) -> None:
        self.enum = enum
        self.type_name = f"one of {', '.join(m.name for m in enum)}"
        super().__init__(default, significant=significant, description=description)

    def _convert(self, value: Any) -> E:
        if isinstance(value, self.enum):
            return value
        if isinstance(value, str) and value in self.enum.__members__:
            return self.enum[value]
        try:
            return self.enum(value)
        except ValueError:
            self._fail(value, self.type_name)

    def _parse(self, text: str) -> E:
        return self._convert(text.strip())

    def serialize(self, value: E) -> Any:
        return value.name


class ListParameter(Parameter[tuple[Any, ...]]):
    """A list, stored as a tuple (deeply frozen); parses JSON arrays."""

    type_name = "list"

    def _convert(self, value: Any) -> tuple[Any, ...]:
        if isinstance(value, list | tuple):
            frozen: tuple[Any, ...] = _freeze(value)
            _check_json(frozen, f"{self.owner_name}.{self.name}")
            canonical(frozen)  # every element must be encodable
            return frozen
        self._fail(value, "a list or tuple")

    def _parse(self, text: str) -> tuple[Any, ...]:
        return self._convert(json.loads(text))


class DictParameter(Parameter[Mapping[str, Any]]):
    """A dict, stored read-only (deeply frozen); key order does not change the id."""

    type_name = "dict"

    def _convert(self, value: Any) -> Mapping[str, Any]:
        if isinstance(value, Mapping):
            frozen: FrozenDict = _freeze(dict(value))
            _check_json(frozen, f"{self.owner_name}.{self.name}")
            canonical(frozen)
            return frozen
        self._fail(value, "a dict")

    def _parse(self, text: str) -> Mapping[str, Any]:
        return self._convert(json.loads(text))


def _task_ref(value: Any) -> dict[str, Any] | None:
    if value is None:  # an optional task parameter left out (default=None)
        return None
    return {"task": value.family, "task_id": value.task_id}


def _check_task_class(expected: Any, where: str) -> type | None:
    """Refuse an ``expected_type`` that is not a class, when the parameter is declared."""
    if expected is None or isinstance(expected, type):
        return expected
    raise ParameterError(
        f"{where} must be a task class (or None), not {type(expected).__qualname__} {expected!r}"
    )


def _resolve_task_class(name: str, where: str) -> type:
    """The task class named ``module:QualName`` (or ``module.QualName``), imported."""
    import importlib

    if not isinstance(name, str) or not name.strip():
        raise ParameterError(
            f"{where} names its task as 'module:ClassName', like 'mypkg.tasks:LoadData'; "
            f"got {name!r}"
        )
    name = name.strip()
    if ":" in name:
        candidates = [tuple(name.split(":", 1))]
    else:  # module.Class, or module.Outer.Inner: try the longest importable module first
        parts = name.split(".")
        candidates = [
            (".".join(parts[:i]), ".".join(parts[i:])) for i in range(len(parts) - 1, 0, -1)
        ]
    problem = "it names no module and class"
    for module_name, qualname in candidates:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            problem = f"the module {module_name!r} cannot be imported ({exc})"
            continue
        obj: Any = module
        try:
            for attr in qualname.split("."):
                obj = getattr(obj, attr)
        except AttributeError:
            problem = f"the module {module_name!r} has no {qualname!r}"
            continue
        if isinstance(obj, type) and getattr(obj, TASK_MARKER, False):
            return obj
        problem = f"{name!r} is not a cairn.Task subclass"
    raise ParameterError(
        f"{where} takes a task, named as 'module:ClassName' (the module importable: "
        f"installed, or on PYTHONPATH); cannot find {name!r}: {problem}"
    )


def _task_from_data(data: Any, where: str) -> Any:
    """A task from its text form's data: ``"module:Class"``, or ``{"task": "module:Class",
    "params": {...}}`` whose parameter values may nest tasks the same way."""
    if isinstance(data, str):
        return _resolve_task_class(data, where)()
    if not isinstance(data, Mapping) or not isinstance(data.get("task"), str):
        raise ParameterError(
            f"{where} takes a task as 'module:ClassName' or as JSON "
            '{"task": "module:ClassName", "params": {...}}; got ' + f"{data!r:.200}"
        )
    unknown = set(data) - {"task", "params"}
    if unknown:
        raise ParameterError(
            f"{where}: a task's JSON form has the keys 'task' and 'params' only; "
            f"got {sorted(unknown)}"
        )
    cls = _resolve_task_class(data["task"], where)
    params = data.get("params") or {}
    if not isinstance(params, Mapping):
        raise ParameterError(f"{where}: 'params' must be a JSON object, got {params!r:.200}")
    return cls(**params)


def task_text_data(task: Any) -> dict[str, Any]:
    """The JSON-compatible text form of ``task``: its class as ``module:QualName`` and every
    parameter's value, tasks nested the same way (the inverse of ``TaskParameter.parse``)."""
    cls = type(task)
    params: dict[str, Any] = {}
    for name, param in cls._params.items():
        value = task._values[name]
        if isinstance(param, TaskParameter):
            params[name] = None if value is None else task_text_data(value)
        elif isinstance(param, TaskListParameter):
            params[name] = [task_text_data(v) for v in value]
        else:
            params[name] = param.serialize(value)
    return {"task": f"{cls.__module__}:{cls.__qualname__}", "params": params}


def _json_or_name(text: str) -> Any:
    """Parse the text form of a task (JSON, or a bare ``module:Class``)."""
    stripped = text.strip()
    if stripped.startswith(("{", "[", '"')):
        return json.loads(stripped)
    return stripped


class TaskParameter(Parameter[T]):
    """A task given as a parameter; the task requires it unless ``requires()`` says otherwise.

    ``expected_type`` (a task class) restricts what may be passed: an instance of it or of a
    subclass. As text (command line, config files) a task is ``module:ClassName`` (its
    parameters at their defaults) or JSON, ``{"task": "module:ClassName", "params":
    {"path": "a.csv"}}``, with tasks nested the same way; :meth:`text` writes that form.
    """

    type_name = "task"

    def __init__(
        self,
        default: Any = MISSING,
        *,
        expected_type: type | None = None,
        significant: bool = True,
        description: str = "",
    ) -> None:
        self.expected_type = _check_task_class(expected_type, "TaskParameter(expected_type=)")
        super().__init__(default, significant=significant, description=description)

    def _check(self, value: Any) -> Any:
        if isinstance(value, Mapping):
            value = _task_from_data(value, f"{self.owner_name}.{self.name}")
        if not is_task(value):
            self._fail(value, "a task instance")
        if self.expected_type is not None and not isinstance(value, self.expected_type):
            self._fail(value, f"an instance of {self.expected_type.__qualname__}")
        return value

    def _convert(self, value: Any) -> T:
        checked: T = self._check(value)
        return checked

    def _parse(self, text: str) -> T:
        data = _json_or_name(text)
        return self._convert(_task_from_data(data, f"{self.owner_name}.{self.name}"))

    def text(self, value: T) -> str:
        """The value's text form, which :meth:`parse` reads back as an equal task."""
        return json.dumps(task_text_data(value), sort_keys=True)

    def serialize(self, value: T) -> Any:
        return _task_ref(value)


class TaskListParameter(Parameter[tuple[T, ...]]):
    """A list of tasks (stored as a tuple); all are required by default.

    ``expected_elements_type`` (a task class) restricts what each may be. As text: a JSON
    array of tasks in :class:`TaskParameter`'s text form.
    """

    type_name = "list of tasks"

    def __init__(
        self,
        default: Any = MISSING,
        *,
        expected_elements_type: type | None = None,
        significant: bool = True,
        description: str = "",
    ) -> None:
        self.expected_elements_type = _check_task_class(
            expected_elements_type, "TaskListParameter(expected_elements_type=)"
        )
        super().__init__(default, significant=significant, description=description)

    def _convert(self, value: Any) -> tuple[T, ...]:
        if isinstance(value, list | tuple):
            where = f"{self.owner_name}.{self.name}"
            items = [_task_from_data(v, where) if isinstance(v, Mapping) else v for v in value]
            expected = self.expected_elements_type
            for item in items:
                if not is_task(item):
                    self._fail(item, "a list of task instances")
                if expected is not None and not isinstance(item, expected):
                    self._fail(item, f"a list of {expected.__qualname__} instances")
            return tuple(items)
        self._fail(value, "a list of task instances")

    def _parse(self, text: str) -> tuple[T, ...]:
        data = _json_or_name(text)
        if not isinstance(data, list):
            raise ParameterError(
                f"{self.owner_name}.{self.name} takes a JSON array of tasks, like "
                '[{"task": "mypkg.tasks:Load", "params": {"day": "2024-05-01"}}]'
            )
        where = f"{self.owner_name}.{self.name}"
        return self._convert([_task_from_data(item, where) for item in data])

    def text(self, value: tuple[T, ...]) -> str:
        """The value's text form, which :meth:`parse` reads back as equal tasks."""
        return json.dumps([task_text_data(v) for v in value], sort_keys=True)

    def serialize(self, value: tuple[T, ...]) -> Any:
        return [_task_ref(v) for v in value]


class SerializableParameter(Parameter[T]):
    """A value of your own type that knows how to become a string and back.

    The type defines ``__cairn_serialize__(self) -> str`` and a classmethod
    ``__cairn_deserialize__(cls, text) -> instance``; or pass ``serialize=`` and
    ``deserialize=`` functions. The string enters the task id and the run record, and the
    command line and config files give values as that string.
    """

    def __init__(
        self,
        value_type: type[T],
        default: Any = MISSING,
        *,
        serialize: Callable[[T], str] | None = None,
        deserialize: Callable[[str], T] | None = None,
        significant: bool = True,
        description: str = "",
    ) -> None:
        self.value_type = value_type
        self.type_name = value_type.__name__
        to_text = serialize or getattr(value_type, "__cairn_serialize__", None)
        from_text = deserialize or getattr(value_type, "__cairn_deserialize__", None)
        if to_text is None or from_text is None:
            raise ParameterError(
                f"SerializableParameter({value_type.__name__}) needs a way to write the value "
                "as a string and read it back: define __cairn_serialize__(self) and a "
                "classmethod __cairn_deserialize__(cls, text) on the type, or pass "
                "serialize= and deserialize= functions"
            )
        self._to_text: Callable[[T], str] = to_text
        self._from_text: Callable[[str], T] = from_text
        super().__init__(default, significant=significant, description=description)

    def _convert(self, value: Any) -> T:
        if isinstance(value, self.value_type):
            return value
        self._fail(value, f"a {self.value_type.__name__} or its string form")

    def _parse(self, text: str) -> T:
        value = self._from_text(text)
        return self._convert(value)

    def text(self, value: T) -> str:
        """The value's string form, checked to be a string."""
        out = self._to_text(value)
        if not isinstance(out, str):
            raise ParameterError(
                f"{self.owner_name}.{self.name}: serializing {value!r} gave "
                f"{type(out).__name__}, not a string"
            )
        return out

    def serialize(self, value: T) -> Any:
        return self.text(value)

    def encode(self, value: T) -> str:
        cls = self.value_type
        return f"O{cls.__module__}.{cls.__qualname__}:" + canonical(self.text(value))


class FileParameter(Parameter[str]):
    """A path or fsspec URL of an input file outside the store.

    The task id includes a fingerprint of the file's content (see :mod:`cairn.identity.files`), so
    replacing the file reruns the task and touching it does not. The plan fails, naming the
    task, when the file does not exist.

    Args:
        storage_options: passed to fsspec for URLs (credentials, endpoint); not part of the id.
    """

    type_name = "file path"

    def __init__(
        self,
        default: Any = MISSING,
        *,
        storage_options: dict[str, Any] | None = None,
        significant: bool = True,
        description: str = "",
    ) -> None:
        self.storage_options = dict(storage_options or {})
        super().__init__(default, significant=significant, description=description)

    def content(self, value: str | None) -> str | None:
        """The content fingerprint of the file ``value`` names (None when it is missing or
        no file is given)."""
        if value is None:
            return None
        return content_fingerprint(value, self.storage_options)

    def identify(self, value: str | None, encoded: str, content: Callable[[], str | None]) -> str:
        """The path and the content fingerprint: what enters the task id."""
        if value is None:  # no file given (default=None)
            return encoded
        return encoded + "#" + (content() or "missing")


def iter_tasks(value: Any) -> Iterable[Any]:
    """Yield the tasks held by a parameter value (a task, or a tuple of them)."""
    if is_task(value):
        yield value
    elif isinstance(value, tuple):
        for item in value:
            if is_task(item):
                yield item
