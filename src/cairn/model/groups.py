"""Parameter groups: values many tasks share (gokart's ``inherits_config_params``).

A :class:`ParameterGroup` is a task class that never runs: its parameters' defaults, or its
section of the configuration, are the shared values. :func:`inherits` links a task class to
groups; the task then takes, for every parameter it shares with a group, the group's value
when none is given (see ``Task.__init__``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from cairn._errors import CairnError, ParameterError
from cairn.model.task import Task

__all__ = ["ParameterGroup", "inherits"]

TaskT = TypeVar("TaskT", bound=Task[Any])


class ParameterGroup(Task[None]):
    """Values shared by many tasks: its parameters' defaults, or its config file section.

    A task class decorated with :func:`inherits` takes, for every parameter it shares with
    the group (by name, or by an alias), the group's value when it is not given explicitly or
    set for the task's own family in the configuration. A group never runs.
    """

    def run(self) -> None:
        raise CairnError(f"{type(self).__name__} is a parameter group; it holds values, not work")


def inherits(*groups: type[ParameterGroup], aliases: Mapping[str, str] | None = None) -> Any:
    """Class decorator: take parameter values from ``groups`` (gokart's inherits_config_params).

    Parameters with the same name in the task and a group are shared; ``aliases`` maps a task
    parameter to a group parameter of another name: ``aliases={"day": "date"}``.

    Raises:
        ParameterError: when an alias names a parameter the task or the groups lack.
    """
    extra = dict(aliases or {})

    def decorate(cls: type[TaskT]) -> type[TaskT]:
        if not (isinstance(cls, type) and issubclass(cls, Task)):
            raise CairnError(f"@cairn.inherits decorates task classes, not {cls!r}")
        links: list[tuple[type[ParameterGroup], dict[str, str]]] = []
        for group in groups:
            if not (isinstance(group, type) and issubclass(group, ParameterGroup)):
                raise CairnError(f"@cairn.inherits takes ParameterGroup classes, not {group!r}")
            shared = {n: n for n in group._params if n in cls._params}
            shared.update({t: g for t, g in extra.items() if g in group._params})
            links.append((group, shared))
        known = {t for _, shared in links for t in shared}
        for task_name, group_name in extra.items():
            if task_name not in cls._params or task_name not in known:
                raise ParameterError(
                    f"@cairn.inherits alias {task_name!r} -> {group_name!r}: "
                    f"{cls.__name__} needs a parameter {task_name!r} and a group a parameter "
                    f"{group_name!r}"
                )
        # the class's own groups come before those it inherits: a child's group overrides
        # its parent's for a parameter both share
        cls._groups = (*links, *cls._groups)
        return cls

    return decorate
