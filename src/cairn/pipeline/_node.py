"""Nodes of the function style: a function with named inputs and outputs, and the config
values it reads.

:func:`node` checks one node on its own: its function, its names, and that the function's
signature takes its inputs. A node's code fingerprint is its function's (``code_version``
pins it), with the arguments a ``functools.partial`` binds. Config paths (``config.a.b``)
walk dicts, dataclasses and pydantic models alike, and the values they reach have a
canonical encoding that enters node ids.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import re
import types
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from cairn._errors import CairnError, ConfigError, FormatError, PipelineError
from cairn.formats import extension_of, known_extensions
from cairn.identity import fingerprint as _fingerprint
from cairn.identity.canonical import canonical, digest
from cairn.identity.codegraph import real_module_name

__all__ = [
    "CONFIG",
    "Node",
    "check_name",
    "config_keys",
    "config_value",
    "encode_config",
    "is_config_path",
    "jsonable",
    "node",
]

#: The input name of the whole config; ``config.a.b`` names a path into it.
CONFIG = "config"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*\Z")


def is_config_path(source: str) -> bool:
    """True for ``config`` and ``config.a.b``."""
    return source == CONFIG or source.startswith(CONFIG + ".")


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class Node:
    """One step of a pipeline: a function, the names it reads and the names it writes.

    Made by :func:`node`; immutable. ``inputs`` are the names read, in order; ``params``
    the keyword each is passed as (``None``: positionally). ``single`` is true when
    ``outputs`` was one name, so the function's return value is that output.
    """

    func: Callable[..., Any]
    inputs: tuple[str, ...]
    params: tuple[str, ...] | None
    outputs: tuple[str, ...]
    name: str
    single: bool
    extensions: tuple[tuple[str, str], ...]
    code_version: str | None

    @property
    def module(self) -> str:
        """The module of the node's function (for a partial, of the function it wraps)."""
        name = str(getattr(_unwrap_partial(self.func), "__module__", None) or "builtins")
        return real_module_name(name)  # `python -m pkg.flow` keeps pkg.flow's ids

    @property
    def function_name(self) -> str:
        """``module.qualname`` of the node's function."""
        func = _unwrap_partial(self.func)
        return f"{self.module}.{getattr(func, '__qualname__', type(func).__qualname__)}"

    def label(self) -> str:
        """One line: ``name(inputs) -> outputs``."""
        if self.params is None:
            args = ", ".join(self.inputs)
        else:
            args = ", ".join(f"{p}={s}" for p, s in zip(self.params, self.inputs, strict=True))
        made = ", ".join(self.outputs) if self.outputs else "(side effect)"
        return f"{self.name}({args}) -> {made}"

    def __repr__(self) -> str:
        return f"<node {self.label()}>"

    def identity(self) -> str:
        """Canonical text of what, besides code, config and upstream ids, makes the id."""
        cached: str | None = self.__dict__.get("_identity")
        if cached is not None:
            return cached
        text = canonical(
            [
                self.name,
                self.function_name,
                list(self.inputs),
                list(self.params) if self.params is not None else None,
                list(self.outputs),
                self.single,
                dict(self.extensions),
            ]
        )
        object.__setattr__(self, "_identity", text)
        return text

    def fingerprint(self) -> _fingerprint.Fingerprint:
        """The code fingerprint of the function (computed once, and pickled with the node)."""
        cached: _fingerprint.Fingerprint | None = self.__dict__.get("_fingerprint")
        if cached is not None:
            return cached
        if self.code_version is not None:
            fp = _fingerprint.Fingerprint(digest("code_version", self.code_version), {})
        else:
            func, bound = self.func, []
            while isinstance(func, functools.partial):
                bound.append(canonical([list(func.args), dict(func.keywords)]))
                func = func.func
            fp = _fingerprint.function_fingerprint(func)
            if bound:
                extra = digest(*bound)
                fp = _fingerprint.Fingerprint(
                    digest(fp.digest, extra), {**fp.components, "functools.partial": extra}
                )
        object.__setattr__(self, "_fingerprint", fp)
        return fp

    def describe(self) -> dict[str, Any]:
        """A JSON-compatible description (for run records)."""
        return {
            "name": self.name,
            "function": self.function_name,
            "inputs": dict(zip(self.params, self.inputs, strict=True))
            if self.params is not None
            else list(self.inputs),
            "outputs": (self.outputs[0] if self.single else list(self.outputs))
            if self.outputs
            else None,
            "extensions": dict(self.extensions),
            "code_version": self.code_version,
        }


