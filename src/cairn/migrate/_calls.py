"""Rewriting one call: a parameter declaration, ``gokart.build``, ``gokart.run``, a decorator.

Pure functions from a libcst call (already rewritten inside) to its cairn form, each
returning the new node with the notes for the report (``changes``) and the places left to
finish by hand (``todos``). The visitor in :mod:`cairn.migrate._code` decides which one
applies; nothing here reads the project or the tree around the call.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from cairn.migrate._names import (
    BUILD_DROPPED_KEYWORDS,
    COMMON_KEYWORDS,
    DROPPED_KEYWORDS,
    MARKED_KEYWORDS,
    PARAMETERS,
)

__all__ = [
    "Rewrite",
    "build_call",
    "expr",
    "string",
    "code_of",
    "inherits_call",
    "kwarg",
    "parameter_call",
    "run_call",
    "value_type",
    "default_of",
    "with_args",
]

_EMPTY = cst.SimpleWhitespace("")
_SPACE = cst.SimpleWhitespace(" ")
_SETTINGS_MOVED = {"rerun": "rerun", "workspace_directory": "workspace"}


@dataclass
class Rewrite:
    """A rewritten node, and what to say about it."""

    node: cst.BaseExpression
    changes: list[str] = field(default_factory=list)
    todos: list[str] = field(default_factory=list)


def expr(code: str) -> cst.BaseExpression:
    """An expression from its source text."""
    return cst.parse_expression(code)


def string(text: str) -> str:
    """A Python string literal of ``text``, in double quotes."""
    return json.dumps(text, ensure_ascii=False)


def code_of(node: cst.CSTNode) -> str:
    """The source text of ``node``."""
    return cst.Module(body=[]).code_for_node(node)


def kwarg(name: str, value: cst.BaseExpression) -> cst.Arg:
    """``name=value``, formatted as black does."""
    return cst.Arg(
        value=value,
        keyword=cst.Name(name),
        equal=cst.AssignEqual(whitespace_before=_EMPTY, whitespace_after=_EMPTY),
    )


def with_args(
    call: cst.Call, args: Sequence[cst.Arg], func: cst.BaseExpression | None = None
) -> cst.Call:
    """``call`` with ``args`` (commas fixed, a trailing comma kept) and optionally ``func``."""
    trailing = call.args[-1].comma if call.args else cst.MaybeSentinel.DEFAULT
    before = call.whitespace_before_args
    multiline = isinstance(before, cst.ParenthesizedWhitespace)
    separator = cst.Comma(whitespace_after=before if multiline else _SPACE)
    fixed: list[cst.Arg] = []
    for i, arg in enumerate(args):
        if i == len(args) - 1:
            fixed.append(arg.with_changes(comma=trailing))
        elif arg.comma is cst.MaybeSentinel.DEFAULT or arg.comma is trailing:
            fixed.append(arg.with_changes(comma=separator))
        else:
            fixed.append(arg)
    return call.with_changes(args=fixed, func=func if func is not None else call.func)


def _keyword(arg: cst.Arg) -> str | None:
    return arg.keyword.value if arg.keyword is not None else None


def _positional(call: cst.Call) -> list[cst.Arg]:
    return [a for a in call.args if a.keyword is None and not a.star]


def _take(call: cst.Call, name: str, position: int | None) -> cst.BaseExpression | None:
    """The value of keyword ``name``, else of positional argument ``position``."""
    for arg in call.args:
        if _keyword(arg) == name:
            return arg.value
    positional = _positional(call)
    if position is not None and position < len(positional):
        return positional[position].value
    return None


def _is_int(node: cst.BaseExpression | None) -> bool:
    return isinstance(node, cst.Name) and node.value == "int"


_TYPE_ARGUMENT = {
    "TaskInstanceParameter": "expected_type",
    "ListTaskInstanceParameter": "expected_elements_type",
    "SerializableParameter": "object_type",
}
#: luigi keywords that the conversion itself reads (the type, a range, choices).
_HANDLED_BY_SPEC = frozenset(
    {"var_type", "choices", "min_value", "max_value", "left_op", "right_op", "exists", "absolute"}
)


def parameter_call(call: cst.Call, qname: str) -> Rewrite:
    """A luigi/gokart parameter declaration as a cairn one."""
    spec = PARAMETERS[qname]
    short = qname.split(".", 1)[1]
    target = spec.target or "Parameter"
    if short.endswith(("NumericalParameter", "ChoiceParameter")) and _is_int(
        _take(call, "var_type", None)
    ):
        target = "IntParameter"
    out = Rewrite(call, todos=[spec.todo] if spec.todo else [])
    positional = _positional(call)
    type_keyword = _TYPE_ARGUMENT.get(short)
    kind: cst.BaseExpression | None = None
    if type_keyword is not None:
        kind = _take(call, type_keyword, None)
        if kind is None and positional:
            kind, positional = positional[0].value, positional[1:]
    args: list[cst.Arg] = list(positional)
    if short == "TaskInstanceParameter" and kind is not None:
        args.append(kwarg("expected_type", kind))
    elif short == "ListTaskInstanceParameter" and kind is not None:
        out.changes.append(
            f"{short}: expected_elements_type dropped (cairn does not check the types of a "
            "list's tasks)"
        )
    elif short == "SerializableParameter":
        if isinstance(kind, cst.Name | cst.Attribute):
            text = code_of(kind)
            args = [cst.Arg(kind), *positional]
            args.append(kwarg("serialize", expr(f"{text}.gokart_serialize")))
            args.append(kwarg("deserialize", expr(f"{text}.gokart_deserialize")))
        else:
            out.todos.append(
                "give cairn.SerializableParameter the value type and serialize=/deserialize= "
                "functions (or __cairn_serialize__/__cairn_deserialize__ on the type)"
            )
            args = [*([cst.Arg(kind)] if kind is not None else []), *positional]
    keeps = COMMON_KEYWORDS | spec.keeps
    stars: list[cst.Arg] = []
    for arg in call.args:
        name = _keyword(arg)
        if arg.star:
            stars.append(arg)
        elif name is None or name == type_keyword:
            continue
        elif name in keeps:
            args.append(arg)
        elif name in MARKED_KEYWORDS:
            out.todos.append(MARKED_KEYWORDS[name])
        elif name in DROPPED_KEYWORDS or name in _HANDLED_BY_SPEC:
            out.changes.append(f"{short}: {name}= dropped (cairn has no such option)")
        else:
            out.todos.append(f"{short}({name}=...) has no cairn equivalent: dropped")
    out.node = with_args(call, [*args, *stars], expr(f"cairn.{target}"))
    return out


def _settings_of(root: cst.Call) -> tuple[cst.Call, dict[str, cst.BaseExpression]]:
    """A root task construction without gokart's settings keywords, and those settings."""
    settings: dict[str, cst.BaseExpression] = {}
    kept: list[cst.Arg] = []
    for arg in root.args:
        name = _keyword(arg)
        if name in ("rerun", "workspace_directory", "redis_host", "redis_port"):
            settings[name] = arg.value
        else:
            kept.append(arg)
    return (with_args(root, kept) if settings else root), settings


