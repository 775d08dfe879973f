"""Code fingerprints: what code contributes to an id.

A fingerprint is a digest over *components*, each the AST-normalised source of one piece of
the user's own code, keyed by qualified name: a method (``pkg.tasks.Train.run``), the rest of
a class body (``pkg.tasks.Train``), a function (``pkg.helpers.clean``), a lambda, a
module-level constant (``pkg.config.THRESHOLD``, by value when it has a canonical encoding,
else by the statements that assign it) or a closure variable. Comments, docstrings,
annotations' layout, blank lines and formatting do not change a component.

Starting from a task class (with the user's base classes it inherits from) or a plain
function, the walk follows every name the code uses: module globals, attributes of the user's
modules (``helpers.clean``), imports inside functions (``from .util import scale``) and closure
cells, transitively, until it reaches code that is not the user's own (see
:mod:`cairn._usercode`); cycles end because each object is visited once. Task classes reached
by reference (an upstream in ``requires()``) are not followed: they count through their ids.

Each object's own component and outgoing references are computed once per process and
shared, and each root's fingerprint is cached, so a build of 5,000 tasks of one class
fingerprints once. An object that cannot be fingerprinted (no source, a compiled function) is
named in a :class:`FingerprintWarning` once and counts by its qualified name.

Reuse: :func:`class_fingerprint` serves tasks; :func:`function_fingerprint` serves anything
defined by a plain function (the nodes of a function pipeline).
"""

from __future__ import annotations

import ast
import contextlib
import copy
import functools
import importlib
import importlib.util
import sys
import threading
import types
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from cairn import _source
from cairn._errors import CairnError
from cairn._identity import TASK_MARKER, canonical, digest
from cairn._params import Parameter
from cairn._usercode import current_settings, is_user_module, is_user_path, on_settings_change

__all__ = [
    "DISABLED",
    "Fingerprint",
    "FingerprintWarning",
    "class_fingerprint",
    "function_fingerprint",
    "is_user_module",
]


class FingerprintWarning(UserWarning):
    """Some of the user's code could not be fingerprinted; it counts by name only."""


@dataclass(frozen=True)
class Fingerprint:
    """A digest and the per-object components (qualified name -> digest) it was made from."""

    digest: str
    components: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, str]]) -> Fingerprint:
        """Combine ``(name, digest)`` pairs; several objects sharing a name merge."""
        grouped: dict[str, set[str]] = {}
        for key, value in pairs:
            grouped.setdefault(key, set()).add(value)
        components = {
            key: next(iter(values)) if len(values) == 1 else digest(*sorted(values))
            for key, values in sorted(grouped.items())
        }
        return cls(digest("fp1", *(f"{k}={v}" for k, v in components.items())), components)


#: The fingerprint of every class and function while fingerprinting is turned off.
DISABLED = Fingerprint(digest("fingerprint-off"), {})

_warned: set[str] = set()


def _warn_once(qualname: str, why: str) -> None:
    if qualname in _warned:
        return
    _warned.add(qualname)
    warnings.warn(
        f"cairn cannot fingerprint {qualname} ({why}); it counts by name only, so edits to "
        "it will not rerun tasks. Set code_version on the task to control reruns by hand.",
        FingerprintWarning,
        stacklevel=4,
    )


# --- the reference graph ------------------------------------------------------------------
# A node is a hashable key; ``_objects`` keeps what it stands for alive and reachable.
Node = tuple[Any, ...]


@dataclass(frozen=True)
class _Info:
    components: tuple[tuple[str, str], ...]
    refs: tuple[Node, ...]


_infos: dict[Node, _Info] = {}
_objects: dict[Node, Any] = {}
_classes: dict[type, Fingerprint] = {}
_functions: dict[Any, Fingerprint] = {}
_lock = threading.RLock()


def _reset() -> None:
    with _lock:
        _infos.clear()
        _objects.clear()
        _classes.clear()
        _functions.clear()
        _warned.clear()


on_settings_change(_reset)


def _qualname(obj: Any) -> str:
    module = getattr(obj, "__module__", None) or "?"
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or repr(obj)
    return f"{module}.{name}"


def _func_node(func: Any) -> Node:
    node: Node = ("f", id(func))
    _objects[node] = func
    return node


