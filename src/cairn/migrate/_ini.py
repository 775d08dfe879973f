"""luigi configuration files (``luigi.cfg``, ``conf/param.ini``) as one ``cairn.toml``.

- ``[TaskOnKart] workspace_directory`` becomes ``workspace``; ``redis_host``/``redis_port``
  become ``lock = "redis://host:port/0"``; gokart's other settings are listed with what
  replaces them.
- ``[Family]`` and ``[namespace.Family]`` (luigi's names) become ``[tasks."<cairn family>"]``,
  the family found by reading the code (:class:`~cairn.migrate._index.ProjectIndex`), and
  each value is written as the TOML value its parameter takes (lists and dicts parsed from
  their JSON, numbers and booleans typed); a name the task does not have is left commented
  out and marked.
- ``%(NAME)s`` becomes the value of ``NAME`` in the same section or ``[DEFAULT]`` (as
  configparser does), else ``${NAME}``, an environment variable in cairn; ``${NAME}`` stays;
  a lone ``$`` becomes ``$$``.
- luigi's own sections (``[core]``, ``[scheduler]``, ``[worker]``, ...) are dropped, with a
  note.

Files are read in order, later values winning, as luigi does.
"""

from __future__ import annotations

import ast
import configparser
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any

from cairn.migrate import _toml
from cairn.migrate._index import ProjectIndex
from cairn.migrate._names import LUIGI_SECTIONS, SETTINGS
from cairn.migrate._report import MARKER, Entry, comment_lines

__all__ = ["Converted", "convert"]

_HEADER = re.compile(r"^\s*\[(?P<name>[^\]]+)\]")
_REFERENCE = re.compile(r"%%|%\((?P<name>[^)]+)\)s|\$\{[^}]*\}|\$")
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


@dataclass
class Converted:
    """The TOML text, what was done, and the files that could not be read."""

    text: str
    sources: list[str]
    changes: list[Entry] = field(default_factory=list)
    errors: list[Entry] = field(default_factory=list)


class _Converter:
    def __init__(self, root: str, index: ProjectIndex) -> None:
        self.root, self.index = root, index
        self.parser = configparser.RawConfigParser(
            default_section="\0none", strict=False, interpolation=None
        )
        self.parser.optionxform = str  # type: ignore[assignment,method-assign]
        self.where: dict[str, tuple[str, int]] = {}
        self.changes: list[Entry] = []
        self.settings: dict[str, Any] = {}
        self.notes: list[str] = []
        self.tables: dict[str, list[str]] = {}

    def rel(self, path: str) -> str:
        return os.path.relpath(path, self.root)

    def read(self, path: str) -> Entry | None:
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
            self.parser.read_string(text, source=path)
        except (OSError, UnicodeDecodeError, configparser.Error) as exc:
            detail = str(exc).splitlines()[0]
            return Entry(self.rel(path), 0, f"not read ({detail}); fix the file and run again")
        for number, line in enumerate(text.splitlines(), 1):
            match = _HEADER.match(line)
            if match:
                self.where[match.group("name").strip()] = (self.rel(path), number)
        return None

    def note(self, section: str, what: str) -> None:
        file, line = self.where.get(section, ("", 0))
        self.changes.append(Entry(file, line, what))

    # --- values ---------------------------------------------------------------------------
    def text(self, section: str, raw: str, depth: int = 0) -> str:
        """``raw`` with luigi's references written as cairn's."""

        def replace(match: re.Match[str]) -> str:
            token = match.group(0)
            if token == "%%":
                return "%"
            if token == "$":
                return "$$"
            name = match.group("name")
            if name is None:
                return token  # ${NAME}: the same in cairn
            for source in (section, "DEFAULT"):
                if depth < 10 and self.parser.has_option(source, name):
                    return self.text(source, self.parser.get(source, name), depth + 1)
            self.note(section, f"[{section}] %({name})s -> ${{{name}}} (an environment variable)")
            return f"${{{name}}}"

        return _REFERENCE.sub(replace, raw)

    # --- sections -------------------------------------------------------------------------
    def convert(self) -> str:
        families = self.index.by_luigi_family()
        for section in self.parser.sections():
            items = [
                (k.replace("-", "_"), self.parser.get(section, k)) for k in self.parser[section]
            ]
            if section == "TaskOnKart":
                self._task_on_kart(items)
            elif section == "DEFAULT":
                self.notes.append(
                    f"{MARKER} [DEFAULT] ({_shown(items)}): luigi gives these to every section "
                    "and every task with such a parameter; copy them to the tables that need them"
                )
                self.note(section, "[DEFAULT] not converted (marked in cairn.toml)")
            elif section in LUIGI_SECTIONS or section.startswith(("luigi.", "scheduler.")):
                self.notes.append(f"# [{section}] dropped, it configures luigi: {_shown(items)}")
                self.note(section, f"[{section}] dropped (it configures luigi itself)")
            elif section == "SlackConfig":
                self.notes.append(
                    f"{MARKER} [SlackConfig] ({_shown(items)}): cairn posts to a Slack incoming "
                    'webhook: add [notify.slack] webhook_url = "${SLACK_WEBHOOK_URL}"'
                )
                self.note(section, "[SlackConfig] not converted (marked in cairn.toml)")
            elif section in families:
                self._family(section, families[section], items)
            else:
                self.notes.append(
                    f"{MARKER} [{section}] ({_shown(items)}): no task or luigi.Config named "
                    f"{section} found in the code; move the values to its "
                    '[tasks."module.Class"] table'
                )
                self.note(section, f"[{section}] not converted (marked in cairn.toml)")
        return self._render()

    def _task_on_kart(self, items: list[tuple[str, str]]) -> None:
        section = "TaskOnKart"
        redis: dict[str, str] = {}
        for name, raw in items:
            text = self.text(section, raw)
            if name == "workspace_directory":
                self.settings["workspace"] = text
                self.note(section, "[TaskOnKart] workspace_directory -> workspace")
            elif name in ("redis_host", "redis_port"):
                redis[name] = text
            elif name == "local_temporary_directory":
                why = SETTINGS[name].removesuffix(": drop it")
                self.notes.append(f"# [TaskOnKart] {name} = {raw} dropped: {why}")
                self.note(section, f"[TaskOnKart] {name} dropped")
            elif name in SETTINGS:
                self.notes.append(f"{MARKER} [TaskOnKart] {name} = {raw}: {SETTINGS[name]}")
                self.note(section, f"[TaskOnKart] {name} not converted (marked in cairn.toml)")
            else:
                self.notes.append(
                    f"{MARKER} [TaskOnKart] {name} = {raw}: luigi gave it to every task with a "
                    f"parameter {name}; set it in each task's table"
                )
                self.note(section, f"[TaskOnKart] {name} not converted (marked in cairn.toml)")
        if "redis_host" in redis:
            port = redis.get("redis_port", "6379")
            self.settings["lock"] = f"redis://{redis['redis_host']}:{port}/0"
            self.note(section, "[TaskOnKart] redis_host/redis_port -> lock")
        elif "redis_port" in redis:
            self.notes.append(f"{MARKER} [TaskOnKart] redis_port without redis_host: no lock")

    def _family(self, section: str, info: Any, items: list[tuple[str, str]]) -> None:
        family = self.index.cairn_family(info)
        params = self.index.params(info)
        lines = self.tables.setdefault(family, [])
        self.note(section, f'[{section}] -> [tasks."{family}"]')
        for name, raw in items:
            text = self.text(section, raw)
            kind = params.get(name)
            if name in SETTINGS and name not in params:
                lines.append(f"{MARKER} {name} = {_one_line(raw)}: {SETTINGS[name]}")
            elif kind is None:
                lines.append(
                    f"{MARKER} {name} = {_one_line(raw)}: {info.name} has no parameter {name}"
                )
            elif kind in ("task", "tasks"):
                lines.append(
                    f"{MARKER} {name} = {_one_line(raw)}: a task parameter cannot be set in "
                    "cairn.toml; set it in code"
                )
            else:
                lines.append(f"{_toml.key(name)} = {_typed(text, kind)}")

    def _render(self) -> str:
        sources = ", ".join(self.rel(s) for s in self.sources)
        header = [
            f"# cairn's configuration, converted by cairn migrate from {sources}.",
            "# cairn reads this file, not the ini files: delete them once the values are right.",
        ]
        settings = [
            f"{name} = {_toml.value(self.settings[name])}"
            for name in ("workspace", "lock")
            if name in self.settings
        ]
        tables = [[f"[tasks.{_toml.key(family)}]", *lines] for family, lines in self.tables.items()]
        parts = [header, settings, self.notes, *tables]
        return "\n\n".join("\n".join(_wrapped(part)) for part in parts if part) + "\n"

    sources: list[str]


