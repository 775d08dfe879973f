"""Configuration: ``cairn.toml`` or ``[tool.cairn]`` in ``pyproject.toml``.

A :class:`Config` is a plain value, loaded by :func:`load_config` (by the caller, or by the
settings resolver at each call that is given none) and passed down: nothing is registered
globally. It holds

- settings: ``workspace``, ``executor``, ``workers``, ``lock``, ``storage_options``, ``notify``;
- ``fingerprint`` and ``fingerprint_modules``, which hold for the whole process (code
  fingerprints are computed whenever an id is, not only in a build): read by
  :mod:`cairn.identity.usercode` from the same file, see ``docs/reuse.md``;
- parameter values per task family (``[tasks."mypkg.train.Train"] lr = 0.01``), applied to
  tasks constructed while the configuration is active (``with config.active(): ...``). The
  active values live in a context variable for the duration of the ``with`` block only, and a
  task remembers the values active at its construction, so the tasks its ``requires()``
  creates later take the same values.

Settings resolve as: explicit argument > command line > environment (``CAIRN_*``) > config
file > default, in :func:`cairn._settings.resolve`, the one resolver every entry point uses
(the command line passes its values as explicit arguments). String values may use ``${VAR}``
and ``${VAR:-default}``.
"""

from __future__ import annotations

import contextlib
import copy
import os
import re
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from cairn._errors import ConfigError, ParameterError, suggest

__all__ = [
    "Config",
    "ParameterValues",
    "active_values",
    "find_config_table",
    "load_config",
    "positive_int",
    "using_values",
]

KEYS = (
    "workspace",
    "executor",
    "workers",
    "lock",
    "storage_options",
    "notify",
    "tasks",
    "fingerprint",
    "fingerprint_modules",
)

_REFERENCE = re.compile(r"\$(?:(?P<dollar>\$)|\{(?P<name>[A-Za-z_]\w*)(?::-(?P<default>[^}]*))?\})")


class ParameterValues:
    """Parameter values per task family, from one configuration file (read-only).

    ``for_class(cls)`` gives the values for a task class, validated and converted by its
    parameter types (cached per class).
    """

    def __init__(self, values: Mapping[str, Mapping[str, Any]], source: str) -> None:
        self._values = {family: dict(params) for family, params in values.items()}
        self.source = source
        self._cache: dict[type, dict[str, Any]] = {}

    def __reduce__(self) -> tuple[Any, ...]:
        return (ParameterValues, (self._values, self.source))

    def __repr__(self) -> str:
        return f"ParameterValues({self._values!r}, source={self.source!r})"

    def __bool__(self) -> bool:
        return bool(self._values)

    def families(self) -> list[str]:
        """The task families that have values."""
        return list(self._values)

    def raw(self, family: str) -> Mapping[str, Any]:
        """The values for ``family`` as written in the file."""
        return MappingProxyType(self._values.get(family, {}))

    def for_class(self, cls: Any) -> dict[str, Any]:
        """Values for the task class ``cls``, converted by its parameter types.

        Raises:
            ParameterError: naming the file, the task and the parameter, for a name the
                class does not have or a value its type refuses.
        """
        cached = self._cache.get(cls)
        if cached is not None:
            return cached
        family: str = cls.family
        raw = self._values.get(family)
        out: dict[str, Any] = {}
        if raw:
            params = cls._params
            where = f'{self.source}: [tasks."{family}"]'
            for name, value in raw.items():
                param = params.get(name)
                if param is None:
                    valid = ", ".join(params) or "none"
                    raise ParameterError(
                        f"{where} sets {name!r}, which {cls.__name__} does not have."
                        f"{suggest(name, params)} Its parameters are: {valid}."
                    )
                try:
                    out[name] = param.normalize(value)
                except ParameterError as exc:
                    raise ParameterError(
                        f"{where} {name} = {value!r} is not valid: {exc}. Fix it in {self.source}."
                    ) from None
        self._cache[cls] = out
        return out


_active: ContextVar[ParameterValues | None] = ContextVar("cairn_parameter_values", default=None)


def active_values() -> ParameterValues | None:
    """The parameter values active in this context (``None`` outside any configuration)."""
    return _active.get()


