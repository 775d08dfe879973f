"""Paths into a pipeline's config: the leaves a user may set (``min_count``, ``model.lr``),
a copy of the config with some of them replaced, and values parsed from text by the type of
the value they replace (for the command line's ``--min-count 5`` and ``--set model.lr=0.2``).

A config is a dict, a dataclass or a pydantic model, nested as one likes; a copy keeps each
level's kind (``dataclasses.replace``, pydantic's ``model_copy``).
"""

from __future__ import annotations

import dataclasses
import difflib
import json
from collections.abc import Mapping
from typing import Any

from cairn._errors import ConfigError
from cairn.pipeline._node import config_keys

__all__ = ["config_leaves", "parse_config_text", "replace_config"]

_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


def _children(value: Any) -> list[tuple[str, Any]] | None:
    keys = config_keys(value)
    if keys is None:
        return None
    if isinstance(value, Mapping):
        return [(str(k), value[k]) for k in value]
    return [(k, getattr(value, k)) for k in keys]


def config_leaves(config: Any) -> dict[str, Any]:
    """Every leaf of ``config`` by dotted path (``{"min_count": 5, "model.lr": 0.1}``), in
    the config's order; an empty dict or model counts as a leaf."""
    out: dict[str, Any] = {}
    stack: list[tuple[str, Any]] = [("", config)]
    while stack:
        path, value = stack.pop()
        children = _children(value) if path or config is not None else None
        if children is None or (not children and path):
            if path:
                out[path] = value
            continue
        stack.extend((f"{path}.{key}" if path else key, child) for key, child in reversed(children))
    return out


def _set(value: Any, parts: list[str], new: Any, walked: str) -> Any:
    if not parts:
        return new
    key, rest = parts[0], parts[1:]
    keys = config_keys(value)
    if keys is None or key not in keys:
        close = difflib.get_close_matches(key, keys or [], n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        where = f"{walked} has keys {', '.join(map(repr, keys))}" if keys else f"{walked} is a leaf"
        raise ConfigError(f"the pipeline's config has no {key!r} under {walked}.{hint} ({where})")
    inner = f"{walked}.{key}"
    if isinstance(value, Mapping):
        copied = dict(value)
        copied[key] = _set(value[key], rest, new, inner)
        return copied
    changed = _set(getattr(value, key), rest, new, inner)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.replace(value, **{key: changed})
    return value.model_copy(update={key: changed})  # a pydantic model


def replace_config(config: Any, values: Mapping[str, Any]) -> Any:
    """A copy of ``config`` with the value at each dotted path of ``values`` replaced.

    Raises:
        ConfigError: for a path that is not in the config (with the keys that are).
    """
    if config is None and values:
        raise ConfigError(
            "this pipeline has no config, so there is nothing to set: give it one with "
            "cairn.Pipeline(..., config=...)"
        )
    for path, value in values.items():
        config = _set(config, path.removeprefix("config.").split("."), value, "config")
    return config


def parse_config_text(path: str, text: str, current: Any) -> Any:
    """``text`` as the type of the value ``current`` at ``path``: true/false words for a
    bool, a number for an int or a float, text as it is for a string, JSON otherwise.

    Raises:
        ConfigError: when the text does not parse as that type.
    """
    try:
        if isinstance(current, bool):
            word = text.strip().lower()
            if word not in _TRUE | _FALSE:
                raise ValueError(text)
            return word in _TRUE
        if isinstance(current, int):
            return int(text)
        if isinstance(current, float):
            return float(text)
        if isinstance(current, str):
            return text
        return json.loads(text)
    except ValueError:
        kind = type(current).__name__ if current is not None else "JSON"
        example = {"bool": "true or false", "int": "5", "float": "0.5"}.get(
            kind, '[1, 2] or {"a": 1}'
        )
        raise ConfigError(
            f"config value {path} is {kind}, and {text!r} does not parse as one; give "
            f"something like {example}"
        ) from None
