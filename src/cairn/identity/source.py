"""Source code as normalised syntax trees: finding the definition of a function, lambda or
class, the module-level statements that bind a name, and the names a piece of code uses.

Each source file is read (through :mod:`linecache`, so notebook cells work too) and parsed
once per process, with every docstring removed; a definition is then found by line number
(functions, lambdas) or qualified name (classes). :func:`normalised_ast` dumps a tree without
line numbers, so comments, docstrings, blank lines and formatting do not change it.
"""

from __future__ import annotations

import ast
import linecache
import os
import symtable
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Uses",
    "SourceFile",
    "class_filenames",
    "class_node",
    "function_nodes",
    "lambda_arguments",
    "nodes_at",
    "normalised_ast",
    "pick_class",
    "source_file",
    "stamp",
    "uses",
]

_DEFS = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
_Def = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
_SKIP_FIELDS = {"annotation", "returns"}  # annotations do not change what code does


def normalised_ast(node: ast.AST) -> str:
    """Dump ``node`` without positions (trees from :func:`source_file` have no docstrings)."""
    return ast.dump(node, annotate_fields=False, include_attributes=False)


def _strip_docstring(
    node: ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef,
) -> None:
    body = node.body
    if (
        body
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    ):
        node.body = body[1:] or [ast.Pass()]


def _bound_names(stmt: ast.stmt) -> Iterator[str]:
    """Names a module-level statement binds."""
    if isinstance(stmt, ast.Assign | ast.AnnAssign | ast.AugAssign | ast.For | ast.AsyncFor):
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        for target in targets:
            for node in ast.walk(target):
                if isinstance(node, ast.Name):
                    yield node.id
    elif isinstance(stmt, ast.Import | ast.ImportFrom):
        for alias in stmt.names:
            yield (alias.asname or alias.name).partition(".")[0]
    elif isinstance(stmt, _DEFS):
        yield stmt.name
    elif isinstance(stmt, ast.With | ast.AsyncWith):
        for item in stmt.items:
            if item.optional_vars is not None:
                for node in ast.walk(item.optional_vars):
                    if isinstance(node, ast.Name):
                        yield node.id


@dataclass
class SourceFile:
    """One parsed source file, indexed for lookups."""

    tree: ast.Module
    text: str = ""
    filename: str = ""
    by_line: dict[int, list[ast.AST]] = field(default_factory=dict)
    classes: dict[str, list[ast.ClassDef]] = field(default_factory=dict)
    bindings: dict[str, list[ast.stmt]] = field(default_factory=dict)
    _scopes: dict[tuple[str, int], list[symtable.SymbolTable]] | None = None

    def global_names(self, node: ast.AST) -> frozenset[str] | None:
        """The names a function or lambda (and the scopes nested in it) reads from outside:
        globals, and the function's own closure variables.

        Exact, from the compiler's symbol tables: a parameter or local variable that happens
        to share a global's name is not a use of that global. None when not found.
        """
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            return None
        if self._scopes is None:
            self._scopes = {}
            try:
                top = symtable.symtable(self.text, self.filename or "<source>", "exec")
            except (SyntaxError, ValueError):
                top = None
            stack = [top] if top is not None else []
            while stack:
                table = stack.pop()
                key = (table.get_name(), table.get_lineno())
                self._scopes.setdefault(key, []).append(table)
                stack.extend(table.get_children())
        name = "lambda" if isinstance(node, ast.Lambda) else node.name
        tables = list(self._scopes.get((name, node.lineno), ()))
        if not tables:
            return None
        found = {s.get_name() for t in tables for s in t.get_symbols() if s.is_free()}
        while tables:
            table = tables.pop()
            found.update(
                s.get_name() for s in table.get_symbols() if s.is_referenced() and s.is_global()
            )
            tables.extend(table.get_children())
        return frozenset(found)

    def _index(self) -> None:
        """Index definitions by line and qualified name, removing docstrings on the way."""
        stack: list[tuple[ast.AST, str]] = [(self.tree, "")]
        while stack:
            node, prefix = stack.pop()
            if isinstance(node, ast.Module | _DEFS):
                _strip_docstring(node)
            for child in ast.iter_child_nodes(node):
                child_prefix = prefix
                if isinstance(child, _DEFS | ast.Lambda):
                    lines = {child.lineno}
                    if isinstance(child, _DEFS) and child.decorator_list:
                        lines.add(child.decorator_list[0].lineno)
                    for line in lines:
                        self.by_line.setdefault(line, []).append(child)
                    name = child.name if isinstance(child, _DEFS) else "<lambda>"
                    qualname = prefix + name
                    if isinstance(child, ast.ClassDef):
                        self.classes.setdefault(qualname, []).append(child)
                        child_prefix = qualname + "."
                    else:
                        child_prefix = qualname + ".<locals>."
                stack.append((child, child_prefix))
        self._index_bindings(self.tree.body)

    def _index_bindings(self, body: list[ast.stmt]) -> None:
        for stmt in body:
            if isinstance(stmt, ast.If | ast.Try | ast.TryStar):
                inner = [*stmt.body, *stmt.orelse]
                if isinstance(stmt, ast.Try | ast.TryStar):
                    inner += [s for h in stmt.handlers for s in h.body] + stmt.finalbody
                self._index_bindings(inner)
                continue
            for name in _bound_names(stmt):
                self.bindings.setdefault(name, []).append(stmt)


