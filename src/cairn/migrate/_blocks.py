"""Statement blocks: where a script loads its configuration, and ``main.py``'s task names.

luigi reads a configuration file for the whole process from the moment
``add_config_path(...)`` is called; cairn reads ``cairn.toml`` when asked, and applies its
parameter values to the tasks constructed inside ``with config.active():``. So in a block:

- before ``gokart.run()`` (now cairn's command line, which reads ``cairn.toml`` itself) the
  call is dropped;
- before code that builds, the rest of the block moves into
  ``with cairn_config.active():`` and each ``cairn.build`` gets ``config=cairn_config``;
- anywhere else it stays, marked.

A module whose ``gokart.run()`` became cairn's command line also gets ``LUIGI_TASKS``, the
luigi task names and cairn's, so ``python main.py Name --param v`` keeps working.
"""

# ruff: noqa: N802 - libcst calls visitor methods by node class name (leave_Call)

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import libcst as cst
import libcst.matchers as m

from cairn.migrate._calls import code_of, expr, kwarg, string, with_args
from cairn.migrate._names import ADD_CONFIG
from cairn.migrate._report import comment_lines, find_markers

if TYPE_CHECKING:
    from cairn.migrate._code import Rewriter

__all__ = ["BlockState", "add_imports", "mark"]

_RUNS = ("gokart.run", "luigi.run")
_BUILD = m.Call(func=m.Attribute(value=m.Name("cairn"), attr=m.Name("build")))
_TASK_NAMES = "LUIGI_TASKS"


