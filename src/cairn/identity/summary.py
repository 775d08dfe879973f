"""What the code graph needs of a source file, worked out once per text and kept on disk.

Fingerprinting a task class parses the files its code lives in (``ast``, and the compiler's
symbol tables for exact globals): about 35 ms for a module of 700 lines, in every new
process, before a warm build can say that nothing needs to run. What the code graph asks of
a file depends on the file's text alone:

- of a function or lambda (by first line and name): the digest of its normalised source
  and what it uses (:class:`~cairn.identity.source.Uses`);
- of a class (by qualified name): for each ``class`` statement of that name, its lines and
  its body, statement by statement (a method's digest and uses; any other statement's
  normalised source, uses, and the name it assigns), and the class header around the body;
- of a module-level name: the digest of the statements that bind it, what they use, and
  the ``from ... import`` it comes from when that is all there is.

So each answer is kept, keyed by a digest of the text and the interpreter's version (the
shape of a syntax tree changes between versions), in one small file per text under the
user's cache folder (``$CAIRN_CACHE_DIR/source``, else ``$XDG_CACHE_HOME/cairn/source``,
else ``~/.cache/cairn/source``; ``CAIRN_CACHE_DIR=off`` keeps nothing on disk). An edited
file has another digest, and its answers are worked out again from its new text. Only the
parsing is saved: what the names resolve to (objects, constants' values, closures) is looked
up in the running process every time, as before. A cache file that cannot be read is worked
out again; one that cannot be written costs the next process the parse.
"""

from __future__ import annotations

import ast
import copy
import linecache
import logging
import marshal
import os
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

from cairn.identity import source as _source
from cairn.identity.canonical import digest
from cairn.identity.files import cache_dir, save_cache_entry

__all__ = [
    "NO_CONSTANT",
    "ClassBody",
    "Constant",
    "class_bodies",
    "constant",
    "function",
    "header_digest",
    "save",
]

log = logging.getLogger(__name__)

#: The shape of the answers; a new shape is kept beside the old (another folder).
_FORMAT = 1
#: Files kept in the cache folder at most; beyond it the oldest half is removed.
_KEPT = 2000

#: What a piece of code uses, as kept: (names, attributes, imports), names sorted.
PackedUses = tuple[tuple[str, ...], tuple[str, ...], tuple[Any, ...]]
#: A statement of a class body: ("m", name, digest, uses) for a method, ("s", assigned
#: name or "", normalised source, uses) for any other statement.
BodyItem = tuple[str, str, str, PackedUses]
#: One ``class`` statement: first and last lines, body items, header before and after the
#: body in the normalised source, and what the bases, keywords and decorators use.
ClassBody = tuple[int, int, tuple[BodyItem, ...], str, str, PackedUses]
#: The statements binding a module-level name: how many, the ``from`` import they are
#: (module, level, ((name, bound as), ...)) when that is the only one, their digest, uses.
Constant = tuple[int, tuple[str, int, tuple[tuple[str, str], ...]] | None, str, PackedUses]

#: What :func:`constant` says of a name no statement binds (or of a file without source).
NO_CONSTANT: Constant = (0, None, digest("source", ""), ((), (), ()))

_BODY_MARK = ast.Expr(ast.Constant("\x00cairn: the class body\x00"))
_PASS = _source.normalised_ast(ast.Pass())


def pack(used: _source.Uses) -> PackedUses:
    return (tuple(sorted(used.names)), tuple(sorted(used.attrs)), used.imports)


def unpack(packed: PackedUses) -> _source.Uses:
    names, attrs, imports = packed
    return _source.Uses(frozenset(names), frozenset(attrs), tuple(imports))


class _Answers:
    """The answers for one text of one file: in memory, from disk, and those still to keep."""

    def __init__(self, filename: str, text: str, key: str, persist: bool) -> None:
        self.filename = filename
        self.text = text
        self.key = key
        self.persist = persist
        self.known: dict[Any, Any] = {}
        self.new = False
        if persist:
            self.known.update(_read(_entry(key)))

    def ask(self, question: Any, work_out: Callable[[_source.SourceFile], Any]) -> Any:
        if question in self.known:
            return self.known[question]
        sf = _source.source_file(self.filename)
        if sf is None or sf.text != self.text:  # changed on disk meanwhile: not kept
            return work_out(sf) if sf is not None else None
        answer = work_out(sf)
        self.known[question] = answer
        if self.persist and not self.new:
            self.new = True
            _unsaved.append(self)
        return answer


_by_file: dict[str, tuple[_source.Stamp, _Answers]] = {}
_unsaved: list[_Answers] = []
_lock = threading.RLock()


def _folder() -> str | None:
    folder = cache_dir("source")
    return os.path.join(folder, f"{sys.implementation.cache_tag}-{_FORMAT}") if folder else None


def _entry(key: str) -> str:
    return os.path.join(_folder() or "", key + ".marshal")


def _read(path: str) -> dict[Any, Any]:
    try:
        with open(path, "rb") as file:
            data = marshal.load(file)
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    return data if isinstance(data, dict) else {}


def _answers(filename: str, module_globals: dict[str, Any] | None) -> _Answers | None:
    """The answers for the text ``filename`` has now (None when it has no source)."""
    stamp = _source.stamp(filename)
    with _lock:
        cached = _by_file.get(filename)
        if cached is not None and stamp is not None and cached[0] == stamp:
            return cached[1]
        if stamp is not None:
            linecache.checkcache(filename)
        text = "".join(linecache.getlines(filename, module_globals))
        if not text:
            return None
        key = digest("source", text)
        if cached is not None and cached[1].key == key:
            answers = cached[1]
        else:
            answers = _Answers(filename, text, key, stamp is not None and _folder() is not None)
        _by_file[filename] = (stamp, answers)
        return answers


