"""Which modules are "the user's own code", and whether code fingerprints are on at all.

A module is the user's own code (its functions, classes and constants count in code
fingerprints) when it is not part of cairn and its file is outside the standard library and
site-packages. Two settings adjust that:

- ``fingerprint`` (default on): off gives gokart's parameters-only ids; ``code_version`` on a
  task still pins its code by hand.
- ``fingerprint_modules``: module-name patterns (``fnmatch`` style; ``"mypkg"`` also covers
  ``mypkg.*``). A plain pattern *includes* modules that would otherwise count as installed
  (your own library installed into site-packages); a pattern starting with ``!`` *excludes*
  modules that would otherwise count (vendored or generated code). Exclusions win.

Both are read from, in order of precedence: the environment (``CAIRN_FINGERPRINT=off``,
``CAIRN_FINGERPRINT_MODULES="mycorp_*,!mypkg.vendored"``), then the configuration file that
:func:`cairn._config.load_config` reads (``$CAIRN_CONFIG``, else ``cairn.toml``, else
``[tool.cairn]`` in ``pyproject.toml``, in the working directory). Unlike the other settings
they hold for the whole process, since ids are computed outside builds too. They are read again
at most every :data:`RECHECK_SECONDS` (reading the environment costs microseconds, and ids
are computed for every task), so a notebook can change them between builds.
"""

from __future__ import annotations

import fnmatch
import os
import site
import sys
import sysconfig
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cairn._config import find_config_table
from cairn._errors import ConfigError

__all__ = [
    "FingerprintSettings",
    "current_settings",
    "is_user_module",
    "is_user_path",
    "on_settings_change",
]

ENV_ENABLED = "CAIRN_FINGERPRINT"
ENV_MODULES = "CAIRN_FINGERPRINT_MODULES"

_OFF = {"0", "off", "false", "no"}
_ON = {"1", "on", "true", "yes", ""}


@dataclass(frozen=True)
class FingerprintSettings:
    """Whether fingerprints are on, and the module patterns included and excluded."""

    enabled: bool = True
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


def parse_patterns(
    patterns: list[str] | tuple[str, ...], where: str
) -> tuple[tuple[str, ...], ...]:
    """Split ``fingerprint_modules`` patterns into (include, exclude).

    Raises:
        ConfigError: for an empty or non-string pattern, naming ``where`` it came from.
    """
    include: list[str] = []
    exclude: list[str] = []
    for raw in patterns:
        if not isinstance(raw, str) or not raw.strip().lstrip("!").strip():
            raise ConfigError(
                f"{where}: fingerprint_modules holds {raw!r}; each entry must be a module "
                "name pattern such as 'mypkg', 'mycorp_*' or '!mypkg.vendored'"
            )
        text = raw.strip()
        if text.startswith("!"):
            exclude.append(text[1:].strip())
        else:
            include.append(text)
    return tuple(include), tuple(exclude)


