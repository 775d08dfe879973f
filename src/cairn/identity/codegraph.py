"""The graph of the user's code: which functions, classes and constants a piece of code uses,
and what each contributes to a fingerprint.

A *node* stands for one object: a function or lambda (``f``), a class (``c``), a module-level
constant (``v``), a closure value (``k``), or something that cannot be fingerprinted (``x``).
:func:`info` gives a node's components (qualified name -> digest of its normalised source, or
of its value for constants), the nodes it refers to, and the source files it was read from.
Infos are cached per object; :func:`reset` forgets them all.

References are followed through module globals, attributes of the user's modules
(``helpers.clean``), imports inside functions and closure cells; they stop at code that is
not the user's own (:mod:`cairn.identity.usercode`) and at task classes and task instances, which
count through their ids.
"""

from __future__ import annotations

import functools
import importlib
import importlib.machinery
import importlib.util
import sys
import threading
import types
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from cairn._errors import CairnError, FingerprintWarning
from cairn.identity import source as _source
from cairn.identity import summary as _summary
from cairn.identity.canonical import PARAMETER_MARKER, TASK_MARKER, canonical, digest, is_task
from cairn.identity.usercode import is_user_module, is_user_path

__all__ = [
    "FingerprintWarning",
    "Info",
    "Node",
    "class_node",
    "info",
    "real_module_name",
    "reset",
    "roots_of",
    "save",
]


Node = tuple[Any, ...]


@dataclass(frozen=True)
class Info:
    """What one node contributes: components, the nodes it uses, the files it was read from."""

    components: tuple[tuple[str, str], ...]
    refs: tuple[Node, ...] = ()
    files: tuple[str, ...] = ()


_infos: dict[Node, Info] = {}
_objects: dict[Node, Any] = {}  # keeps the objects behind the nodes alive (ids stay unique)
_warned: set[str] = set()
lock = threading.RLock()


def reset() -> None:
    """Forget every cached info (after settings changed, or source files changed on disk)."""
    with lock:
        _infos.clear()
        _objects.clear()


def _warn_once(key: str, why: str) -> None:
    if key in _warned:
        return
    _warned.add(key)
    owner, sep, name = key.partition(".<closure>.")
    what = f"the value of {name!r} that {owner} closes over" if sep else key
    warnings.warn(
        f"cairn cannot fingerprint {what} ({why}); it counts by name only, so changes to it "
        "will not rerun anything. Pass it as a parameter or input instead, or set "
        "code_version to control reruns by hand.",
        FingerprintWarning,
        stacklevel=5,
    )


def real_module_name(name: str) -> str:
    """``name``, except that ``__main__`` run as ``python -m pkg.mod`` is ``pkg.mod`` (its
    ``__spec__.name``): the same code keeps its ids however it is started. A script run by
    path has no such name and stays ``__main__``; imported modules are never renamed."""
    if name != "__main__":
        return name
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    real = getattr(spec, "name", None)
    return real if isinstance(real, str) and real and real != "__main__" else name


def _qualname(obj: Any) -> str:
    module = real_module_name(getattr(obj, "__module__", None) or "?")
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or repr(obj)
    return f"{module}.{name}"


def _keep(node: Node, obj: Any) -> Node:
    _objects[node] = obj
    return node


def function_node(func: Any) -> Node:
    """The node of a Python function or lambda."""
    return _keep(("f", id(func)), func)


def class_node(cls: type) -> Node:
    """The node of a class."""
    return _keep(("c", id(cls)), cls)


def _is_task_class(value: Any) -> bool:
    return isinstance(value, type) and bool(getattr(value, TASK_MARKER, False))


def _is_code_like(value: Any) -> bool:
    """Callables that are code rather than data: builtins and compiled (C, Cython) functions."""
    if isinstance(value, types.BuiltinFunctionType | types.MethodDescriptorType):
        return True
    return callable(value) and type(value).__name__.endswith(("function", "function_or_method"))


def _top_level_is_user_code(top: str) -> bool:
    """Whether the top-level package ``top``, not imported yet, lies in the user's code:
    found with the path finder, which locates it without executing anything (finding a
    submodule's spec would import its parent packages: all of scikit-learn for
    ``sklearn.linear_model``)."""
    try:
        spec = importlib.machinery.PathFinder.find_spec(top, sys.path)
    except (ImportError, ValueError):
        return False
    if spec is None:
        return False
    if spec.origin and spec.origin not in ("built-in", "frozen", "namespace"):
        return is_user_path(spec.origin)
    locations = list(spec.submodule_search_locations or ())
    return bool(locations) and all(is_user_path(p) for p in locations)