def function(func: Any) -> tuple[str, _source.Uses] | None:
    """The digest of the normalised source of a function or lambda and what it uses, or None
    when its source cannot be found."""
    code = func.__code__
    answers = _answers(code.co_filename, getattr(func, "__globals__", None))
    if answers is None:
        return None
    arguments = _source.lambda_arguments(code)
    line, name = code.co_firstlineno, code.co_name

    def work_out(sf: _source.SourceFile) -> tuple[str, PackedUses] | None:
        nodes = _source.nodes_at(sf, line, name, arguments)
        if not nodes:
            return None
        text = "\n".join(_source.normalised_ast(n) for n in nodes)
        return digest(text), pack(_source.uses(nodes, sf))

    found = answers.ask(("f", line, name, arguments), work_out)
    return None if found is None else (found[0], unpack(found[1]))


def class_bodies(cls: type) -> tuple[str, ClassBody] | None:
    """The file and ``class`` statement (as :data:`ClassBody`) that defined ``cls``, chosen
    as :func:`~cairn.identity.source.class_node` chooses; None when not found."""
    qualname = cls.__qualname__
    for filename, module_globals, inside in _source.class_filenames(cls):
        answers = _answers(filename, module_globals)
        if answers is None:
            continue

        def work_out(sf: _source.SourceFile) -> tuple[ClassBody, ...]:
            return tuple(_class_body(sf, node) for node in sf.classes.get(qualname, []))

        bodies = answers.ask(("c", qualname), work_out) or ()
        if bodies:
            spans = [(body[0], body[1]) for body in bodies]
            return filename, bodies[_source.pick_class(cls, spans, inside)]
    return None


def _class_body(sf: _source.SourceFile, node: ast.ClassDef) -> ClassBody:
    items: list[BodyItem] = []
    for stmt in node.body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            text = digest(_source.normalised_ast(stmt))
            items.append(("m", stmt.name, text, pack(_source.uses([stmt], sf))))
        else:
            text = _source.normalised_ast(stmt)
            items.append(("s", _assigned(stmt), text, pack(_source.uses([stmt]))))
    header = copy.copy(node)
    header.body = [_BODY_MARK]
    before, mark, after = _source.normalised_ast(header).partition(
        "[" + _source.normalised_ast(_BODY_MARK) + "]"
    )
    assert mark, "the class body's mark is in its header"
    outer = _source.uses([*node.bases, *node.keywords, *node.decorator_list])
    return (node.lineno, node.end_lineno or node.lineno, tuple(items), before, after, pack(outer))


def _assigned(stmt: ast.stmt) -> str:
    """The name a ``name = ...`` or ``name: T = ...`` statement assigns, else ""."""
    target: ast.expr | None = None
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
        target = stmt.targets[0]
    elif isinstance(stmt, ast.AnnAssign):
        target = stmt.target
    return target.id if isinstance(target, ast.Name) else ""


def header_digest(body: ClassBody, rest: Iterable[str]) -> str:
    """The digest of a class's normalised source with only the statements ``rest`` (their
    normalised sources) in its body: what it was with ``ast`` (``pass`` for none)."""
    inner = ", ".join(rest) or _PASS
    return digest(f"{body[3]}[{inner}]{body[4]}")


def constant(path: str, namespace: dict[str, Any], name: str) -> Constant:
    """What the module-level statements of the file ``path`` that bind ``name`` are."""
    answers = _answers(path, namespace)
    if answers is None:
        return NO_CONSTANT

    def work_out(sf: _source.SourceFile) -> Constant:
        statements = sf.bindings.get(name, [])
        origin = None
        if len(statements) == 1 and isinstance(statements[0], ast.ImportFrom):
            stmt = statements[0]
            bound = tuple((a.name, a.asname or a.name) for a in stmt.names)
            origin = (stmt.module or "", stmt.level, bound)
        text = "\n".join(_source.normalised_ast(s) for s in statements)
        return (len(statements), origin, digest("source", text), pack(_source.uses(statements)))

    found: Constant = answers.ask(("v", name), work_out)
    return found


def save() -> None:
    """Keep on disk the answers worked out since the last call (merged with what another
    process kept for the same text meanwhile)."""
    with _lock:
        pending = list(_unsaved)
        _unsaved.clear()
    for answers in pending:
        answers.new = False
        path = _entry(answers.key)
        merged = {**_read(path), **answers.known}
        try:
            data = marshal.dumps(merged)
        except ValueError:  # not of marshal's types: nothing is kept
            continue
        fresh = not os.path.exists(path)
        save_cache_entry(path, data)
        if fresh:
            _prune(os.path.dirname(path))


def _prune(folder: str) -> None:
    """Keep the folder under :data:`_KEPT` files: the oldest half goes."""
    try:
        with os.scandir(folder) as entries:
            files = [(e.stat().st_mtime, e.path) for e in entries if e.name.endswith(".marshal")]
    except OSError:
        return
    if len(files) <= _KEPT:
        return
    for _mtime, path in sorted(files)[: len(files) // 2]:
        try:
            os.unlink(path)
        except OSError as exc:
            log.debug("could not remove %s: %s", path, exc)