@contextlib.contextmanager
def using_values(values: ParameterValues | None) -> Iterator[None]:
    """Make ``values`` the active parameter values for the ``with`` block."""
    token = _active.set(values)
    try:
        yield
    finally:
        _active.reset(token)


@dataclass(frozen=True)
class Config:
    """A configuration: settings and parameter values per task family.

    Build one with :func:`load_config` (from a file) or directly:
    ``Config(workspace="ws", tasks={"mypkg.train.Train": {"lr": 0.01}})``.
    """

    workspace: str | None = None
    executor: str | None = None
    workers: int | None = None
    lock: str | bool | None = None
    storage_options: Mapping[str, Any] = field(default_factory=dict)
    notify: Mapping[str, Any] = field(default_factory=dict)
    tasks: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    fingerprint: bool | None = None
    fingerprint_modules: list[str] | None = None
    source: str = "configuration"

    def __post_init__(self) -> None:
        _check_settings(self, self.source)
        object.__setattr__(self, "_values", ParameterValues(self.tasks, self.source))

    @property
    def parameter_values(self) -> ParameterValues:
        """The per-family parameter values of this configuration."""
        values: ParameterValues = self.__dict__["_values"]
        return values

    def active(self) -> contextlib.AbstractContextManager[None]:
        """Apply this configuration's parameter values to tasks constructed in the block.

        A parameter a task is given explicitly keeps that value; one it is not given takes
        the configured value for its family, else its default.
        """
        return using_values(self.parameter_values)


def _check_settings(config: Config, source: str) -> None:
    def bad(key: str, value: Any, expected: str) -> ConfigError:
        return ConfigError(f"{source}: {key} must be {expected}, not {value!r}")

    for key in ("workspace", "executor"):
        value = getattr(config, key)
        if value is not None and (not isinstance(value, str) or not value):
            raise bad(key, value, "a non-empty string")
    if config.workers is not None:
        object.__setattr__(config, "workers", positive_int(config.workers, f"{source}: workers"))
    if config.lock is not None and not isinstance(config.lock, str) and config.lock is not False:
        raise bad("lock", config.lock, "'file', a redis:// URL, or false")
    for key in ("storage_options", "notify", "tasks"):
        if not isinstance(getattr(config, key), Mapping):
            raise bad(key, getattr(config, key), "a table")
    if config.fingerprint is not None and not isinstance(config.fingerprint, bool):
        raise bad("fingerprint", config.fingerprint, "true or false")
    modules = config.fingerprint_modules
    if modules is not None and (
        not isinstance(modules, list) or not all(isinstance(m, str) and m for m in modules)
    ):
        raise bad("fingerprint_modules", modules, "a list of module patterns")
    for family, values in config.tasks.items():
        if "." not in family:  # `[tasks.mypkg.train.Train]` without quotes nests tables
            raise ConfigError(
                f"{source}: [tasks.{family}] is not a task family; name the family in quotes, "
                f'like [tasks."mypkg.train.Train"] (module and class name)'
            )
        if not isinstance(values, Mapping):
            raise ConfigError(
                f'{source}: [tasks."{family}"] must be a table of parameter values, '
                f'like [tasks."{family}"] followed by lines name = value'
            )


def positive_int(value: Any, where: str) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{where} must be a positive integer, not {value!r}")
    return value


