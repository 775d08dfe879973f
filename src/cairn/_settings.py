"""The one settings resolver that every entry point uses.

``cairn.build``, ``cairn.plan``, ``Pipeline.run`` / ``Pipeline.plan``, ``Task.from_id``, the
inspection functions (``status``, ``show``, ``ls``, ``gc``, ``graph``, ``verify``), loading an
output outside a build, and the command line all ask :func:`resolve` for their settings, so
the same environment and the same configuration file give the same workspace, executor,
workers, lock and storage options everywhere. Each setting, highest first:

1. an explicit argument (not None); the command line passes its options as these;
2. the environment: ``CAIRN_WORKSPACE``, ``CAIRN_EXECUTOR``, ``CAIRN_WORKERS``, ``CAIRN_LOCK``;
3. the configuration: the :class:`~cairn._config.Config` passed, the file passed by path,
   else the file found as :func:`~cairn._config.load_config` finds it (``$CAIRN_CONFIG``,
   else ``cairn.toml``, else ``[tool.cairn]`` in ``pyproject.toml``, in the working
   directory), the same file code fingerprints read;
4. the default: ``./workspace``, ``inline``, one worker per core, no lock.

It sits just above the configuration layer, low enough for ``Task.from_id`` (the model
layer) to use it as well.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cairn._config import Config, load_config, positive_int
from cairn._errors import ConfigError

__all__ = ["DEFAULTS", "ENV", "ConfigArg", "Settings", "config_for", "resolve"]

#: Environment variables read for settings (below explicit arguments, above the file).
ENV = {
    "workspace": "CAIRN_WORKSPACE",
    "executor": "CAIRN_EXECUTOR",
    "workers": "CAIRN_WORKERS",
    "lock": "CAIRN_LOCK",
}
#: What a setting is when nothing gives it.
DEFAULTS: dict[str, Any] = {
    "workspace": "workspace",
    "executor": "inline",
    "workers": None,
    "lock": None,
}

#: What entry points accept as ``config=``: a configuration, the path of a file, or None
#: (the file found in the working directory, if any).
ConfigArg = Config | str | os.PathLike[str] | None


@dataclass(frozen=True)
class Settings:
    """The resolved settings of one call, and the configuration they were resolved with."""

    workspace: str
    executor: Any
    workers: int | None
    lock: Any
    storage_options: dict[str, Any] | None
    config: Config


def config_for(config: ConfigArg) -> Config:
    """The configuration to use: ``config`` itself, the file it names, or the file found.

    Raises:
        ConfigError: for a named file that is missing, or a file that is not valid.
    """
    if isinstance(config, Config):
        return config
    return load_config(config)


def resolve(
    config: ConfigArg = None,
    *,
    workspace: Any = None,
    executor: Any = None,
    workers: Any = None,
    lock: Any = None,
    storage_options: Any = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve each setting: explicit argument (not None) > ``CAIRN_*`` > config > default.

    ``storage_options`` has no environment variable: the argument, else the config's.
    ``lock=False`` (or ``CAIRN_LOCK=none``, or ``lock = false`` in the file) asks for no lock.

    Raises:
        ConfigError: for an environment variable or a setting whose value is not valid, or a
            configuration file that is not valid.
    """
    env = os.environ if environ is None else environ
    found = config_for(config)
    explicit = {"workspace": workspace, "executor": executor, "workers": workers, "lock": lock}
    out: dict[str, Any] = {}
    for key, given in explicit.items():
        if given is not None:
            out[key] = given
            continue
        text = env.get(ENV[key])
        if text:
            out[key] = _from_env(key, text)
        elif getattr(found, key) is not None:
            out[key] = getattr(found, key)
        else:
            out[key] = DEFAULTS[key]
    if storage_options is None and found.storage_options:
        storage_options = dict(found.storage_options)
    out["workspace"] = _workspace_text(out["workspace"])
    if out["workers"] is not None:
        out["workers"] = positive_int(out["workers"], "workers")
    if storage_options is not None and not isinstance(storage_options, Mapping):
        raise ConfigError(
            "storage_options must be a dict of fsspec options (or None), not "
            f"{type(storage_options).__qualname__} {storage_options!r:.100}"
        )
    options = dict(storage_options) if storage_options is not None else None
    return Settings(storage_options=options, config=found, **out)


def _workspace_text(value: Any) -> str:
    """The workspace as text: a non-empty string or path; anything else is a ConfigError."""
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str):
        raise ConfigError(
            f"workspace must be a directory path or store URL (a string), not "
            f"{type(value).__qualname__} {value!r:.100}"
        )
    if not value.strip():
        raise ConfigError(
            "workspace is empty: give a directory path or store URL, or leave it out "
            f"(None) to use ${ENV['workspace']}, the configuration's or {DEFAULTS['workspace']!r}"
        )
    return value


def _from_env(key: str, text: str) -> Any:
    if key == "workers":
        return positive_int(text.strip(), f"environment variable {ENV[key]}")
    if key == "lock" and text.strip().lower() in ("none", "false", "off", "0"):
        return False
    return text
