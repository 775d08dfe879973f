"""The project index: every class of the code base, read before anything is rewritten.

Rewriting one module needs facts from others: whether a class is a task (its base may live
in another module), which parameters it inherits, its ``task_namespace``, whether it writes
its own ``requires()``. Converting a luigi configuration needs them too: ``[shop.Train]``
names a luigi family (namespace and class name) that must become cairn's family (namespace,
module and class name). The index reads every module with :mod:`ast` (no import, no code
run) and answers both, for gokart code and for code already on cairn, so a second run sees
the same project.
"""

# ruff: noqa: N815 - ast calls visitor methods by node class name (visit_Call)

from __future__ import annotations

import ast
import os
from collections.abc import Iterable
from dataclasses import dataclass, field

from cairn.migrate._names import (
    ADD_CONFIG,
    CAIRN_PARAMETERS,
    GROUP_BASES,
    PARAMETERS,
    TASK_BASES,
    canonical,
)

__all__ = ["ClassInfo", "ConfigCall", "ProjectIndex", "module_name"]

_UNSET = "\0unset"


@dataclass
class ClassInfo:
    """One class: where it is, its bases (qualified), what it declares itself."""

    module: str
    name: str
    file: str
    bases: list[str]
    namespace: str | None = _UNSET
    params: dict[str, str] = field(default_factory=dict)
    defines_requires: bool = False

    @property
    def qualname(self) -> str:
        return f"{self.module}.{self.name}"


@dataclass(frozen=True)
class ConfigCall:
    """An ``add_config_path(...)`` call: the file it names (None when not a literal)."""

    file: str
    line: int
    path: str | None


def module_name(root: str, file: str) -> str:
    """The dotted module name of ``file``: its folders up to the first without ``__init__``."""
    folder, base = os.path.split(os.path.abspath(file))
    parts = [os.path.splitext(base)[0]]
    if parts[0] == "__init__":
        parts = []
    while os.path.isfile(os.path.join(folder, "__init__.py")):
        folder, name = os.path.split(folder)
        parts.insert(0, name)
        if not name:
            break
    return ".".join(parts) or os.path.splitext(base)[0]


