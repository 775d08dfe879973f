"""The rewriting of one Python module from gokart/luigi to cairn, with libcst.

:class:`Rewriter` is a libcst codemod: it renames what cairn has under another name
(``gokart.TaskOnKart``, parameter types, ``task_namespace``, ``gokart.build``...), rewrites
the calls whose arguments changed (see :mod:`cairn.migrate._calls`), and puts a
``# cairn migrate: <what to do>`` comment above every statement holding something it cannot
convert, once (a second run finds the comment and adds nothing). Imports follow: ``import
cairn`` is added where needed, gokart and luigi imports go once nothing uses them. Names are
matched by what they refer to (libcst's ``QualifiedNameProvider``), so ``from gokart import
TaskOnKart as Base`` is found as surely as ``gokart.TaskOnKart``. Statement blocks (the
configuration file a script loads) are the business of :mod:`cairn.migrate._blocks`.
"""

# ruff: noqa: N802 - libcst calls visitor methods by node class name (leave_Call)

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import libcst as cst
from libcst.codemod import CodemodContext, VisitorBasedCodemodCommand
from libcst.codemod.visitors import RemoveImportsVisitor
from libcst.metadata import (
    PositionProvider,
    QualifiedName,
    QualifiedNameProvider,
    QualifiedNameSource,
)

from cairn.migrate import _blocks
from cairn.migrate._blocks import add_imports, mark
from cairn.migrate._calls import (
    Rewrite,
    build_call,
    code_of,
    default_of,
    expr,
    inherits_call,
    parameter_call,
    run_call,
    value_type,
)
from cairn.migrate._index import ClassInfo, ProjectIndex
from cairn.migrate._methods import self_call
from cairn.migrate._names import (
    ADD_CONFIG,
    INSPECT,
    PARAMETERS,
    RENAMES,
    SELF_ATTRIBUTES,
    SETTINGS,
    TASK_METHODS,
    UNSUPPORTED_NAMES,
    canonical,
)

__all__ = ["ModuleContext", "rewrite"]

_BUILDS = ("gokart.build", "luigi.build")
_RUNS = ("gokart.run", "luigi.run")
_HANDLED = frozenset({*_BUILDS, *_RUNS, *ADD_CONFIG, *INSPECT, "gokart.inherits_config_params"})
_MODULES = frozenset({"gokart", "luigi", "luigi.configuration", "luigi.util"})


@dataclass
class ModuleContext:
    """What rewriting one module needs to know about the project."""

    index: ProjectIndex
    module: str
    luigi_tasks: dict[str, str] = field(default_factory=dict)
    config_file: str | None = None


@dataclass
class _Class:
    info: ClassInfo | None
    kind: str | None