def _class_node(cls: type) -> Node:
    node: Node = ("c", id(cls))
    _objects[node] = cls
    return node


def _unfingerprintable(qualname: str, why: str) -> Node:
    node: Node = ("x", qualname, why)
    return node


def _const_node(module: str, name: str) -> Node:
    return ("v", module, name)


def _is_task_class(value: Any) -> bool:
    return isinstance(value, type) and bool(getattr(value, TASK_MARKER, False))


def _is_task(value: Any) -> bool:
    return bool(getattr(type(value), TASK_MARKER, False))


class _Resolver:
    """Turns the names a piece of code uses into graph nodes, in one module's context."""

    def __init__(
        self,
        module: str,
        namespace: dict[str, Any],
        closure: dict[str, Any] | None = None,
        owner: str = "",
    ) -> None:
        self.module = module
        self.namespace = namespace
        self.closure = closure or {}
        self.owner = owner

    def resolve(self, used: _source.Uses) -> list[Node]:
        out: list[Node] = []
        for name in sorted(used.names):
            if name.startswith("__") and name.endswith("__"):
                continue  # __name__, __file__, ...: where the code is, not what it does
            if name in self.closure:
                out.extend(self._closure_value(name, self.closure[name], used.attrs))
            elif name in self.namespace:
                out.extend(self.value(self.namespace[name], used.attrs, global_name=name))
        for module_name, level, bound in used.imports:
            out.extend(self._local_import(module_name, level, bound, used.attrs))
        return out

    def _closure_value(self, name: str, value: Any, attrs: frozenset[str]) -> Iterator[Node]:
        refs = list(self.value(value, attrs))
        if refs or _is_code_like(value):
            yield from refs
            return
        key = f"{self.owner}.<closure>.{name}"
        try:
            yield ("k", key, digest("value", canonical(value)))
        except CairnError:
            yield _unfingerprintable(key, f"a closure variable holding {type(value).__qualname__}")

    def value(
        self, value: Any, attrs: frozenset[str], global_name: str | None = None
    ) -> Iterator[Node]:
        """Nodes for ``value``; a module global named ``global_name`` becomes a constant."""
        seen: set[tuple[int, str | None, str]] = set()
        stack: list[tuple[Any, str | None, str]] = [(value, global_name, self.module)]
        while stack and len(seen) < 10_000:
            obj, gname, home = stack.pop()
            if (id(obj), gname, home) in seen:
                continue
            seen.add((id(obj), gname, home))
            if isinstance(obj, types.ModuleType):
                if is_user_module(obj.__name__):
                    for attr in sorted(attrs):
                        if attr in vars(obj):
                            stack.append((vars(obj)[attr], attr, obj.__name__))
                continue
            if _is_task_class(obj) or _is_task(obj):
                continue  # upstream tasks count through their ids
            wrapped = getattr(obj, "__wrapped__", None) if callable(obj) else None
            if wrapped is not None and not isinstance(obj, type):
                stack.append((wrapped, None, home))
            if isinstance(obj, types.FunctionType):
                if is_user_module(obj.__module__):
                    yield _func_node(obj)
                continue
            if isinstance(obj, types.MethodType):
                stack.append((obj.__func__, None, home))
                stack.append((obj.__self__, None, home))
                continue
            if isinstance(obj, type):
                if is_user_module(obj.__module__):
                    yield _class_node(obj)
                continue
            if isinstance(obj, functools.partial):
                stack.append((obj.func, None, home))
            if _is_code_like(obj):
                if is_user_module(getattr(obj, "__module__", None)):
                    yield _unfingerprintable(_qualname(obj), "compiled code without Python source")
                continue
            if is_user_module(type(obj).__module__):
                yield _class_node(type(obj))
            if gname is not None and is_user_module(home):
                yield _const_node(home, gname)

    def _local_import(
        self,
        module_name: str,
        level: int,
        bound: tuple[tuple[str, str], ...] | None,
        attrs: frozenset[str],
    ) -> Iterator[Node]:
        package = self.namespace.get("__package__") or self.module.rpartition(".")[0]
        try:
            absolute = importlib.util.resolve_name("." * level + module_name, package or None)
        except (ImportError, ValueError):
            return
        module = _user_module(absolute if bound is not None else absolute.partition(".")[0])
        if module is None:
            return
        if bound is None:
            yield from self.value(module, attrs)
            return
        for name, _as in bound:
            if name in vars(module):
                yield from self.value(vars(module)[name], attrs, global_name=name)
            else:
                sub = _user_module(f"{absolute}.{name}")
                if sub is not None:
                    yield from self.value(sub, attrs)