Stamp = tuple[int, int] | None
_files: dict[str, tuple[Stamp, SourceFile | None]] = {}
_files_lock = threading.Lock()


def stamp(filename: str) -> Stamp:
    """``(mtime_ns, size)`` of a file, or None when it is not a file on disk (a notebook cell)."""
    try:
        st = os.stat(filename)
    except (OSError, ValueError):
        return None
    return (st.st_mtime_ns, st.st_size)


def source_file(filename: str, module_globals: dict[str, Any] | None = None) -> SourceFile | None:
    """The parsed file ``filename`` (None when its source cannot be read or parsed).

    Parsed once, and again only when the file's modification time or size changed.
    """
    now = stamp(filename)
    cached = _files.get(filename)
    if cached is not None and cached[0] == now:
        return cached[1]
    with _files_lock:
        if now is not None:
            linecache.checkcache(filename)
        lines = linecache.getlines(filename, module_globals)
        parsed: SourceFile | None = None
        if lines:
            try:
                tree = ast.parse("".join(lines))
            except (SyntaxError, ValueError):
                tree = None
            if tree is not None:
                parsed = SourceFile(tree, "".join(lines), filename)
                parsed._index()
        _files[filename] = (now, parsed)
        return parsed


def clear() -> None:
    """Forget every parsed file (for when files changed on disk within one process)."""
    with _files_lock:
        _files.clear()


def function_nodes(func: Any) -> list[ast.AST]:
    """The definition(s) of a Python function or lambda (several for lambdas on one line)."""
    code = func.__code__
    sf = source_file(code.co_filename, getattr(func, "__globals__", None))
    if sf is None:
        return []
    return nodes_at(sf, code.co_firstlineno, code.co_name, lambda_arguments(code))


def lambda_arguments(code: Any) -> tuple[str, ...]:
    """The argument names of a lambda's code (what tells lambdas on one line apart)."""
    if code.co_name != "<lambda>":
        return ()
    return tuple(code.co_varnames[: code.co_argcount + code.co_kwonlyargcount])


def nodes_at(sf: SourceFile, line: int, name: str, arguments: tuple[str, ...]) -> list[ast.AST]:
    """The definition of function ``name`` starting at ``line`` in ``sf``; for a lambda
    (``<lambda>``), those at ``line`` taking ``arguments`` (all of them when none does)."""
    found = sf.by_line.get(line, [])
    if name == "<lambda>":
        lambdas = [n for n in found if isinstance(n, ast.Lambda)]
        if len(lambdas) > 1:  # tell them apart by their arguments
            same = [n for n in lambdas if _lambda_args(n) == list(arguments)]
            lambdas = same or lambdas
        return list[ast.AST](lambdas)
    defs: list[ast.AST] = [
        n for n in found if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == name
    ]
    return defs[:1]


def _lambda_args(node: ast.Lambda) -> list[str]:
    args = node.args
    return [a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]]