def _parse_enabled(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _OFF | _ON:
        return value.strip().lower() not in _OFF
    raise ConfigError(f"{where}: fingerprint must be true or false (or on/off), not {value!r}")


#: How often, at most, the settings (environment, configuration file) are looked up again.
RECHECK_SECONDS = 0.5


def _stamps(cwd: str, named: str | None) -> tuple[tuple[int, int] | None, ...]:
    """Modification time and size of each file the configuration may come from."""
    out: list[tuple[int, int] | None] = []
    for path in (named or "", os.path.join(cwd, "cairn.toml"), os.path.join(cwd, "pyproject.toml")):
        try:
            st = os.stat(path)
            out.append((st.st_mtime_ns, st.st_size))
        except OSError:
            out.append(None)
    return tuple(out)


@lru_cache(maxsize=8)
def _file_settings(
    cwd: str, named: str | None, stamps: tuple[tuple[int, int] | None, ...]
) -> tuple[bool | None, tuple[str, ...] | None, str]:
    """``(enabled, patterns, source)`` from the configuration file ``load_config`` reads.

    Only these two keys are read here, so a problem elsewhere in the file (an unset
    ``${VAR}`` in a lock URL) does not stop ids from being computed.
    """
    del stamps  # part of the cache key only
    found = find_config_table(named, directory=cwd or None, environ={})
    table, source = found if found is not None else (None, "")
    if not table:
        return None, None, ""
    enabled = table.get("fingerprint")
    modules = table.get("fingerprint_modules")
    if modules is not None and not isinstance(modules, list):
        raise ConfigError(
            f"{source}: fingerprint_modules must be a list of module patterns, "
            f"like ['mycorp_*', '!mypkg.vendored'], not {modules!r}"
        )
    return (
        None if enabled is None else _parse_enabled(enabled, source),
        None if modules is None else tuple(modules),
        source,
    )


_state_lock = threading.Lock()
_last_key: tuple[Any, ...] | None = None
_last_check = -1e9
_last_settings = FingerprintSettings()
_listeners: list[Callable[[], None]] = []


def on_settings_change(callback: Callable[[], None]) -> None:
    """Call ``callback`` whenever the settings change (caches that depend on them clear)."""
    _listeners.append(callback)


def current_settings() -> FingerprintSettings:
    """The fingerprint settings in force now.

    Raises:
        ConfigError: when the environment or a config file holds an invalid value.
    """
    global _last_key, _last_settings, _last_check
    now = time.monotonic()
    if now - _last_check < RECHECK_SECONDS:
        return _last_settings
    try:
        cwd = os.getcwd()
    except OSError:  # the working directory was deleted
        cwd = ""
    environ = os.environ
    named = environ.get("CAIRN_CONFIG") or None
    key = (environ.get(ENV_ENABLED), environ.get(ENV_MODULES), cwd, named, _stamps(cwd, named))
    _last_check = now
    if key == _last_key:
        return _last_settings
    with _state_lock:
        file_enabled, file_modules, file_path = _file_settings(cwd, named, key[4])
        enabled = True if file_enabled is None else file_enabled
        patterns: tuple[str, ...] = file_modules or ()
        where = file_path
        if key[0] is not None:
            enabled = _parse_enabled(key[0], f"environment variable {ENV_ENABLED}")
        if key[1] is not None:
            patterns = tuple(p for p in key[1].split(",") if p.strip())
            where = f"environment variable {ENV_MODULES}"
        include, exclude = parse_patterns(patterns, where)
        settings = FingerprintSettings(enabled, include, exclude)
        changed = settings != _last_settings
        _last_settings = settings
        _last_key = key
        if changed:
            _user_modules.clear()
            for callback in _listeners:
                callback()
        return settings


@lru_cache(maxsize=1)
def _library_roots() -> tuple[str, ...]:
    roots = {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    roots.update(site.getsitepackages())
    user_site = site.getusersitepackages()
    if isinstance(user_site, str):
        roots.add(user_site)
    roots.update({sys.base_prefix + os.sep + "lib", sys.prefix + os.sep + "lib"})
    return tuple(sorted(os.path.realpath(r) + os.sep for r in roots if r))


def is_user_path(path: str) -> bool:
    """True when the file ``path`` lies outside the standard library and site-packages."""
    return not os.path.realpath(path).startswith(_library_roots())


def _matches(name: str, patterns: tuple[str, ...]) -> bool:
    for pattern in patterns:
        if fnmatch.fnmatchcase(name, pattern) or name.startswith(pattern + "."):
            return True
        if fnmatch.fnmatchcase(name.partition(".")[0], pattern) and "." not in pattern:
            return True
    return False


_user_modules: dict[str, bool] = {}


def is_user_module(name: str | None) -> bool:
    """Tell whether module ``name`` is the user's own code (counted in fingerprints)."""
    if not name:
        return False
    known = _user_modules.get(name)
    if known is not None:
        return known
    settings = current_settings()
    if name == "cairn" or name.startswith("cairn.") or _matches(name, settings.exclude):
        result = False
    elif _matches(name, settings.include) or name == "__main__":
        result = True
    else:
        module = sys.modules.get(name)
        if module is None:
            return False  # not imported (yet): decide again when it is
        path = getattr(module, "__file__", None)
        if path:
            result = is_user_path(str(path))
        else:  # built-in, frozen, or made at run time (a notebook, exec): user code unless stdlib
            top = name.partition(".")[0]
            result = top not in sys.builtin_module_names and top not in sys.stdlib_module_names
    _user_modules[name] = result
    return result
