"""The graph tasks declare: nestings of tasks, and ids computed children first.

A nesting (what ``requires()`` returns, and ``load()`` gives back in the same shape) is a
task, or a list, tuple or dict of nestings; ``None`` leaves are allowed. A task's id needs
the ids of the tasks its ``requires()`` returns and of the tasks its parameters hold
(``Task._make_id``), so :func:`compute_ids` works bottom up with an explicit stack. Every
walk here is iterative: a ``requires()`` chain 100,000 deep works, and a cycle is reported
by name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from cairn._errors import DependencyCycleError, RequirementError
from cairn.identity.canonical import is_task
from cairn.model.params import iter_tasks

if TYPE_CHECKING:
    from cairn.model.task import Task

__all__ = ["compute_ids", "count_reachable", "flatten", "map_structure", "materialize"]


def compute_ids(root: Task[Any]) -> None:
    """Compute the ids of ``root`` and everything it needs, children first, iteratively.

    ``requires()`` usually makes new task objects, so one task is often reached as several
    equal objects (a lattice where each task needs two of the layer below reaches the
    bottom by 2**depth paths). An object equal to one whose id is known (same class, same
    parameter values) takes that id and its requirements instead of being walked again, so
    the work is linear in the number of distinct tasks.

    Raises:
        DependencyCycleError: when requirements form a cycle, naming the tasks in it.
    """
    if root._id is not None:
        return
    on_path: dict[str, Task[Any]] = {}
    parent: dict[str, Task[Any] | None] = {root._vkey: None}
    known: dict[tuple[type, str], Task[Any]] = {}
    stack: list[tuple[Task[Any], bool]] = [(root, False)]
    while stack:
        task, expanded = stack.pop()
        if task._id is not None:
            continue
        key = task._vkey
        if expanded:
            task._id = task._make_id()
            del on_path[key]
            if _values_decide_everything(type(task)):
                known[(type(task), key)] = task
            continue
        twin = known.get((type(task), key))
        if twin is not None:
            _adopt(task, twin)
            continue
        if key in on_path:  # reached again below itself: a cycle
            continue
        on_path[key] = task
        stack.append((task, True))
        for child in _children(task):
            if child._id is not None:
                continue
            ckey = child._vkey
            if ckey in on_path:
                _raise_cycle(task, child, parent)
            parent[ckey] = task
            stack.append((child, False))


def count_reachable(roots: Iterable[Task[Any]]) -> int:
    """How many distinct tasks ``roots`` reach (below complete tasks too), by id."""
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        task = stack.pop()
        tid = task.task_id
        if tid not in seen:
            seen.add(tid)
            stack.extend(task._dependencies())
    return len(seen)


def _values_decide_everything(cls: type) -> bool:
    """True when a task's significant parameter values (its value key) decide all it is: no
    insignificant parameter that ``requires()`` could read."""
    found: bool | None = cls.__dict__.get("_cairn_values_decide")
    if found is None:
        found = all(p.significant for p in cls._params.values())  # type: ignore[attr-defined]
        cls._cairn_values_decide = found  # type: ignore[attr-defined]
    return found


def _adopt(task: Task[Any], twin: Task[Any]) -> None:
    """Give ``task`` the id and requirements of ``twin``, an equal task already walked."""
    task._id = twin._id
    if twin._deps_cache is not None:  # requires() of equal tasks gives equal tasks: share
        task._req_cache = twin._req_cache
        task._deps_cache = twin._deps_cache


def _children(task: Task[Any]) -> list[Task[Any]]:
    """Tasks whose ids ``task``'s id needs: requirements and task-valued parameters."""
    children = list(task._dependencies())
    for value in task._values.values():
        children.extend(iter_tasks(value))
    return children


def _raise_cycle(task: Task[Any], child: Task[Any], parent: dict[str, Task[Any] | None]) -> None:
    cycle = [task]
    node = parent.get(task._vkey)
    while node is not None and node._vkey != child._vkey:
        cycle.append(node)
        node = parent.get(node._vkey)
    cycle.append(child)
    cycle.reverse()
    names = " -> ".join(repr(t) for t in [*cycle, cycle[0]])
    raise DependencyCycleError(
        f"requirements form a cycle: {names}. Break it by changing one of these requires().",
        cycle,
    )


def flatten(structure: Any, owner: Any = None) -> list[Task[Any]]:
    """Return the tasks in a nesting of tasks, lists, tuples and dicts, in order.

    Raises:
        RequirementError: for a leaf that is not a task (``None`` leaves are skipped).
    """
    if is_task(structure):
        return [structure]
    out: list[Task[Any]] = []
    stack: list[Any] = [structure]
    while stack:
        item = stack.pop()
        if is_task(item):
            out.append(item)
        elif isinstance(item, Mapping):
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list | tuple):
            stack.extend(reversed(item))
        elif item is not None:
            where = f"{owner!r}.requires()" if owner is not None else "requires()"
            raise RequirementError(
                f"{where} returned {type(item).__qualname__} {item!r}, which is not a task. "
                "requires() may return a task, or a list, tuple or dict of tasks (nested)."
            )
    return out


def materialize(structure: Any) -> Any:
    """``requires()``'s result with every iterable that is not a task, dict, list, tuple or
    str (a generator, a set, a ``dict_values``) turned into a list, so it can be walked and
    loaded more than once; the rest is kept as it is."""
    if is_task(structure) or structure is None or isinstance(structure, str | bytes):
        return structure
    if isinstance(structure, Mapping):
        if any(_needs_list(v) for v in structure.values()):
            return {k: materialize(v) for k, v in structure.items()}
        return structure
    if isinstance(structure, list | tuple):
        if any(_needs_list(v) for v in structure):
            return type(structure)(materialize(v) for v in structure)
        return structure
    if isinstance(structure, Iterable):
        return [materialize(v) for v in structure]
    return structure


def _needs_list(item: Any) -> bool:
    if is_task(item) or isinstance(item, str | bytes):
        return False
    if isinstance(item, Mapping | list | tuple):
        return any(_needs_list(v) for v in (item.values() if isinstance(item, Mapping) else item))
    return isinstance(item, Iterable)


def map_structure(structure: Any, func: Any) -> Any:
    """Apply ``func`` to every task in ``structure``, keeping its shape."""
    if is_task(structure):
        return func(structure)
    if isinstance(structure, Mapping):
        return {k: map_structure(v, func) for k, v in structure.items()}
    if isinstance(structure, list | tuple):
        return type(structure)(map_structure(v, func) for v in structure)
    return structure