def class_filenames(cls: type) -> Iterator[tuple[str, dict[str, Any] | None, int | None]]:
    """Files that may hold ``cls``, with a line inside its body when one is known."""
    prefix = cls.__qualname__ + "."
    for value in vars(cls).values():
        func = unwrap_function(value)
        if func is not None and func.__qualname__.startswith(prefix):
            code = func.__code__
            yield code.co_filename, func.__globals__, code.co_firstlineno
    module = sys.modules.get(cls.__module__)
    path = getattr(module, "__file__", None)
    if path:
        yield str(path), vars(module) if module is not None else None, None


def unwrap_function(value: Any) -> Any:
    """The Python function behind a method, static/class method or property, else None."""
    for attr in ("__func__", "fget", "func"):
        value = getattr(value, attr, value)
    return value if hasattr(value, "__code__") and hasattr(value, "__globals__") else None


def class_node(cls: type) -> tuple[str, ast.ClassDef] | None:
    """The file and ``class`` statement that defined ``cls`` (None when not found)."""
    for filename, module_globals, inside in class_filenames(cls):
        sf = source_file(filename, module_globals)
        if sf is None:
            continue
        candidates = sf.classes.get(cls.__qualname__, [])
        if candidates:
            spans = [(c.lineno, c.end_lineno or c.lineno) for c in candidates]
            return filename, candidates[pick_class(cls, spans, inside)]
    return None


def pick_class(cls: type, spans: Sequence[tuple[int, int]], inside: int | None) -> int:
    """Which of the ``class`` statements of ``cls``'s name (their first and last lines,
    ``spans``, not empty) defined it: the one at ``__firstlineno__`` (Python 3.13+), else the
    last one around a line known to be in its body (``inside``), else the last one."""
    first = getattr(cls, "__firstlineno__", None)
    if first is not None:
        for i, (start, _end) in enumerate(spans):
            if start == first:
                return i
    if inside is not None:
        around = [i for i, (start, end) in enumerate(spans) if start <= inside <= end]
        if around:
            return around[-1]
    return len(spans) - 1


@dataclass(frozen=True)
class Uses:
    """What a piece of code refers to: free names, attribute names, and imports inside it."""

    names: frozenset[str]
    attrs: frozenset[str]
    imports: tuple[tuple[str, int, tuple[tuple[str, str], ...] | None], ...]


def uses(nodes: Sequence[ast.AST], source: SourceFile | None = None) -> Uses:
    """Collect the names loaded, attributes read and imports made in ``nodes``.

    With the ``source`` file the nodes come from, a function's or lambda's names are its
    globals as the compiler sees them (plus what its decorators and defaults use, which run
    in the enclosing scope); otherwise every name loaded counts (a local that shares a
    global's name then counts too, which can only add reruns). Annotations are skipped.
    ``imports`` holds ``(module, level, ((name, bound_as), ...))`` for ``from`` imports and
    ``(module, 0, None)`` for plain ``import`` statements.
    """
    names: set[str] = set()
    attrs: set[str] = set()
    imports: list[tuple[str, int, tuple[tuple[str, str], ...] | None]] = []
    for top in nodes:
        exact = source.global_names(top) if source is not None else None
        if exact is not None and isinstance(
            top, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
        ):
            names.update(exact)
            outer: list[ast.AST] = [*getattr(top, "decorator_list", ()), *top.args.defaults]
            outer += [d for d in top.args.kw_defaults if d is not None]
            names.update(uses(outer).names)
        stack: list[ast.AST] = [top]
        while stack:
            node = stack.pop()
            if isinstance(node, ast.Name):
                if exact is None and isinstance(node.ctx, ast.Load):
                    names.add(node.id)
                continue
            if isinstance(node, ast.Attribute):
                attrs.add(node.attr)
            elif isinstance(node, ast.Import):
                imports.extend((alias.name, 0, None) for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                bound = tuple((a.name, a.asname or a.name) for a in node.names)
                imports.append((node.module or "", node.level, bound))
            for name, value in ast.iter_fields(node):
                if name in _SKIP_FIELDS:
                    continue
                if isinstance(value, ast.AST):
                    stack.append(value)
                elif isinstance(value, list):
                    stack.extend(v for v in value if isinstance(v, ast.AST))
    return Uses(frozenset(names), frozenset(attrs), tuple(imports))
