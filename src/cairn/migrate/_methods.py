"""``self.<method>(...)`` inside a task: gokart's methods with cairn's names and keywords.

gokart's methods that cairn has under the same name stay (``load``, ``dump``,
``load_data_frame``, ``make_target``, ``make_model_target``, ``load_generator``); their
keywords take cairn's names (``target=`` -> ``key=``, ``relative_file_path=`` -> ``path=``),
``load(self.task_param)`` names the requirement's key, ``make_target()`` gets gokart's
default path, ``make_large_data_frame_target`` becomes a parquet target, and the methods
cairn has no equivalent for are marked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import libcst as cst

from cairn.migrate._calls import expr, string, with_args
from cairn.migrate._index import ClassInfo
from cairn.migrate._names import METHOD_KEYWORDS, UNSUPPORTED_METHODS

if TYPE_CHECKING:
    from cairn.migrate._code import Rewriter

__all__ = ["self_call"]


def self_call(rewriter: Rewriter, original: cst.Call, updated: cst.Call, method: str) -> Any:
    """``self.<method>(...)`` in a task method, with cairn's names and keywords."""
    owner = rewriter.enclosing_class()
    info = owner.info if owner is not None else None
    if method == "make_unique_id" and not updated.args:
        rewriter.change(original, "self.make_unique_id() -> self.task_id")
        return expr("self.task_id")
    if method in UNSUPPORTED_METHODS:
        rewriter.todo(f"self.{method}(): {UNSUPPORTED_METHODS[method]}")
        return updated
    renames = METHOD_KEYWORDS.get(method, {})
    if method == "make_large_data_frame_target":
        renames = METHOD_KEYWORDS["make_target"]
    args: list[cst.Arg] = []
    for arg in updated.args:
        key = arg.keyword.value if arg.keyword is not None else None
        if key in renames:
            rewriter.change(original, f"{method}({key}=) -> {renames[key]}=")
            args.append(arg.with_changes(keyword=cst.Name(renames[key])))
            continue
        if key == "processor":
            rewriter.todo(
                "make_target(processor=...): cairn picks the format by the extension, "
                "or pass format=cairn.formats.<Format>(...)"
            )
            continue
        elif key == "max_byte":
            rewriter.change(original, "max_byte= dropped (parquet is written in row groups)")
            continue
        args.append(arg)
    func = updated.func
    if method in ("make_target", "make_large_data_frame_target"):
        args = _target_path(rewriter, original, method, args, info)
        if method == "make_large_data_frame_target" and isinstance(func, cst.Attribute):
            func = func.with_changes(attr=cst.Name("make_target"))
    if method in ("load", "load_generator", "load_data_frame") and info is not None:
        args = _load_key(rewriter, original, args, info)
    return with_args(updated, args, func)


def _target_path(
    rewriter: Rewriter, original: cst.Call, method: str, args: list[cst.Arg], info: ClassInfo | None
) -> list[cst.Arg]:
    positional = [a for a in args if a.keyword is None and not a.star]
    keyed = [a for a in args if a.keyword is not None and a.keyword.value == "path"]
    given = next(iter(positional or keyed), None)
    large = method == "make_large_data_frame_target"
    suffix = ".parquet" if large else ".pkl"
    if given is None:
        if info is None:
            return args
        path = f"{info.module.replace('.', '/')}/{info.name}{suffix}"
        rewriter.change(original, f"{method}() -> make_target({path!r}) (gokart's default path)")
        return [cst.Arg(expr(string(path))), *args]
    if not large:
        return args
    value = given.value
    if isinstance(value, cst.SimpleString) and str(value.evaluated_value).endswith(".zip"):
        path = str(value.evaluated_value)[: -len(".zip")] + ".parquet"
        rewriter.change(original, f"make_large_data_frame_target -> make_target({path!r})")
        return [given.with_changes(value=expr(string(path))) if a is given else a for a in args]
    rewriter.todo("make_large_data_frame_target: give make_target a path ending in .parquet")
    return args


def _load_key(
    rewriter: Rewriter, original: cst.Call, args: list[cst.Arg], info: ClassInfo
) -> list[cst.Arg]:
    if not args or args[0].keyword is not None:
        return args
    value = args[0].value
    if not (
        isinstance(value, cst.Attribute)
        and isinstance(value.value, cst.Name)
        and value.value.value == "self"
    ):
        return args
    param = value.attr.value
    if rewriter.ctx.index.params(info).get(param) not in ("task", "tasks"):
        return args
    if rewriter.ctx.index.defines_requires(info):
        rewriter.todo(f"load(self.{param}): cairn's load() takes a key of requires(), not a task")
        return args
    rewriter.change(original, f"load(self.{param}) -> load({param!r})")
    return [args[0].with_changes(value=expr(string(param))), *args[1:]]