def _unwrap_partial(func: Any) -> Any:
    while isinstance(func, functools.partial):
        func = func.func
    return func


def check_name(what: str, name: Any, where: str) -> str:
    """Return ``name`` if it can name an output, node or runtime object; else raise."""
    if not isinstance(name, str) or not _NAME.match(name) or name == CONFIG:
        raise PipelineError(
            f"{where}: {what} {name!r} is not a valid name; use letters, digits, '_' and '-' "
            f"(no dots or spaces, not starting with a digit, and not {CONFIG!r})"
        )
    return name


def _check_function(func: Any) -> None:
    inner = _unwrap_partial(func)
    if not isinstance(inner, types.FunctionType | types.BuiltinFunctionType):
        raise PipelineError(
            f"cairn.node() takes a function (def or lambda, or a functools.partial of one), not "
            f"{type(func).__qualname__} {func!r}; wrap it in a function that calls it"
        )
    partial = func
    while isinstance(partial, functools.partial):
        try:
            canonical([list(partial.args), dict(partial.keywords)])
        except CairnError as exc:
            raise PipelineError(
                f"cairn.node({func!r}): the arguments bound by functools.partial enter the "
                f"node's id and must be plain values ({exc}); pass other objects as inputs "
                "or runtime objects instead"
            ) from None
        partial = partial.func


def _as_names(value: Any, what: str, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise PipelineError(f"{where}: {what} must be a name or a list of names, not {value!r}")


def _check_signature(
    func: Callable[..., Any], inputs: tuple[str, ...], params: tuple[str, ...] | None, label: str
) -> None:
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):  # some builtins have no signature to check
        return
    try:
        if params is None:
            sig.bind(*inputs)
        else:
            sig.bind(**dict.fromkeys(params))
    except TypeError as exc:
        given = (
            f"{len(inputs)} positional input(s) {list(inputs)}"
            if params is None
            else f"keyword inputs {dict(zip(params, inputs, strict=True))}"
        )
        raise PipelineError(
            f"node {label}: its function {getattr(func, '__name__', func)}{sig} cannot take "
            f"{given}: {exc}. Make the inputs match the function's parameters."
        ) from None


def node(
    func: Callable[..., Any],
    inputs: str | Sequence[str] | Mapping[str, str] | None = None,
    outputs: str | Sequence[str] | None = None,
    *,
    name: str | None = None,
    extension: str | Mapping[str, str] | None = None,
    code_version: str | None = None,
) -> Node:
    """Make a pipeline node: ``func`` called with ``inputs``, its result named ``outputs``.

    Args:
        func: a function (or lambda, or ``functools.partial`` of one).
        inputs: names the function reads: outputs of other nodes, ``"config"`` (the whole
            config), ``"config.a.b"`` (a path into it), or runtime objects of the pipeline.
            A list passes them positionally; a dict ``{parameter: name}`` by keyword.
        outputs: one name (the return value), a list of names (the function returns a
            tuple of that many values, in order), or ``None`` for a side-effect node, which
            runs when its inputs or code change and is recorded, but makes no output.
        name: the node's name in plans and in the workspace (default: the function's).
        extension: store outputs with this extension's format (``".json"``, or a dict per
            output) instead of choosing by the returned type.
        code_version: a string that replaces the function's code fingerprint in the id.

    Raises:
        PipelineError: for a bad name, or a function whose signature does not take the
            inputs.
    """
    _check_function(func)
    where = f"cairn.node({getattr(func, '__name__', func)!s})"
    if inputs is None:
        sources: tuple[str, ...] = ()
        params: tuple[str, ...] | None = None
    elif isinstance(inputs, Mapping):
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in inputs.items()):
            raise PipelineError(f"{where}: inputs as a dict map parameter names to input names")
        params, sources = tuple(inputs), tuple(inputs.values())
    else:
        sources, params = _as_names(inputs, "inputs", where), None
    for source in sources:
        if is_config_path(source):
            if any(not part for part in source.split(".")):
                raise PipelineError(f"{where}: {source!r} is not a config path like 'config.a.b'")
        else:
            check_name("input", source, where)
    single = isinstance(outputs, str)
    made = () if outputs is None else _as_names(outputs, "outputs", where)
    if outputs is not None and not made:
        raise PipelineError(
            f"{where}: outputs=[] makes nothing; use outputs=None for a side effect"
        )
    for out in made:
        check_name("output", out, where)
    if len(set(made)) != len(made):
        raise PipelineError(f"{where}: outputs {list(made)} name one output twice")
    inner = _unwrap_partial(func)
    if name is None:
        name = inner.__name__ if inner.__name__ != "<lambda>" else "_".join(made) or None
        if name is None:
            raise PipelineError(f"{where}: a lambda side-effect node needs name=...")
    check_name("name", name, where)
    extensions = _extensions(extension, made, where)
    if code_version is not None and not isinstance(code_version, str):
        raise PipelineError(f"{where}: code_version must be a string, not {code_version!r}")
    result = Node(func, sources, params, made, name, single, extensions, code_version)
    _check_signature(func, sources, params, result.label())
    return result


