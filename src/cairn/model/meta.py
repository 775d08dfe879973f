"""How task classes are declared, and the parameter values a new task takes.

:class:`TaskMeta` collects a class's parameters (its own and inherited ones), checks its
class options (:mod:`cairn.model.options`) and names its family (``{namespace.}{module}.
{qualified name}``, the start of every id) and its folder in the workspace. It carries
``typing.dataclass_transform``, so type checkers see the parameters as constructor fields
(see :mod:`cairn.model.param_specs`).

A task's parameters share its namespace with the ``Task`` API, so a parameter may not take a
name ``Task`` or its metaclass uses (``label``, ``logger``, ``load``, ``output``, ``task_id``,
``_values``...; :func:`reserved_names`): such a class is refused when it is defined, naming
the conflict and suggesting another name. Class options are the exception: a parameter
called ``retries`` or ``schema`` is a parameter, and the option keeps its default.
:func:`parameter_values` gives a new task its values: given, configured for its family,
inherited from its parameter groups (``@inherits``), or the defaults.
"""

from __future__ import annotations

import datetime as _dt
import inspect
from typing import TYPE_CHECKING, Any, dataclass_transform

from cairn._config import ParameterValues
from cairn._errors import ConfigError, ParameterError, suggest
from cairn.model.options import OPTIONS, check_options, option
from cairn.model.params import Parameter
from cairn.storage import layout

if TYPE_CHECKING:
    from cairn.model.task import Task

__all__ = ["TaskMeta", "group_values", "parameter_values", "reserved_names", "shown"]

if TYPE_CHECKING:
    from cairn.model import param_specs as _spec
else:
    from cairn.model import params as _spec


@dataclass_transform(
    kw_only_default=True,
    field_specifiers=(
        _spec.Parameter,
        _spec.IntParameter,
        _spec.FloatParameter,
        _spec.BoolParameter,
        _spec.DateParameter,
        _spec.DateTimeParameter,
        _spec.EnumParameter,
        _spec.ListParameter,
        _spec.DictParameter,
        _spec.TaskParameter,
        _spec.TaskListParameter,
        _spec.SerializableParameter,
        _spec.FileParameter,
    ),
)
class TaskMeta(type):
    """Collects a task class's parameters, checks its options and computes its family name.

    Raises:
        ParameterError: for a parameter named like a part of the ``Task`` API.
        ConfigError: (or ``SchemaError``) for a class option with a wrong value.
    """

    #: The names a parameter may not take: set once ``Task`` itself is defined.
    _reserved: frozenset[str] = frozenset()

    def __new__(mcls, name: str, bases: tuple[type, ...], ns: dict[str, Any], **kw: Any) -> Any:
        cls = super().__new__(mcls, name, bases, ns, **kw)
        for key, value in ns.items():
            if isinstance(value, Parameter) and key in TaskMeta._reserved:
                raise _reserved_error(cls, key)
        params: dict[str, Parameter[Any]] = {}
        for klass in reversed(cls.__mro__):
            for key, value in vars(klass).items():
                if isinstance(value, Parameter):
                    params[key] = value
                elif key in params:
                    del params[key]  # a subclass replaced the parameter with something else
        cls._params = params
        check_options(cls)
        namespace = option(cls, "namespace")
        prefix = f"{namespace}." if namespace else ""
        cls.family = f"{prefix}{cls.__module__}.{cls.__qualname__}"
        cls._path_prefix = layout.task_dir(cls.__module__, namespace)
        if ns.get("__cairn_task__"):  # Task itself: what it and this metaclass use is taken
            TaskMeta._reserved = reserved_names(cls)
        return cls

    def __setattr__(cls, name: str, value: Any) -> None:
        if name in OPTIONS and name not in cls.__dict__.get("_params", ()):
            if name == "namespace":
                raise ConfigError(
                    f"{cls.__qualname__}.namespace is read when the class is defined (it names "
                    "the family and the folder); set it in the class body"
                )
            OPTIONS[name].check(value, f"{cls.__qualname__}.{name}")
        super().__setattr__(name, value)