@dataclass
class BlockState:
    """What the statements of one module said about configuration files and run calls."""

    config_calls: int = 0
    run_calls: int = 0
    _config: dict[int, int] = field(default_factory=dict)
    _runs: set[int] = field(default_factory=set)

    def statement(
        self, rewriter: Rewriter, original: cst.SimpleStatementLine, updated: Any
    ) -> None:
        """Note a statement that is an ``add_config_path(...)`` or ``gokart.run()`` call."""
        if len(original.body) != 1 or not isinstance(original.body[0], cst.Expr):
            return
        call = original.body[0].value
        if not isinstance(call, cst.Call):
            return
        name = rewriter.qname(call.func)
        if name in ADD_CONFIG:
            self._config[id(updated)] = rewriter._line(original)
        elif name in _RUNS and self.run_calls:
            self._runs.add(id(updated))

    def moved(self, old: Any, new: Any) -> None:
        """``old`` was replaced by ``new`` (a comment added): keep what was noted of it."""
        if id(old) in self._config:
            self._config[id(new)] = self._config.pop(id(old))
        if id(old) in self._runs:
            self._runs.discard(id(old))
            self._runs.add(id(new))

    def block(self, rewriter: Rewriter, body: Sequence[Any]) -> list[Any]:
        """The statements of a block, rewritten around its first ``add_config_path``."""
        statements = list(body)
        first = next((i for i, s in enumerate(statements) if id(s) in self._config), None)
        if first is None:
            return statements
        head, config, rest = statements[:first], statements[first], statements[first + 1 :]
        more = [s for s in rest if id(s) in self._config]
        rest = [s for s in rest if id(s) not in self._config]
        line = self._config[id(config)]
        file = rewriter.ctx.config_file
        if file is None:
            todo = (
                "luigi read this configuration file for the whole process; cairn reads "
                "cairn.toml: convert the file with cairn migrate --config FILE"
            )
            return [*head, *(mark(s, [todo]) for s in (config, *more)), *rest]
        comments = [line for s in (config, *more) for line in s.leading_lines]
        if any(id(s) in self._runs for s in rest):
            rewriter.change(line, f"add_config_path dropped: cairn run reads {file} itself")
            if rest:
                rest[0] = rest[0].with_changes(leading_lines=[*comments, *rest[0].leading_lines])
            return [*head, *rest]
        if any(m.findall(s, _BUILD) for s in rest):
            rewriter.change(
                line,
                f"add_config_path -> cairn_config = cairn.load_config({string(file)}), the rest "
                "of the block inside cairn_config.active(), config=cairn_config on builds",
            )
            rewriter.uses_cairn()
            load = cst.parse_statement(f"cairn_config = cairn.load_config({string(file)})\n")
            load = load.with_changes(leading_lines=comments)
            inside = [_indented(s.visit(_AddConfig())) for s in rest]
            if inside:  # no blank line right after the with
                lines = list(inside[0].leading_lines)
                while lines and lines[0].comment is None:
                    lines.pop(0)
                inside[0] = inside[0].with_changes(leading_lines=lines)
            block = cst.With(
                items=[cst.WithItem(expr("cairn_config.active()"))],
                body=cst.IndentedBlock(body=inside),
            )
            return [*head, load, block]
        todo = (
            "luigi read this configuration file for the whole process; cairn reads "
            f"{file} when asked: construct tasks inside "
            f"`with cairn.load_config({string(file)}).active():` and pass config= to cairn.build"
        )
        return [*head, mark(config, [todo]), *more, *rest]

    def add_task_names(self, rewriter: Rewriter, body: Sequence[Any]) -> list[Any]:
        """``body`` with ``LUIGI_TASKS`` after the imports, when ``gokart.run()`` was rewritten."""
        statements = list(body)
        if not self.run_calls:
            return statements
        defined = m.Assign(targets=[m.AssignTarget(target=m.Name(_TASK_NAMES))])
        if any(m.findall(s, defined) for s in statements):
            return statements
        names = rewriter.ctx.luigi_tasks
        entries = "".join(
            f"    {string(luigi)}: {string(ours)},\n" for luigi, ours in sorted(names.items())
        )
        names_statement = cst.parse_statement(f"{_TASK_NAMES} = {{\n{entries}}}\n")
        if not names:
            names_statement = cst.parse_statement(f"{_TASK_NAMES}: dict[str, str] = {{}}\n")
        names_statement = names_statement.with_changes(
            leading_lines=[
                cst.EmptyLine(indent=False),
                cst.EmptyLine(
                    comment=cst.Comment(
                        "# luigi's task names and cairn's, so `python main.py Name --param v` "
                        "keeps working"
                    )
                ),
            ]
        )
        last_import = -1
        for i, statement in enumerate(statements):
            if isinstance(statement, cst.SimpleStatementLine) and any(
                isinstance(s, cst.Import | cst.ImportFrom) for s in statement.body
            ):
                last_import = i
            elif last_import >= 0:
                break
        rewriter.change(1, f"{_TASK_NAMES}: luigi's task names -> cairn's module:Task")
        return [*statements[: last_import + 1], names_statement, *statements[last_import + 1 :]]


class _AddConfig(cst.CSTTransformer):
    """Adds ``config=cairn_config`` to every ``cairn.build(...)`` without a config."""

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> Any:
        if not m.matches(updated_node, _BUILD):
            return updated_node
        if any(a.keyword is not None and a.keyword.value == "config" for a in updated_node.args):
            return updated_node
        return with_args(updated_node, [*updated_node.args, kwarg("config", expr("cairn_config"))])


def _indented(statement: Any) -> Any:
    """A statement moved into a block: its blank lines carry no indentation."""
    lines = [
        line.with_changes(indent=False) if line.comment is None else line
        for line in statement.leading_lines
    ]
    return statement.with_changes(leading_lines=lines)


def mark(statement: Any, todos: Sequence[str]) -> Any:
    """``statement`` with a ``# cairn migrate:`` comment above it per to-do not yet there."""
    comments = [line.comment.value for line in statement.leading_lines if line.comment]
    existing = {what for _, what in find_markers(comments)}
    lines = [
        cst.EmptyLine(comment=cst.Comment(text))
        for what in dict.fromkeys(" ".join(t.split()) for t in todos)
        if what not in existing
        for text in comment_lines(what)
    ]
    if not lines:
        return statement
    return statement.with_changes(leading_lines=[*statement.leading_lines, *lines])


