"""Code fingerprints: what a task's code contributes to its id.

A fingerprint is a digest over *components*, each the AST-normalised source of one piece of
the user's own code (a method, the rest of a class body), keyed by qualified name. Comments,
docstrings, formatting and blank lines do not change the AST dump, so they do not change the
fingerprint. Components are kept so a plan can say *which* piece changed.

"The user's own code" is every module that is neither part of cairn, the standard library nor
an installed package (site-packages). Fingerprints are computed once per class per process.
"""

from __future__ import annotations

import ast
import inspect
import os
import site
import sys
import sysconfig
import textwrap
import threading
import types
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from cairn._errors import CairnError
from cairn._identity import canonical, digest

__all__ = [
    "Fingerprint",
    "class_fingerprint",
    "function_fingerprint",
    "is_user_module",
    "normalised_ast",
]


@dataclass(frozen=True)
class Fingerprint:
    """A digest and the per-object components it was made from."""

    digest: str
    components: dict[str, str] = field(default_factory=dict)


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                node.body = body[1:] or [ast.Pass()]
    return tree


def normalised_ast(node: ast.AST) -> str:
    """Return a dump of ``node`` that ignores docstrings, comments and layout."""
    return ast.dump(_strip_docstrings(node), annotate_fields=False, include_attributes=False)


@lru_cache(maxsize=1)
def _library_roots() -> tuple[str, ...]:
    roots = {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    roots.update(site.getsitepackages())
    user_site = site.getusersitepackages()
    if isinstance(user_site, str):
        roots.add(user_site)
    roots.update({sys.base_prefix + os.sep + "lib", sys.prefix + os.sep + "lib"})
    return tuple(sorted(os.path.realpath(r) + os.sep for r in roots if r))


_user_modules: dict[str, bool] = {}


def is_user_module(name: str) -> bool:
    """Tell whether module ``name`` is the user's own code (counted in fingerprints)."""
    known = _user_modules.get(name)
    if known is not None:
        return known
    if name == "cairn" or name.startswith("cairn."):
        return False
    if name == "__main__":
        return True
    module = sys.modules.get(name)
    if module is None:
        return False  # not imported (yet): decide when it is, and do not remember
    path = getattr(module, "__file__", None)
    if path:
        user = not os.path.realpath(str(path)).startswith(_library_roots())
    else:  # built-in, frozen, or made at run time (a notebook, exec): user code unless stdlib
        top = name.partition(".")[0]
        user = top not in sys.builtin_module_names and top not in sys.stdlib_module_names
    _user_modules[name] = user
    return user


_warned: set[str] = set()
_warn_lock = threading.Lock()


def _warn_once(qualname: str, why: str) -> None:
    with _warn_lock:
        if qualname in _warned:
            return
        _warned.add(qualname)
    warnings.warn(
        f"cairn cannot fingerprint {qualname} ({why}); it counts by name only, so edits to "
        "it will not rerun tasks. Set code_version on the task to control reruns by hand.",
        stacklevel=3,
    )


def _warn_closure_once(qualname: str, name: str, value: Any) -> None:
    key = f"{qualname}:{name}"
    with _warn_lock:
        if key in _warned:
            return
        _warned.add(key)
    warnings.warn(
        f"cairn cannot fingerprint the value of {name!r} that {qualname} closes over (a "
        f"{type(value).__qualname__}); changes to that value will not rerun it. Pass it as "
        "an input or config value instead, or set code_version to control reruns by hand.",
        stacklevel=4,
    )


def _class_components(cls: type) -> dict[str, str]:
    qual = f"{cls.__module__}.{cls.__qualname__}"
    try:
        source = textwrap.dedent(inspect.getsource(cls))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError) as exc:
        _warn_once(qual, f"no source: {exc}")
        return {qual: digest("unavailable", qual)}
    cls_node = next((n for n in tree.body if isinstance(n, ast.ClassDef)), None)
    if cls_node is None:  # pragma: no cover - getsource of a class always yields one
        return {qual: digest("unavailable", qual)}
    components: dict[str, str] = {}
    rest: list[ast.stmt] = []
    body = _strip_docstrings(cls_node)
    assert isinstance(body, ast.ClassDef)
    for stmt in body.body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            components[f"{qual}.{stmt.name}"] = digest(normalised_ast(stmt))
        else:
            rest.append(stmt)
    header = ast.ClassDef(
        name=body.name,
        bases=body.bases,
        keywords=body.keywords,
        body=rest or [ast.Pass()],
        decorator_list=body.decorator_list,
    )
    components[qual] = digest(normalised_ast(header))
    return components