# --- reading files ------------------------------------------------------------------------
def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    directory: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Read the configuration.

    From ``path``; else ``$CAIRN_CONFIG``; else ``cairn.toml`` in ``directory`` (default: the
    working directory); else the ``[tool.cairn]`` table of ``pyproject.toml`` there. Without
    any, an empty :class:`Config`. ``${VAR}`` and ``${VAR:-default}`` in string values are
    replaced from ``environ`` (default: ``os.environ``).

    Raises:
        ConfigError: for a file that is missing (when named), unreadable or not valid TOML,
            an unknown key, a value of the wrong type, or an undefined variable.
    """
    env = os.environ if environ is None else environ
    found = find_config_table(path, directory=directory, environ=env)
    if found is None:
        return Config()
    table, source = found
    return _from_table(table, source, env)


def find_config_table(
    path: str | os.PathLike[str] | None = None,
    *,
    directory: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> tuple[dict[str, Any] | None, str] | None:
    """The raw table :func:`load_config` reads, and where it is; None when there is none.

    Raises:
        ConfigError: for a file that is missing (when named), unreadable or not valid TOML.
    """
    env = os.environ if environ is None else environ
    base = os.fspath(directory) if directory is not None else ""
    named = path if path is not None else env.get("CAIRN_CONFIG") or None
    if named is not None:
        file = os.fspath(named)
        if not os.path.isfile(file):
            raise ConfigError(
                f"configuration file {file!r} does not exist; "
                "fix the path given by --config or CAIRN_CONFIG"
            )
        data = _read_toml(file)
        if os.path.basename(file) == "pyproject.toml":
            return _tool_table(data, file), f"{file} [tool.cairn]"
        return data, file
    own = os.path.join(base, "cairn.toml")
    if os.path.isfile(own):
        return _read_toml(own), own
    pyproject = os.path.join(base, "pyproject.toml")
    if os.path.isfile(pyproject):
        table = _tool_table(_read_toml(pyproject, unless_without=b"cairn"), pyproject)
        if table is not None:
            return table, f"{pyproject} [tool.cairn]"
    return None


def _read_toml(file: str, unless_without: bytes = b"") -> dict[str, Any]:
    """The TOML file ``file``, parsed; ``{}`` when it does not hold ``unless_without`` (a
    ``pyproject.toml`` that never names cairn holds no ``[tool.cairn]``: no parse, and no
    TOML parser to import). Parsed once while the file keeps its size and modification
    time: settings and configuration both read it."""
    try:
        with open(file, "rb") as handle:
            st = os.fstat(handle.fileno())
            key = (file, st.st_size, st.st_mtime_ns, unless_without)
            cached = _parsed.get(key)
            if cached is not None:
                return copy.deepcopy(cached)
            data = handle.read()
    except OSError as exc:
        raise ConfigError(f"cannot read the configuration file {file!r}: {exc}") from None
    if unless_without and unless_without not in data:
        return {}
    import tomllib

    try:
        parsed = tomllib.loads(data.decode("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}; fix the file") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{file}: not a text file ({exc.reason} at byte {exc.start}); a configuration "
            "file is UTF-8 TOML"
        ) from None
    if len(_parsed) >= 64:
        _parsed.clear()
    _parsed[key] = parsed
    return copy.deepcopy(parsed)


#: Configuration files parsed by this process: (path, size, mtime, marker) -> table.
_parsed: dict[tuple[str, int, int, bytes], dict[str, Any]] = {}


def _tool_table(data: dict[str, Any], file: str) -> dict[str, Any] | None:
    tool = data.get("tool")
    table = tool.get("cairn") if isinstance(tool, dict) else None
    if table is not None and not isinstance(table, dict):
        raise ConfigError(f"{file}: [tool.cairn] must be a table")
    return table


def _from_table(table: dict[str, Any] | None, source: str, env: Mapping[str, str]) -> Config:
    if not table:
        return Config(source=source)
    unknown = [key for key in table if key not in KEYS]
    if unknown:
        key = unknown[0]
        raise ConfigError(
            f"{source}: unknown setting {key!r}.{suggest(key, KEYS)} "
            f"Known settings: {', '.join(KEYS)}."
        )
    data = _interpolate(table, source, env, "")
    return Config(**data, source=source)


def _interpolate(value: Any, source: str, env: Mapping[str, str], where: str) -> Any:
    if isinstance(value, str):
        return _substitute(value, source, env, where)
    if isinstance(value, dict):
        return {
            k: _interpolate(v, source, env, f"{where}.{k}" if where else k)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_interpolate(v, source, env, f"{where}[{i}]") for i, v in enumerate(value)]
    return value


def _substitute(text: str, source: str, env: Mapping[str, str], where: str) -> str:
    def replace(match: re.Match[str]) -> str:
        if match.group("dollar"):
            return "$"
        name = match.group("name")
        value = env.get(name)
        if value is not None:
            return value
        default = match.group("default")
        if default is not None:
            return default
        raise ConfigError(
            f"{source}: environment variable {name} used in {where} is not set; set it, "
            f"or give a default as ${{{name}:-value}}"
        )

    out = _REFERENCE.sub(replace, text)
    leftover = _REFERENCE.sub("", text)
    if "${" in leftover:
        raise ConfigError(
            f"{source}: {where} has a malformed reference in {text!r}; "
            "write ${NAME} or ${NAME:-default} (and $$ for a literal $)"
        )
    return out