def _is_standard(top: str) -> bool:
    return top in sys.builtin_module_names or top in sys.stdlib_module_names


def _user_module(name: str) -> types.ModuleType | None:
    """The user module ``name``, imported if it is user code and not imported yet.

    A module of a library (the standard library, site-packages) that is not imported yet is
    never imported here: it counts by its package version, so there is nothing to read.
    """
    module = sys.modules.get(name)
    if module is None:
        top = name.partition(".")[0]
        loaded_top = sys.modules.get(top)
        if loaded_top is not None:
            if not is_user_module(top):
                return None
        elif _is_standard(top) or not _top_level_is_user_code(top):
            return None
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            return None
        origin = getattr(spec, "origin", None)
        if spec is None or not origin or not is_user_path(origin):
            return None
        try:
            module = importlib.import_module(name)
        except Exception:  # its own import fails: run() will say so when it imports it
            return None
    return module if is_user_module(module.__name__) else None


class Resolver:
    """Turns the names a piece of code uses into nodes, in one module's context."""

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
        """Nodes for the names, attributes and imports in ``used``."""
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
        code = (type, types.ModuleType, types.FunctionType, types.MethodType, functools.partial)
        if refs or isinstance(value, code) or _is_code_like(value) or is_task(value):
            yield from refs  # code: the user's counts through its nodes, a library's by version
            return
        key = f"{self.owner}.<closure>.{name}"
        try:
            yield ("k", key, digest("value", canonical(value)))
        except CairnError:
            yield ("x", key, f"a {type(value).__qualname__}")

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
            if _is_task_class(obj) or is_task(obj):
                continue  # upstream tasks count through their ids
            wrapped = getattr(obj, "__wrapped__", None) if callable(obj) else None
            if wrapped is not None and not isinstance(obj, type):
                stack.append((wrapped, None, home))
            if isinstance(obj, types.FunctionType):
                if is_user_module(obj.__module__):
                    yield function_node(obj)
                continue
            if isinstance(obj, types.MethodType):
                stack.append((obj.__func__, None, home))
                stack.append((obj.__self__, None, home))
                continue
            if isinstance(obj, type):
                if is_user_module(obj.__module__):
                    yield class_node(obj)
                continue
            if isinstance(obj, functools.partial):
                stack.append((obj.func, None, home))
            if _is_code_like(obj):
                if is_user_module(getattr(obj, "__module__", None)):
                    yield ("x", _qualname(obj), "compiled code without Python source")
                continue
            if is_user_module(type(obj).__module__):
                yield class_node(type(obj))
            if gname is not None and is_user_module(home):
                yield _keep(("v", home, gname, id(obj)), obj)

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


def roots_of(obj: Any) -> list[Node]:
    """The nodes to start from to fingerprint a callable (function, partial, method, ...).

    A callable that is not the user's own code (a builtin, a library function) counts by its
    qualified name: its package's version is in the run record.
    """
    resolver = Resolver(getattr(obj, "__module__", None) or "", {}, owner=_qualname(obj))
    start = list(resolver.value(obj, frozenset()))
    if not start:
        key = _qualname(obj)
        start = [("k", key, digest("by name", key))]
    return start


# --- what each node contributes -----------------------------------------------------------
def info(node: Node) -> Info:
    """What ``node`` contributes (cached per object)."""
    found = _infos.get(node)
    if found is None:
        kind = node[0]
        if kind == "f":
            found = _function_info(_objects[node])
        elif kind == "c":
            found = _class_info(_objects[node])
        elif kind == "v":
            found = _constant_info(node[1], node[2])
        elif kind == "k":
            found = Info(((node[1], node[2]),))
        else:
            found = _unfingerprintable(node[1], node[2])
        _infos[node] = found
    return found


def _unfingerprintable(key: str, why: str, refs: tuple[Node, ...] = ()) -> Info:
    _warn_once(key, why)
    return Info(((key, digest("unfingerprintable", key)),), refs)