def _imports(statement: Any) -> list[cst.Import | cst.ImportFrom]:
    if not isinstance(statement, cst.SimpleStatementLine):
        return []
    return [s for s in statement.body if isinstance(s, cst.Import | cst.ImportFrom)]


def _imported(statement: Any) -> list[str]:
    out: list[str] = []
    for node in _imports(statement):
        if isinstance(node, cst.Import):
            out.extend(code_of(a.name) for a in node.names if a.asname is None)
        elif node.module is not None and not node.relative:
            out.append(code_of(node.module))
    return out


def add_imports(body: Sequence[Any], modules: Sequence[str]) -> list[Any]:
    """``body`` with ``import <module>`` for each of ``modules`` it does not import yet.

    ``import sys`` goes first among the imports; cairn's where gokart's or luigi's were (the
    same place in a sorted import block), else after the last import.
    """
    statements = list(body)
    present = {name for s in statements for name in _imported(s)}
    missing = [name for name in dict.fromkeys(modules) if name not in present]
    if not missing:
        return statements
    first_import = next(
        (i for i, s in enumerate(statements) if _imports(s) and "__future__" not in _imported(s)),
        None,
    )
    library = next(
        (
            i
            for i, s in enumerate(statements)
            if any(n.split(".")[0] in ("gokart", "luigi") for n in _imported(s))
        ),
        None,
    )
    last_import = max((i for i, s in enumerate(statements) if _imports(s)), default=None)
    groups: dict[int, list[str]] = {}
    takes: dict[int, bool] = {}
    for name in missing:
        if name == "sys" and first_import is not None:
            at, take = _stdlib_place(statements, first_import)
        elif name != "sys" and library is not None:
            at, take = library, True
        elif last_import is not None:
            at, take = last_import + 1, False
        else:
            at, take = _after_docstring(statements), False
        groups.setdefault(at, []).append(name)
        takes[at] = takes.get(at, False) or take
    for at in sorted(groups, reverse=True):
        names = sorted(groups[at], key=lambda n: (n != "sys", n))
        new = [cst.parse_statement(f"import {name}\n") for name in names]
        if names[0] == "sys" and len(new) > 1:
            new[1] = new[1].with_changes(leading_lines=[cst.EmptyLine(indent=False)])
        if takes[at] and at < len(statements):
            new[0] = new[0].with_changes(leading_lines=statements[at].leading_lines)
            statements[at] = statements[at].with_changes(leading_lines=[])
        elif at > 0 and last_import is None:
            new[0] = new[0].with_changes(leading_lines=[cst.EmptyLine(indent=False)])
            if at < len(statements) and not statements[at].leading_lines:
                statements[at] = statements[at].with_changes(
                    leading_lines=[cst.EmptyLine(indent=False)]
                )
        statements[at:at] = new
    return statements


def _stdlib_place(statements: list[Any], first_import: int) -> tuple[int, bool]:
    """Where ``import sys`` goes: in order among the standard library imports at the top."""
    stdlib = [
        i
        for i, s in enumerate(statements)
        if _imports(s) and all(n.split(".")[0] in sys.stdlib_module_names for n in _imported(s))
    ]
    if not stdlib:
        return first_import, True
    after = [i for i in stdlib if min(_imported(statements[i])) > "sys"]
    return (after[0], True) if after else (stdlib[-1] + 1, False)


def _after_docstring(statements: list[Any]) -> int:
    at = 0
    for i, statement in enumerate(statements):
        if i == 0 and m.matches(
            statement, m.SimpleStatementLine(body=[m.Expr(value=m.SimpleString())])
        ):
            at = 1
        elif "__future__" in _imported(statement):
            at = i + 1
    return at
