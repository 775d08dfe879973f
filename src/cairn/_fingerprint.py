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
import warnings
from dataclasses import dataclass, field
from functools import lru_cache

from cairn._identity import digest

__all__ = ["Fingerprint", "class_fingerprint", "is_user_module", "normalised_ast"]


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