def _extensions(
    extension: str | Mapping[str, str] | None, made: tuple[str, ...], where: str
) -> tuple[tuple[str, str], ...]:
    if extension is None:
        return ()
    if not made:
        raise PipelineError(f"{where}: a side-effect node has no outputs to give an extension")
    chosen = dict.fromkeys(made, extension) if isinstance(extension, str) else dict(extension)
    for out, ext in chosen.items():
        if out not in made:
            raise PipelineError(f"{where}: extension for {out!r}, which is not an output")
        try:
            known = isinstance(ext, str) and extension_of("x" + ext) == ext.lower()
        except FormatError:
            known = False
        if not known:
            raise FormatError(
                f"{where}: no format for extension {ext!r}; known: {', '.join(known_extensions())}"
            )
    return tuple((out, chosen[out].lower()) for out in made if out in chosen)


# --- config ------------------------------------------------------------------------------


def _model_fields(value: Any) -> list[str] | None:
    """Field names of a dataclass instance or a pydantic model, else None."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [f.name for f in dataclasses.fields(value)]
    fields = getattr(type(value), "model_fields", None)  # pydantic v2
    if isinstance(fields, Mapping) and hasattr(value, "model_dump"):
        return [str(k) for k in fields]
    return None


def config_keys(value: Any) -> list[str] | None:
    """The keys a config path can take below ``value``, or None when it is a leaf."""
    if isinstance(value, Mapping):
        return [str(k) for k in value]
    return _model_fields(value)


def config_value(config: Any, source: str, reader: str) -> Any:
    """Follow ``config.a.b`` into ``config`` (dicts, dataclasses, pydantic models).

    Raises:
        ConfigError: naming the path and the keys that do exist where it failed.
    """
    value = config
    walked = CONFIG
    for part in source.split(".")[1:]:
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif not isinstance(value, Mapping) and part in (_model_fields(value) or ()):
            value = getattr(value, part)
        else:
            keys = config_keys(value)
            where = (
                f"{walked} has keys {', '.join(map(repr, keys))}"
                if keys
                else f"{walked} is {type(value).__qualname__} {value!r}, which has no keys"
            )
            raise ConfigError(f"node {reader} reads {source!r}, which does not exist: {where}")
        walked += "." + part
    return value


@dataclasses.dataclass(frozen=True)
class _Struct:
    """A dataclass or pydantic value, as its class name and fields, for canonical()."""

    kind: str
    fields: dict[str, Any]

    def __cairn_canonical__(self) -> str:
        return canonical([self.kind, self.fields])


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    fields = _model_fields(value)
    if fields is not None:
        return _Struct(type(value).__qualname__, {f: _plain(getattr(value, f)) for f in fields})
    return value


def encode_config(values: Mapping[str, Any]) -> str:
    """Canonical text of config values read by a node (``{path: value}``).

    Raises:
        ConfigError: for a value that cannot enter an id.
    """
    parts = []
    for source in sorted(values):
        try:
            parts.append(canonical([source, _plain(values[source])]))
        except CairnError as exc:
            raise ConfigError(
                f"the config value at {source!r} cannot enter a node id: {exc}. Keep config "
                "to plain values (numbers, strings, lists, dicts, dataclasses, pydantic models)"
            ) from None
    return "[" + ",".join(parts) + "]"


def jsonable(value: Any) -> Any:
    """A JSON-compatible copy of a config value (for run records)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    fields = _model_fields(value)
    if fields is not None:
        return {f: jsonable(getattr(value, f)) for f in fields}
    return str(value)