def _wrapped(lines: list[str]) -> list[str]:
    """The lines, each comment wrapped at 88 characters."""
    out: list[str] = []
    for line in lines:
        if line.startswith(MARKER):
            out.extend(comment_lines(line[len(MARKER) :]))
        elif line.startswith("# "):
            out.extend(comment_lines(line[2:], first="# "))
        else:
            out.append(line)
    return out


def _one_line(raw: str) -> str:
    return " ".join(raw.split())


def _shown(items: list[tuple[str, str]]) -> str:
    return ", ".join(f"{k} = {_one_line(v)}" for k, v in items) or "empty"


def _typed(text: str, kind: str) -> str:
    """The TOML text of an ini value for a parameter of ``kind``."""
    value: Any = text
    if "${" not in text:
        stripped = text.strip()
        try:
            if kind == "int":
                value = int(stripped)
            elif kind == "float":
                value = float(stripped)
            elif kind == "bool" and stripped.lower() in _TRUE | _FALSE:
                value = stripped.lower() in _TRUE
            elif kind in ("list", "dict"):
                value = _structure(stripped, kind)
        except ValueError:
            value = text
    try:
        return _toml.value(value)
    except TypeError:  # null inside a list: cairn parses the JSON text instead
        return _toml.value(text)


def _structure(text: str, kind: str) -> Any:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        try:
            value = ast.literal_eval(text)  # luigi's TupleParameter reads Python tuples too
        except (ValueError, SyntaxError) as exc:
            raise ValueError(text) from exc
    if isinstance(value, tuple):
        value = list(value)
    if not isinstance(value, list if kind == "list" else dict):
        raise ValueError(text)
    return value


def convert(files: list[str], root: str, index: ProjectIndex) -> Converted:
    """Convert the luigi configuration ``files`` (in the order luigi reads them)."""
    converter = _Converter(root, index)
    errors = []
    sources = []
    for path in files:
        error = converter.read(path)
        if error is None:
            sources.append(path)
        else:
            errors.append(error)
    converter.sources = sources
    text = converter.convert() if sources else ""
    return Converted(text, [converter.rel(s) for s in sources], converter.changes, errors)