class _ModuleReader(ast.NodeVisitor):
    def __init__(self, module: str, package: str, file: str) -> None:
        self.module, self.package, self.file = module, package, file
        self.aliases: dict[str, str] = {}
        self.classes: list[ClassInfo] = []
        self.config_calls: list[ConfigCall] = []
        self._depth = 0

    def qualify(self, node: ast.expr) -> str | None:
        """The qualified dotted name of an expression like ``gokart.TaskOnKart``."""
        if isinstance(node, ast.Subscript):
            return self.qualify(node.value)
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.insert(0, node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        head = self.aliases.get(node.id)
        if head is None:
            head = f"{self.module}.{node.id}"
        return canonical(".".join([head, *parts]))

    def _absolute(self, module: str | None, level: int) -> str:
        if level == 0:
            return module or ""
        base = self.package.split(".") if self.package else []
        base = base[: len(base) - (level - 1)] if level > 1 else base
        return ".".join([*base, *([module] if module else [])])

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.asname:
                self.aliases[alias.asname] = alias.name
            else:
                head = alias.name.split(".")[0]
                self.aliases[head] = head

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        source = self._absolute(node.module, node.level)
        for alias in node.names:
            if alias.name != "*":
                self.aliases[alias.asname or alias.name] = f"{source}.{alias.name}"

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        if self._depth == 0:
            bases = [q for q in (self.qualify(b) for b in node.bases) if q]
            info = ClassInfo(self.module, node.name, self.file, bases)
            for stmt in node.body:
                self._read_body(info, stmt)
            self.classes.append(info)
        self._depth += 1
        self.generic_visit(node)
        self._depth -= 1

    def _read_body(self, info: ClassInfo, stmt: ast.stmt) -> None:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            info.defines_requires = info.defines_requires or stmt.name == "requires"
            return
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target, value = stmt.targets[0], stmt.value
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            target, value = stmt.target, stmt.value
        else:
            return
        if not isinstance(target, ast.Name):
            return
        if target.id in ("task_namespace", "namespace"):
            if isinstance(value, ast.Constant) and isinstance(value.value, str | None):
                info.namespace = value.value
            return
        if isinstance(value, ast.Call):
            called = self.qualify(value.func)
            kind = _parameter_kind(called, value)
            if kind is not None:
                info.params[target.id] = kind

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._depth += 1
        self.generic_visit(node)
        self._depth -= 1

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_Call(self, node: ast.Call) -> None:
        if self.qualify(node.func) in ADD_CONFIG:
            arg = node.args[0] if node.args else None
            path = arg.value if isinstance(arg, ast.Constant) else None
            self.config_calls.append(
                ConfigCall(self.file, node.lineno, path if isinstance(path, str) else None)
            )
        self.generic_visit(node)


def _parameter_kind(called: str | None, call: ast.Call) -> str | None:
    if called is None:
        return None
    spec = PARAMETERS.get(called)
    if spec is not None:
        if called.endswith("NumericalParameter"):
            var_type = next((k.value for k in call.keywords if k.arg == "var_type"), None)
            if isinstance(var_type, ast.Name) and var_type.id == "int":
                return "int"
        return spec.kind
    return CAIRN_PARAMETERS.get(called)


class ProjectIndex:
    """Every class of the project, and what it inherits."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.classes: dict[str, ClassInfo] = {}
        self.aliases: dict[str, dict[str, str]] = {}
        self.config_calls: list[ConfigCall] = []

    def add(self, file: str, source: str) -> None:
        """Read one module (a file that does not parse adds nothing)."""
        try:
            tree = ast.parse(source, filename=file)
        except (SyntaxError, ValueError):
            return
        module = module_name(self.root, file)
        is_package = os.path.basename(file) == "__init__.py"
        package = module if is_package else module.rpartition(".")[0]
        reader = _ModuleReader(module, package, file)
        reader.visit(tree)
        self.aliases[module] = reader.aliases
        self.config_calls.extend(reader.config_calls)
        for info in reader.classes:
            self.classes[info.qualname] = info

    def resolve(self, qualname: str) -> ClassInfo | None:
        """The class a qualified name means, following re-exports (``from .base import X``)."""
        seen: set[str] = set()
        while qualname not in self.classes and qualname not in seen:
            seen.add(qualname)
            module, _, name = qualname.rpartition(".")
            target = self.aliases.get(module, {}).get(name)
            if target is None:
                return None
            qualname = canonical(target)
        return self.classes.get(qualname)

    def _lineage(self, info: ClassInfo) -> Iterable[ClassInfo | str]:
        """The class, then its ancestors depth first; external bases as names."""
        stack: list[ClassInfo | str] = [info]
        seen: set[str] = set()
        while stack:
            item = stack.pop(0)
            key = item if isinstance(item, str) else item.qualname
            if key in seen:
                continue
            seen.add(key)
            yield item
            if isinstance(item, ClassInfo):
                stack[0:0] = [self.resolve(b) or b for b in item.bases]

    def kind(self, info: ClassInfo | None) -> str | None:
        """``"task"``, ``"group"`` (a luigi.Config or ParameterGroup), or None."""
        if info is None:
            return None
        for item in self._lineage(info):
            if isinstance(item, str):
                if item in GROUP_BASES:
                    return "group"
                if item in TASK_BASES:
                    return "task"
        return None

    def namespace(self, info: ClassInfo) -> str | None:
        """The task namespace the class has or inherits (None when it has none)."""
        for item in self._lineage(info):
            if isinstance(item, ClassInfo) and item.namespace != _UNSET:
                return item.namespace or None
        return None

    def params(self, info: ClassInfo) -> dict[str, str]:
        """Every parameter of the class with its kind, inherited ones included."""
        out: dict[str, str] = {}
        for item in reversed(list(self._lineage(info))):
            if isinstance(item, ClassInfo):
                out.update(item.params)
        return out

    def defines_requires(self, info: ClassInfo) -> bool:
        """True when the class or a project base writes its own ``requires()``."""
        return any(isinstance(i, ClassInfo) and i.defines_requires for i in self._lineage(info))

    def luigi_family(self, info: ClassInfo) -> str:
        """The name luigi knows the class by: ``namespace.Name``, or ``Name``."""
        namespace = self.namespace(info)
        return f"{namespace}.{info.name}" if namespace else info.name

    def cairn_family(self, info: ClassInfo) -> str:
        """The name cairn knows the class by: ``namespace.module.Name``, or ``module.Name``."""
        namespace = self.namespace(info)
        return f"{namespace}.{info.qualname}" if namespace else info.qualname

    def by_luigi_family(self) -> dict[str, ClassInfo]:
        """Tasks and parameter groups by luigi family (the first class of a name wins)."""
        out: dict[str, ClassInfo] = {}
        for info in self.classes.values():
            if self.kind(info) is not None:
                out.setdefault(self.luigi_family(info), info)
        return out