#: Names suggested instead of a reserved one; others get ``{name}_value``.
_SUGGESTIONS = {
    "label": "tag",
    "logger": "logger_name",
    "load": "source",
    "dump": "destination",
    "output": "output_name",
    "run": "run_name",
    "requires": "requirements",
    "task_id": "source_task_id",
    "family": "model_family",
    "random": "random_state",
    "require": "required",
}


def reserved_names(task_cls: type) -> frozenset[str]:
    """Every name ``task_cls`` (``Task``) and its metaclass use, public or private, with the
    instance attributes ``Task`` declares; class options are left out (see the module
    docstring)."""
    names = set(dir(task_cls)) | set(dir(type(task_cls)))
    names.update(getattr(task_cls, "_instance_attributes", ()))
    return frozenset(names - set(OPTIONS))


def _reserved_error(cls: type, name: str) -> ParameterError:
    owners = [*cls.__mro__[1:], *inspect.getmro(type(cls))]
    attr = next((vars(k)[name] for k in owners if name in vars(k)), None)
    if isinstance(attr, property):
        what = f"the property Task.{name}"
    elif attr is not None and (callable(attr) or isinstance(attr, classmethod | staticmethod)):
        what = f"the method Task.{name}()"
    elif attr is None:
        what = "an attribute cairn keeps on every task"
    else:
        what = "an attribute of every task class"
    other = _SUGGESTIONS.get(name, f"{name.strip('_') or 'value'}_value")
    return ParameterError(
        f"{cls.__qualname__}.{name}: a parameter cannot be called {name!r}, which is {what} "
        f"(the parameter would replace it and break the task). Call it something else, "
        f"e.g. {other!r}."
    )


def group_values(cls: type[Task[Any]]) -> dict[str, Any]:
    """The values ``cls`` takes from its parameter groups (``@inherits``), by parameter."""
    values: dict[str, Any] = {}
    for group, aliases in cls._groups:
        instance = group()
        for task_name, group_name in aliases.items():
            values.setdefault(task_name, instance._values[group_name])
    return values


def parameter_values(
    cls: type[Task[Any]],
    args: tuple[Any, ...],
    given: dict[str, Any],
    source: ParameterValues | None,
) -> dict[str, Any]:
    """The values of a new task of ``cls``, by parameter: given (normalised), else set for
    its family in the configuration ``source``, else from its groups, else the default.

    Raises:
        ParameterError: for positional arguments, an unknown parameter, or a required one
            without a value.
    """
    params = cls._params
    if args:
        raise ParameterError(
            f"{cls.__name__} takes parameters by name only, "
            f"like {cls.__name__}({', '.join(f'{n}=...' for n in params)})"
        )
    values: dict[str, Any] = {}
    for name, value in given.items():
        param = params.get(name)
        if param is None:
            valid = ", ".join(params) or "none"
            raise ParameterError(
                f"{cls.__name__} has no parameter {name!r}.{suggest(name, params)} "
                f"Its parameters are: {valid}."
            )
        values[name] = param.normalize(value)
    configured = source.for_class(cls) if source is not None else None
    inherited = group_values(cls) if cls._groups else None
    missing = []
    for name, param in params.items():
        if name not in values:
            if configured and name in configured:
                values[name] = configured[name]
            elif inherited and name in inherited:
                values[name] = param.normalize(inherited[name])
            elif param.has_default:
                values[name] = param.default
            else:
                missing.append(name)
    if missing:
        raise ParameterError(
            f"{cls.__name__} needs a value for {', '.join(repr(m) for m in missing)} "
            f"(no default): pass it as {cls.__name__}({missing[0]}=...)"
        )
    return {name: values[name] for name in params}


def shown(value: Any) -> str:
    """A parameter value for people: dates and datetimes in ISO form, the rest as ``repr``."""
    if isinstance(value, _dt.date):
        return value.isoformat()
    return repr(value)