def _is_code_like(value: Any) -> bool:
    """Callables that are code rather than data: builtins and compiled (C, Cython) functions."""
    if isinstance(value, types.BuiltinFunctionType | types.MethodDescriptorType):
        return True
    return callable(value) and type(value).__name__.endswith(("function", "function_or_method"))


def _user_module(name: str) -> types.ModuleType | None:
    """The user module ``name``, imported if it is user code and not imported yet."""
    module = sys.modules.get(name)
    if module is None:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            return None
        origin = getattr(spec, "origin", None)
        if spec is None or not origin or not is_user_path(origin):
            return None
        try:
            module = importlib.import_module(name)
        except Exception:
            return None
    return module if is_user_module(module.__name__) else None


# --- what each node contributes -----------------------------------------------------------
def _info(node: Node) -> _Info:
    info = _infos.get(node)
    if info is None:
        kind = node[0]
        if kind == "f":
            info = _function_info(_objects[node])
        elif kind == "c":
            info = _class_info(_objects[node])
        elif kind == "v":
            info = _constant_info(node[1], node[2])
        elif kind == "k":
            info = _Info(((node[1], node[2]),), ())
        else:
            _warn_once(node[1], node[2])
            info = _Info(((node[1], digest("unfingerprintable", node[1])),), ())
        _infos[node] = info
    return info


def _closure_of(func: Any) -> dict[str, Any]:
    cells = func.__closure__ or ()
    out: dict[str, Any] = {}
    for name, cell in zip(func.__code__.co_freevars, cells, strict=False):
        try:
            out[name] = cell.cell_contents
        except ValueError:  # an empty cell: not assigned yet
            continue
    return out


def _function_info(func: Any) -> _Info:
    key = _qualname(func)
    nodes = _source.function_nodes(func)
    if not nodes:
        _warn_once(key, "its source cannot be found")
        return _Info(((key, digest("unfingerprintable", key)),), ())
    text = "\n".join(_source.normalised_ast(n) for n in nodes)
    resolver = _Resolver(func.__module__, func.__globals__, _closure_of(func), owner=key)
    refs = resolver.resolve(_source.uses(nodes))
    return _Info(((key, digest(text)),), tuple(refs))


def _is_declaration(cls: type, stmt: ast.stmt) -> bool:
    """True for ``name = SomeParameter(...)``: parameters count through their values."""
    target: ast.expr | None = None
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
        target = stmt.targets[0]
    elif isinstance(stmt, ast.AnnAssign):
        target = stmt.target
    return isinstance(target, ast.Name) and isinstance(vars(cls).get(target.id), Parameter)


def _class_info(cls: type) -> _Info:
    key = _qualname(cls)
    node = _source.class_node(cls)
    bases: list[Node] = [
        _class_node(b) for b in cls.__bases__ if b is not object and is_user_module(b.__module__)
    ]
    if node is None:
        _warn_once(key, "its source cannot be found")
        return _Info(((key, digest("unfingerprintable", key)),), tuple(bases))
    module = sys.modules.get(cls.__module__)
    namespace = vars(module) if module is not None else {}
    components: list[tuple[str, str]] = []
    refs: list[Node] = list(bases)
    rest: list[ast.stmt] = []
    declarations: list[ast.stmt] = []
    for stmt in node.body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            method = f"{key}.{stmt.name}"
            components.append((method, digest(_source.normalised_ast(stmt))))
            func = _source.unwrap_function(vars(cls).get(stmt.name))
            if func is not None and func.__code__.co_name == stmt.name:
                resolver = _Resolver(func.__module__, func.__globals__, _closure_of(func), method)
            else:
                resolver = _Resolver(cls.__module__, namespace, owner=method)
            refs.extend(resolver.resolve(_source.uses([stmt])))
        elif _is_declaration(cls, stmt):
            declarations.append(stmt)
        else:
            rest.append(stmt)
    header = copy.copy(node)
    header.body = rest or [ast.Pass()]
    components.append((key, digest(_source.normalised_ast(header))))
    resolver = _Resolver(cls.__module__, namespace, owner=key)
    used = _source.uses([*node.bases, *node.keywords, *node.decorator_list, *rest, *declarations])
    refs.extend(resolver.resolve(used))
    return _Info(tuple(components), tuple(refs))