def _lock_url(host: cst.BaseExpression, port: cst.BaseExpression | None) -> cst.BaseExpression:
    if isinstance(host, cst.SimpleString) and (port is None or isinstance(port, cst.Integer)):
        port_text = port.value if isinstance(port, cst.Integer) else "6379"
        return expr(string(f"redis://{host.evaluated_value!s}:{port_text}/0"))
    port_code = code_of(port) if port is not None else "6379"
    return expr(f'f"redis://{{{code_of(host)}}}:{{{port_code}}}/0"')


def build_call(call: cst.Call, qname: str, *, result_used: bool) -> Rewrite:
    """``gokart.build(task, ...)`` or ``luigi.build([...], ...)`` as ``cairn.build``."""
    out = Rewrite(call)
    args = list(call.args)
    moved: dict[str, cst.BaseExpression] = {}
    if args and args[0].keyword is None:
        root = args[0].value
        if isinstance(root, cst.Call):
            new_root, moved = _settings_of(root)
            args[0] = args[0].with_changes(value=new_root)
        elif isinstance(root, cst.List):
            elements = []
            for element in root.elements:
                if isinstance(element.value, cst.Call):
                    new_root, found = _settings_of(element.value)
                    elements.append(element.with_changes(value=new_root))
                    for key, value in found.items():
                        if key in moved and code_of(moved[key]) != code_of(value):
                            out.todos.append(
                                f"the tasks given to build have different {key}: cairn has one "
                                "per build; build them separately"
                            )
                        moved[key] = value
                else:
                    elements.append(element)
            args[0] = args[0].with_changes(value=root.with_changes(elements=elements))
    kept: list[cst.Arg] = []
    names = {_keyword(a) for a in args}
    for arg in args:
        name = _keyword(arg)
        if name is None or name in ("workspace", "executor", "workers", "lock", "rerun"):
            kept.append(arg)
            if name == "workers" and "executor" not in names:
                kept.append(kwarg("executor", expr('"processes"')))
                out.changes.append('workers=N: runs on executor="processes" (luigi workers)')
        elif name in BUILD_DROPPED_KEYWORDS:
            out.changes.append(f"{qname}({name}=...) dropped (cairn has no such option)")
        elif name == "workspace_directory":
            kept.append(arg.with_changes(keyword=cst.Name("workspace")))
        else:
            out.todos.append(f"{qname}({name}=...) has no cairn equivalent: dropped")
    for key, value in moved.items():
        if key in _SETTINGS_MOVED:
            kept.append(kwarg(_SETTINGS_MOVED[key], value))
            out.changes.append(f"{key}= moved from the task to the build: {_SETTINGS_MOVED[key]}=")
    if "redis_host" in moved:
        kept.append(kwarg("lock", _lock_url(moved["redis_host"], moved.get("redis_port"))))
        out.changes.append("redis_host/redis_port moved from the task to the build: lock=")
    out.node = with_args(call, kept, expr("cairn.build"))
    out.changes.insert(0, f"{qname} -> cairn.build")
    if qname == "luigi.build" and result_used:
        out.todos.append(
            "luigi.build returned True/False; cairn.build returns the outputs and raises "
            "cairn.BuildError when a task fails"
        )
    return out