def _closure_of(func: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, cell in zip(func.__code__.co_freevars, func.__closure__ or (), strict=False):
        try:
            out[name] = cell.cell_contents
        except ValueError:  # an empty cell: not assigned yet
            continue
    return out


def _function_info(func: Any) -> Info:
    key = _qualname(func)
    found = _summary.function(func)
    if found is None:
        return _unfingerprintable(key, "its source cannot be found")
    text_digest, used = found
    resolver = Resolver(func.__module__, func.__globals__, _closure_of(func), owner=key)
    refs = resolver.resolve(used)
    return Info(((key, text_digest),), tuple(refs), (func.__code__.co_filename,))


def _is_declaration(cls: type, name: str) -> bool:
    """True for ``name = SomeParameter(...)``: parameters count through their values."""
    return bool(name) and getattr(type(vars(cls).get(name)), PARAMETER_MARKER, False) is True


def _class_info(cls: type) -> Info:
    key = _qualname(cls)
    bases = tuple(
        class_node(b) for b in cls.__bases__ if b is not object and is_user_module(b.__module__)
    )
    found = _summary.class_bodies(cls)
    if found is None:
        return _unfingerprintable(key, "its source cannot be found", bases)
    filename, body = found
    module = sys.modules.get(cls.__module__)
    namespace = vars(module) if module is not None else {}
    components: list[tuple[str, str]] = []
    refs: list[Node] = list(bases)
    rest: list[str] = []  # the rest of the body, normalised: declarations left out
    used = [_summary.unpack(body[5])]  # what the bases, keywords and decorators use
    for kind, name, text, uses in body[2]:
        if kind == "m":
            method = f"{key}.{name}"
            components.append((method, text))
            func = _source.unwrap_function(vars(cls).get(name))
            if func is not None and func.__code__.co_name == name:
                resolver = Resolver(func.__module__, func.__globals__, _closure_of(func), method)
            else:
                resolver = Resolver(cls.__module__, namespace, owner=method)
            refs.extend(resolver.resolve(_summary.unpack(uses)))
            continue
        if not _is_declaration(cls, name):
            rest.append(text)  # a declaration is not in the text; what it uses still counts
        used.append(_summary.unpack(uses))
    components.append((key, _summary.header_digest(body, rest)))
    resolver = Resolver(cls.__module__, namespace, owner=key)
    for each in used:
        refs.extend(resolver.resolve(each))
    return Info(tuple(components), tuple(refs), (filename,))


def _constant_info(module_name: str, name: str, depth: int = 0) -> Info:
    module = sys.modules.get(module_name)
    namespace = vars(module) if module is not None else {}
    path = getattr(module, "__file__", None)
    files = (str(path),) if path else ()
    count, origin_import, text_digest, packed = (
        _summary.constant(str(path), namespace, name) if path else _summary.NO_CONSTANT
    )
    # `from .config import THRESHOLD`: the constant belongs to the module it comes from.
    if origin_import is not None and depth < 20:
        origin = _import_source(origin_import, module_name, namespace)
        for alias, bound_as in origin_import[2]:
            if (
                bound_as == name
                and origin is not None
                and alias in vars(origin)
                and is_user_module(origin.__name__)
            ):
                found = _constant_info(origin.__name__, alias, depth + 1)
                return Info(found.components, found.refs, found.files + files)
    key = f"{module_name}.{name}"
    value = namespace.get(name)
    # Values count as they are, except containers that may be changed at run time (a cache,
    # a counter, a registry): those count by the statements that make them.
    if not (count and isinstance(value, list | dict | set | bytearray)):
        try:
            return Info(((key, digest("value", canonical(value))),), (), files)
        except CairnError:
            pass
    if not count:
        return _unfingerprintable(key, f"a {type(value).__qualname__} set outside the source")
    refs = [
        r
        for r in Resolver(module_name, namespace, owner=key).resolve(_summary.unpack(packed))
        if r[:3] != ("v", module_name, name)
    ]
    return Info(((key, text_digest),), tuple(refs), files)


def _import_source(
    origin: tuple[str, int, Any], module_name: str, namespace: dict[str, Any]
) -> types.ModuleType | None:
    """The module a ``from ... import`` (``(module, level, names)``) reads from, if imported."""
    package = namespace.get("__package__") or module_name.rpartition(".")[0]
    try:
        absolute = importlib.util.resolve_name("." * origin[1] + origin[0], package)
    except (ImportError, ValueError):
        return None
    return sys.modules.get(absolute)


def save() -> None:
    """Keep on disk what was learnt of source files (see :mod:`cairn.identity.summary`)."""
    _summary.save()