class Rewriter(VisitorBasedCodemodCommand):
    """The codemod: one instance per module."""

    METADATA_DEPENDENCIES = (QualifiedNameProvider, PositionProvider)

    def __init__(self, context: CodemodContext, module: ModuleContext) -> None:
        super().__init__(context)
        self.ctx = module
        self.changes: list[tuple[int, str]] = []
        self._pending: list[list[str]] = []
        self._scopes: list[_Class | None] = []
        self._functions: list[str] = []
        self._call_funcs: set[int] = set()
        self._build_roots: set[int] = set()
        self._statement_calls: set[int] = set()
        self.blocks = _blocks.BlockState()
        self._imports: list[str] = []

    # --- bookkeeping ----------------------------------------------------------------------
    def _line(self, node: cst.CSTNode) -> int:
        try:
            return int(self.get_metadata(PositionProvider, node).start.line)
        except KeyError:
            return 0

    def change(self, node: cst.CSTNode | int, what: str) -> None:
        line = node if isinstance(node, int) else self._line(node)
        self.changes.append((line, what))

    def todo(self, what: str) -> None:
        if self._pending:
            self._pending[-1].append(what)

    def uses_cairn(self, *modules: str) -> None:
        self._imports.extend(modules or ("cairn",))

    def _apply(self, original: cst.CSTNode, result: Rewrite) -> cst.BaseExpression:
        for what in result.changes:
            self.change(original, what)
        for what in result.todos:
            self.todo(what)
        self.uses_cairn()
        return result.node

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, cst.BaseStatement):
            self._pending.append([])
        return super().on_visit(node)

    def on_leave(self, original_node: Any, updated_node: Any) -> Any:
        result = super().on_leave(original_node, updated_node)
        if isinstance(original_node, cst.BaseStatement):
            todos = self._pending.pop()
            if todos and isinstance(result, cst.BaseStatement):
                marked = mark(result, todos)
                self.blocks.moved(result, marked)
                result = marked
        return result

    # --- what names mean --------------------------------------------------------------------
    def _qnames(self, node: cst.CSTNode) -> Collection[QualifiedName]:
        empty: Collection[QualifiedName] = frozenset()
        try:
            return self.get_metadata(QualifiedNameProvider, node, empty)
        except KeyError:
            return empty

    def qname(self, node: cst.CSTNode) -> str | None:
        """The gokart/luigi name ``node`` refers to, in its public form."""
        for name in sorted(canonical(q.name) for q in self._qnames(node)):
            if name.split(".", 1)[0] in ("gokart", "luigi"):
                return name
        return None

    def project_class(self, node: cst.CSTNode) -> ClassInfo | None:
        """The project class ``node`` refers to, if any."""
        for q in self._qnames(node):
            name: str = q.name
            if "<locals>" in name:
                continue
            if q.source is QualifiedNameSource.LOCAL:
                name = f"{self.ctx.module}.{name}"
            elif name.startswith("."):
                dots = len(name) - len(name.lstrip("."))
                package = self.ctx.module.split(".")
                package = package[: len(package) - dots] if dots else package
                name = ".".join([*package, name.lstrip(".")])
            info = self.ctx.index.resolve(name)
            if info is not None:
                return info
        return None

    def enclosing_class(self) -> _Class | None:
        return next((s for s in reversed(self._scopes) if s is not None), None)

    def _in_task_method(self) -> bool:
        for scope in reversed(self._scopes):
            if scope is not None:
                return scope.kind == "task" and self._scopes[-1] is None
        return False

    def _in_class_body(self) -> _Class | None:
        scope = self._scopes[-1] if self._scopes else None
        return scope if scope is not None and scope.kind is not None else None

    # --- imports ----------------------------------------------------------------------------
    def visit_Import(self, node: cst.Import) -> bool:
        for alias in node.names:
            name = code_of(alias.name)
            if name.split(".", 1)[0] in ("gokart", "luigi"):
                asname = alias.evaluated_alias
                RemoveImportsVisitor.remove_unused_import(self.context, name, asname=asname)
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        if node.relative or node.module is None or isinstance(node.names, cst.ImportStar):
            return False
        module = code_of(node.module)
        if module.split(".", 1)[0] in ("gokart", "luigi"):
            for alias in node.names:
                RemoveImportsVisitor.remove_unused_import(
                    self.context, module, alias.evaluated_name, alias.evaluated_alias
                )
        return False

    # --- scopes -----------------------------------------------------------------------------
    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        info = None
        if not self._scopes:
            info = self.ctx.index.classes.get(f"{self.ctx.module}.{node.name.value}")
        self._scopes.append(_Class(info, self.ctx.index.kind(info)))

    def leave_ClassDef(self, original_node: cst.ClassDef, updated_node: cst.ClassDef) -> Any:
        self._scopes.pop()
        return updated_node

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        owner = self._in_class_body()
        if owner is not None and owner.kind == "task" and node.name.value in TASK_METHODS:
            self.todo(f"{node.name.value}(): {TASK_METHODS[node.name.value]}")
        self._scopes.append(None)
        self._functions.append(node.name.value)

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> Any:
        self._scopes.pop()
        self._functions.pop()
        return updated_node

    # --- names ------------------------------------------------------------------------------
    def visit_Attribute(self, node: cst.Attribute) -> bool:
        return self.qname(node) is None  # a gokart/luigi chain is rewritten whole

    def visit_Annotation(self, node: cst.Annotation) -> bool:
        return self.qname(node.annotation) not in PARAMETERS

    def leave_Attribute(self, original_node: cst.Attribute, updated_node: cst.Attribute) -> Any:
        value = original_node.value
        if isinstance(value, cst.Name) and value.value == "self" and self._in_task_method():
            what = SELF_ATTRIBUTES.get(original_node.attr.value)
            if what is not None:
                self.todo(what)
            return updated_node
        return self._rename(original_node, updated_node)

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> Any:
        return self._rename(original_node, updated_node)

    def _rename(self, original: cst.BaseExpression, updated: cst.BaseExpression) -> Any:
        name = self.qname(original)
        if name is None or name in _MODULES or name in _HANDLED:
            return updated
        if name.rpartition(".")[0] in PARAMETERS:  # BoolParameter.EXPLICIT_PARSING: dropped
            return updated
        if name in RENAMES:
            self.change(original, f"{name} -> cairn.{RENAMES[name]}")
            self.uses_cairn()
            return expr(f"cairn.{RENAMES[name]}")
        spec = PARAMETERS.get(name)
        if spec is not None:
            if spec.target is None:
                self.todo(f"{name}: {spec.todo}")
                return updated
            if id(original) in self._call_funcs:
                return updated  # the call is rewritten whole
            self.change(original, f"{name} -> cairn.{spec.target}")
            self.uses_cairn()
            return expr(f"cairn.{spec.target}")
        what = UNSUPPORTED_NAMES.get(name, "it has no cairn equivalent; rewrite it by hand")
        self.todo(f"{name}: {what}")
        return updated

    def leave_AnnAssign(self, original_node: cst.AnnAssign, updated_node: cst.AnnAssign) -> Any:
        annotation = original_node.annotation.annotation
        name = self.qname(annotation)
        result: Any = updated_node
        if name in PARAMETERS:
            new = value_type(annotation, PARAMETERS[name].value_type)
            if new is not None:
                result = updated_node.with_changes(annotation=cst.Annotation(new))
                self.change(original_node, f"annotation {code_of(annotation)} -> {code_of(new)}")
            elif updated_node.value is not None:
                result = cst.Assign(
                    targets=[cst.AssignTarget(updated_node.target)], value=updated_node.value
                )
                self.change(original_node, f"annotation {code_of(annotation)} dropped")
        return self._class_attribute(original_node, result, original_node.target)

    def leave_Assign(self, original_node: cst.Assign, updated_node: cst.Assign) -> Any:
        if len(original_node.targets) != 1:
            return updated_node
        return self._class_attribute(original_node, updated_node, original_node.targets[0].target)

    def _class_attribute(self, original: cst.CSTNode, updated: Any, target: cst.CSTNode) -> Any:
        """``task_namespace`` and gokart's settings declared in a task class body."""
        owner = self._in_class_body()
        if owner is None or not isinstance(target, cst.Name):
            return updated
        name = target.value
        if name == "task_namespace":
            self.change(original, "task_namespace -> namespace")
            if isinstance(updated, cst.Assign):
                return updated.with_changes(targets=[cst.AssignTarget(cst.Name("namespace"))])
            return updated.with_changes(target=cst.Name("namespace"))
        if name not in SETTINGS:
            return updated
        value = getattr(original, "value", None)
        default = default_of(value)
        if name == "fail_on_empty_dump" and isinstance(default, cst.Name):
            self.change(original, f"fail_on_empty_dump = {default.value} (a class attribute)")
            return cst.Assign(targets=[cst.AssignTarget(cst.Name(name))], value=default)
        if name == "fix_random_seed_value" and isinstance(default, cst.Integer):
            self.change(original, f"fix_random_seed_value -> random_seed = {default.value}")
            return cst.Assign(targets=[cst.AssignTarget(cst.Name("random_seed"))], value=default)
        self.todo(f"{name}: {SETTINGS[name]}")
        return updated

    # --- calls ------------------------------------------------------------------------------
    def visit_Expr(self, node: cst.Expr) -> None:
        self._statement_calls.add(id(node.value))

    def visit_Call(self, node: cst.Call) -> None:
        self._call_funcs.add(id(node.func))
        if self.qname(node.func) in _BUILDS and node.args and node.args[0].keyword is None:
            root = node.args[0].value
            roots = [e.value for e in root.elements] if isinstance(root, cst.List) else [root]
            self._build_roots.update(id(r) for r in roots)

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> Any:
        name = self.qname(original_node.func)
        if name is not None:
            return self._library_call(original_node, updated_node, name)
        func = original_node.func
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            if func.value.value == "self" and self._in_task_method():
                return self_call(self, original_node, updated_node, func.attr.value)
            owner = self.project_class(func.value)
            if func.attr.value == "restore" and self.ctx.index.kind(owner) == "task":
                self.change(original_node, "restore() -> from_id()")
                new_func = updated_node.func
                if isinstance(new_func, cst.Attribute):
                    new_func = new_func.with_changes(attr=cst.Name("from_id"))
                    return updated_node.with_changes(func=new_func)
        info = self.project_class(func)
        if self.ctx.index.kind(info) == "task" and id(original_node) not in self._build_roots:
            for arg in original_node.args:
                key = arg.keyword.value if arg.keyword is not None else None
                if key in SETTINGS:
                    self.todo(f"{key}=: {SETTINGS[key]}")
        return updated_node

    def _library_call(self, original: cst.Call, updated: cst.Call, name: str) -> Any:
        spec = PARAMETERS.get(name)
        if spec is not None and spec.target is not None:
            result = parameter_call(updated, name)
            result.changes.insert(0, f"{name} -> {code_of(result.node).split('(')[0]}")
            return self._apply(original, result)
        if name in _BUILDS:
            used = id(original) not in self._statement_calls
            return self._apply(original, build_call(updated, name, result_used=used))
        if name in _RUNS:
            run = run_call(updated, name, statement=id(original) in self._statement_calls)
            if run is None:
                self.todo(f"{name}(...) with these arguments: call cairn.cli.main([...]) instead")
                return updated
            self.blocks.run_calls += 1
            self.uses_cairn("sys", "cairn.cli", "cairn.migrate")
            for what in run.changes:
                self.change(original, what)
            return run.node
        if name == "gokart.inherits_config_params":
            return self._apply(original, inherits_call(updated))
        if name in INSPECT and len(updated.args) == 1 and updated.args[0].keyword is None:
            new = expr(INSPECT[name].format(code_of(updated.args[0].value)))
            self.change(original, f"{name} -> {INSPECT[name].format('task')}")
            self.uses_cairn()
            return new
        if name in ADD_CONFIG:
            self.blocks.config_calls += 1
        return updated

    def leave_Yield(self, original_node: cst.Yield, updated_node: cst.Yield) -> Any:
        if self._in_task_method() and self._functions and self._functions[-1] == "run":
            self.todo(
                "yield in run() (luigi's dynamic dependencies): use "
                "outputs = self.require(tasks), which returns their outputs"
            )
        return updated_node

    # --- blocks -----------------------------------------------------------------------------
    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> Any:
        self.blocks.statement(self, original_node, updated_node)
        return updated_node

    def leave_IndentedBlock(
        self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock
    ) -> Any:
        return updated_node.with_changes(body=self.blocks.block(self, updated_node.body))

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> Any:
        body = self.blocks.block(self, updated_node.body)
        body = self.blocks.add_task_names(self, body)
        body = add_imports(body, self._imports)
        return updated_node.with_changes(body=body)


def rewrite(source: str, module: ModuleContext) -> tuple[str, list[tuple[int, str]]]:
    """Rewrite one module's ``source``; return the new source and the changes by line.

    Raises:
        libcst.ParserSyntaxError: when the source does not parse.
    """
    tree = cst.parse_module(source)
    context = CodemodContext(full_module_name=module.module)
    rewriter = Rewriter(context, module)
    new = rewriter.transform_module(tree)
    if new.code == source:
        return source, []
    return new.code, sorted(set(rewriter.changes))