def run_call(call: cst.Call, qname: str, *, statement: bool) -> Rewrite | None:
    """``gokart.run()`` / ``luigi.run()`` as cairn's command line; None when it cannot be."""
    argv: cst.BaseExpression = expr("sys.argv[1:]")
    for arg in call.args:
        name = _keyword(arg)
        if name in (None, "cmdline_args"):
            argv = arg.value
        elif name not in ("set_retcode", "local_scheduler", "detailed_summary"):
            return None
    line = code_of(argv)
    main = expr(f"cairn.cli.main(cairn.migrate.luigi_argv({line}, LUIGI_TASKS))")
    if qname == "gokart.run":
        node = expr(f"sys.exit({code_of(main)})")
    else:
        node = main if statement else expr(f"{code_of(main)} == 0")
    return Rewrite(node, [f"{qname}() -> cairn's command line (cairn run)"])


def inherits_call(call: cst.Call) -> Rewrite:
    """``@inherits_config_params(Config, parameter_alias={...})`` as ``@cairn.inherits``."""
    out = Rewrite(call)
    args: list[cst.Arg] = []
    for arg in call.args:
        name = _keyword(arg)
        if name == "parameter_alias":
            value = arg.value
            if isinstance(value, cst.Dict) and all(
                isinstance(e, cst.DictElement) for e in value.elements
            ):
                pairs = [
                    f"{code_of(e.value)}: {code_of(e.key)}"
                    for e in value.elements
                    if isinstance(e, cst.DictElement)
                ]
                args.append(kwarg("aliases", expr("{" + ", ".join(pairs) + "}")))
                out.changes.append(
                    "parameter_alias -> aliases (turned around: task parameter -> group's)"
                )
            else:
                args.append(arg)
                out.todos.append(
                    "cairn.inherits takes aliases={task parameter: group parameter}, the other "
                    "way round from gokart's parameter_alias: turn the mapping round"
                )
        elif name == "config_class":
            args.append(arg.with_changes(keyword=None, equal=cst.MaybeSentinel.DEFAULT))
        else:
            args.append(arg)
    out.node = with_args(call, args, expr("cairn.inherits"))
    out.changes.insert(0, "@inherits_config_params -> @cairn.inherits")
    return out


def value_type(annotation: cst.BaseExpression, fallback: str | None) -> Any:
    """``luigi.Parameter[int]`` -> ``int``; a bare parameter type -> its value type or None."""
    if isinstance(annotation, cst.Subscript) and len(annotation.slice) == 1:
        element = annotation.slice[0].slice
        if isinstance(element, cst.Index):
            return element.value
    return cst.Name(fallback) if fallback else None


def default_of(value: cst.BaseExpression | None) -> cst.BaseExpression | None:
    """The ``default=`` of a parameter declaration (or the value itself when it is a literal)."""
    if isinstance(value, cst.Call):
        for arg in value.args:
            if arg.keyword is not None and arg.keyword.value == "default":
                return arg.value
        return value.args[0].value if value.args and value.args[0].keyword is None else None
    return value