def _constant_info(module_name: str, name: str, depth: int = 0) -> _Info:
    module = sys.modules.get(module_name)
    namespace = vars(module) if module is not None else {}
    sf = None
    path = getattr(module, "__file__", None)
    if path:
        sf = _source.source_file(str(path), namespace)
    statements = sf.bindings.get(name, []) if sf is not None else []
    # `from .config import THRESHOLD`: the constant belongs to the module it comes from.
    if len(statements) == 1 and isinstance(statements[0], ast.ImportFrom) and depth < 20:
        stmt = statements[0]
        source = _source_module(stmt, module_name, namespace)
        for alias in stmt.names:
            if (
                (alias.asname or alias.name) == name
                and source is not None
                and alias.name in vars(source)
                and is_user_module(source.__name__)
            ):
                return _constant_info(source.__name__, alias.name, depth + 1)
    key = f"{module_name}.{name}"
    value = namespace.get(name)
    try:
        return _Info(((key, digest("value", canonical(value))),), ())
    except CairnError:
        pass
    if not statements:
        _warn_once(key, f"a {type(value).__qualname__} value assigned outside the source")
        return _Info(((key, digest("unfingerprintable", key)),), ())
    text = "\n".join(_source.normalised_ast(s) for s in statements)
    resolver = _Resolver(module_name, namespace, owner=key)
    refs = [
        r
        for r in resolver.resolve(_source.uses(list(statements)))
        if r != _const_node(module_name, name)
    ]
    return _Info(((key, digest("source", text)),), tuple(refs))


def _source_module(
    stmt: ast.ImportFrom, module_name: str, namespace: dict[str, Any]
) -> types.ModuleType | None:
    package = namespace.get("__package__") or module_name.rpartition(".")[0]
    try:
        absolute = importlib.util.resolve_name("." * stmt.level + (stmt.module or ""), package)
    except (ImportError, ValueError):
        return None
    return sys.modules.get(absolute)


# --- roots ----------------------------------------------------------------------------------
def _walk(start: list[Node]) -> Fingerprint:
    pairs: list[tuple[str, str]] = []
    seen: set[Node] = set()
    stack = list(reversed(start))
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        info = _info(node)
        pairs.extend(info.components)
        stack.extend(r for r in reversed(info.refs) if r not in seen)
    return Fingerprint.of(pairs)


def class_fingerprint(cls: type, stop: type | None = None) -> Fingerprint:
    """Fingerprint class ``cls``: its body, the user's base classes it inherits from (up to
    ``stop``), and everything of the user's code they reference, transitively.

    Computed once per class per process; :data:`DISABLED` while fingerprinting is off.
    """
    if not current_settings().enabled:
        return DISABLED
    cached = _classes.get(cls)
    if cached is not None:
        return cached
    with _lock:
        cached = _classes.get(cls)
        if cached is None:
            if cls is stop or not is_user_module(cls.__module__):
                cached = Fingerprint.of([])
            else:
                cached = _walk([_class_node(cls)])
            _classes[cls] = cached
    return cached


def function_fingerprint(func: Any) -> Fingerprint:
    """Fingerprint a plain function (or lambda, partial, bound method, callable object) and
    the user's code it references, transitively. Cached per function per process.
    """
    if not current_settings().enabled:
        return DISABLED
    try:
        cached = _functions.get(func)
    except TypeError:  # unhashable callable object
        cached = None
    if cached is not None:
        return cached
    with _lock:
        resolver = _Resolver(getattr(func, "__module__", None) or "", {}, owner=_qualname(func))
        start = list(resolver.value(func, frozenset()))
        if isinstance(func, types.FunctionType) and not is_user_module(func.__module__):
            start = [_func_node(func)]  # asked for explicitly: count it even from a library
        fingerprint = _walk(start)
        with contextlib.suppress(TypeError):
            _functions[func] = fingerprint
    return fingerprint