_cache: dict[type, Fingerprint] = {}
_cache_lock = threading.Lock()


def class_fingerprint(cls: type, stop: type) -> Fingerprint:
    """Fingerprint ``cls`` and the user-defined classes it inherits from, up to ``stop``.

    Computed once per class per process.
    """
    cached = _cache.get(cls)
    if cached is not None:
        return cached
    components: dict[str, str] = {}
    for klass in cls.__mro__:
        if klass is stop or klass is object or not is_user_module(klass.__module__):
            continue
        components.update(_class_components(klass))
    fp = Fingerprint(
        digest=digest(*(f"{k}={v}" for k, v in sorted(components.items()))),
        components=components,
    )
    with _cache_lock:
        _cache[cls] = fp
    return fp


def _const_text(value: Any) -> str:
    """Stable text of a code object constant (no hash-order dependence)."""
    if isinstance(value, types.CodeType):
        return "code:" + _code_digest(value)
    if isinstance(value, frozenset):
        return "fs[" + ",".join(sorted(_const_text(v) for v in value)) + "]"
    if isinstance(value, tuple):
        return "t[" + ",".join(_const_text(v) for v in value) + "]"
    return f"{type(value).__name__}:{value!r}"


def _code_digest(code: types.CodeType) -> str:
    """Digest of compiled code: instructions, constants and names, not line numbers."""
    return digest(
        code.co_code.hex(),
        *(_const_text(c) for c in code.co_consts),
        "names:" + ",".join(code.co_names),
        "vars:" + ",".join(code.co_varnames),
    )


def _function_source_ast(func: types.FunctionType) -> ast.AST | None:
    """The function's own definition (or its lambda) parsed from source, if it can be found."""
    try:
        source = textwrap.dedent(inspect.getsource(func))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError, IndentationError):
        return None
    if func.__name__ == "<lambda>":
        lambdas = [n for n in ast.walk(tree) if isinstance(n, ast.Lambda)]
        return lambdas[0] if len(lambdas) == 1 else None
    first = tree.body[0] if tree.body else None
    if isinstance(first, ast.FunctionDef | ast.AsyncFunctionDef) and first.name == func.__name__:
        return first
    return None


def _closure_text(func: types.FunctionType, qual: str) -> list[str]:
    """Values the function closes over: they change what it computes as its code does."""
    cells = func.__closure__ or ()
    out = []
    for name, cell in zip(func.__code__.co_freevars, cells, strict=False):
        try:
            value = cell.cell_contents
        except ValueError:  # an empty cell: a name bound later
            out.append(f"{name}=<unbound>")
            continue
        if isinstance(value, types.FunctionType | type):
            out.append(f"{name}={value.__module__}.{value.__qualname__}")
            continue
        try:
            out.append(f"{name}={canonical(value)}")
        except CairnError:
            _warn_closure_once(qual, name, value)
            out.append(f"{name}=<{type(value).__qualname__}>")
    return out


_fn_cache: dict[Any, Fingerprint] = {}


def function_fingerprint(func: Callable[..., Any]) -> Fingerprint:
    """Fingerprint a function's own code, as :func:`class_fingerprint` does a class's.

    A function of the user's own code counts by its AST-normalised source (comments,
    docstrings and layout do not count) and the values it closes over; a lambda whose
    source cannot be told apart from others on its line counts by its compiled code. A
    function of the standard library or an installed package (or a builtin) counts by its
    name only: its package version is in the run record. Computed once per function.
    """
    cached = _fn_cache.get(func)
    if cached is not None:
        return cached
    target = inspect.unwrap(func) if isinstance(func, types.FunctionType) else func
    module = getattr(target, "__module__", None) or "?"
    qual = f"{module}.{getattr(target, '__qualname__', type(target).__qualname__)}"
    if not isinstance(target, types.FunctionType) or not is_user_module(module):
        components = {qual: digest("by name", qual)}
    else:
        tree = _function_source_ast(target)
        if tree is not None:
            code = "ast:" + normalised_ast(tree)
        else:
            defaults = [_const_text(d) for d in target.__defaults__ or ()]
            code = "bytecode:" + _code_digest(target.__code__) + ",".join(defaults)
        components = {qual: digest(code, *_closure_text(target, qual))}
    fp = Fingerprint(
        digest=digest(*(f"{k}={v}" for k, v in sorted(components.items()))),
        components=components,
    )
    with _cache_lock:
        _fn_cache[func] = fp
    return fp
