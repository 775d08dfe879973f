"""How task classes are declared, and the parameter values a new task takes.

:class:`TaskMeta` collects a class's parameters (its own and inherited ones) and names its
family (``{namespace.}{module}.{qualified name}``, the start of every id) and its folder in
the workspace. It carries ``typing.dataclass_transform``, so type checkers see the
parameters as constructor fields (see :mod:`cairn.model.param_specs`).
:func:`parameter_values` gives a new task its values: given, configured for its family,
inherited from its parameter groups (``@inherits``), or the defaults.
"""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING, Any, dataclass_transform

from cairn._config import ParameterValues
from cairn._errors import ParameterError, suggest
from cairn.model.params import Parameter
from cairn.storage import layout

if TYPE_CHECKING:
    from cairn.model.task import Task

__all__ = ["TaskMeta", "group_values", "parameter_values", "shown"]

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
    """Collects a task class's parameters and computes its family name."""

    def __new__(mcls, name: str, bases: tuple[type, ...], ns: dict[str, Any], **kw: Any) -> Any:
        cls = super().__new__(mcls, name, bases, ns, **kw)
        params: dict[str, Parameter[Any]] = {}
        for klass in reversed(cls.__mro__):
            for key, value in vars(klass).items():
                if isinstance(value, Parameter):
                    params[key] = value
                elif key in params:
                    del params[key]  # a subclass replaced the parameter with something else
        cls._params = params  # type: ignore[attr-defined]
        namespace = getattr(cls, "namespace", None)
        if namespace is not None and not isinstance(namespace, str):
            namespace = None  # e.g. a parameter that happens to be called "namespace"
        prefix = f"{namespace}." if namespace else ""
        cls.family = f"{prefix}{cls.__module__}.{cls.__qualname__}"  # type: ignore[attr-defined]
        cls._path_prefix = layout.task_dir(cls.__module__, namespace)  # type: ignore[attr-defined]
        return cls


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
