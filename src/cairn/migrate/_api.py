"""One migration, start to end: find the files, index them, rewrite them, write or diff.

:func:`migrate` reads every Python file under the folder (skipping virtual environments and
hidden folders), builds the :class:`~cairn.migrate._index.ProjectIndex`, converts the luigi
configuration files to ``cairn.toml``, rewrites each module, and then writes what changed
(each file replaced whole, atomically) or, in a dry run, only returns the diff. A file that
cannot be read or parsed is left untouched and listed; the others are still migrated.
"""

from __future__ import annotations

import difflib
import os
import tempfile
from collections.abc import Iterator, Sequence

from cairn._errors import CairnError
from cairn.migrate._index import ProjectIndex, module_name
from cairn.migrate._report import Entry, Report, find_markers

__all__ = ["MigrationError", "migrate"]

_SKIP = frozenset(
    {"__pycache__", "venv", "env", "node_modules", "site-packages", "build", "dist", "resources"}
)
_DEFAULT_CONFIGS = ("luigi.cfg", "param.ini", os.path.join("conf", "param.ini"))
TOML = "cairn.toml"


class MigrationError(CairnError):
    """The folder or a configuration file given to ``cairn migrate`` does not exist."""


def _python_files(root: str) -> Iterator[str]:
    if os.path.isfile(root):
        yield root
        return
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIP)
        for name in sorted(files):
            if name.endswith(".py"):
                yield os.path.join(folder, name)


def _config_files(root: str, index: ProjectIndex, given: Sequence[str] | None) -> list[str]:
    """The luigi configuration files to convert: those given, else those the code names."""
    if given is not None:
        found = []
        for name in given:
            path = name if os.path.isabs(name) else os.path.join(root, name)
            if not os.path.isfile(path) and os.path.isfile(name):
                path = os.path.abspath(name)
            if not os.path.isfile(path):
                raise MigrationError(
                    f"configuration file {name!r} does not exist (looked in {root} and in the "
                    "working directory); give the path of a luigi .cfg or .ini file"
                )
            found.append(path)
        return found
    candidates = [os.path.join(root, name) for name in _DEFAULT_CONFIGS]
    for call in index.config_calls:
        if call.path is not None:
            candidates.append(os.path.join(root, call.path))
            candidates.append(os.path.join(os.path.dirname(call.file), call.path))
    out: list[str] = []
    for path in candidates:
        real = os.path.realpath(path)
        if os.path.isfile(real) and real not in out and not real.endswith(".toml"):
            out.append(real)
    return out


def _read(path: str) -> str | None:
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def _diff(rel: str, old: str | None, new: str) -> str:
    lines = difflib.unified_diff(
        (old or "").splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile="/dev/null" if old is None else f"a/{rel}",
        tofile=f"b/{rel}",
    )
    return "".join(lines)


def _write(path: str, text: str) -> None:
    folder = os.path.dirname(path) or "."
    fd, temporary = tempfile.mkstemp(prefix=".cairn-migrate-", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        if os.path.exists(path):
            os.chmod(temporary, os.stat(path).st_mode & 0o7777)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def _markers(rel: str, text: str) -> list[Entry]:
    return [Entry(rel, line, what) for line, what in find_markers(text.splitlines())]


def _failure(exc: Exception) -> tuple[int, str]:
    """The line and the message for a file that could not be migrated."""
    import libcst

    detail = " ".join(str(exc).split())[:200]
    if isinstance(exc, libcst.ParserSyntaxError):
        return exc.raw_line, f"does not parse, left untouched: {detail}"
    return 0, (
        f"could not be migrated ({type(exc).__name__}: {detail}), left untouched; "
        "migrate it by hand, and please report the problem"
    )


def migrate(
    path: str | os.PathLike[str],
    *,
    dry_run: bool = False,
    config: Sequence[str | os.PathLike[str]] | None = None,
) -> Report:
    """Rewrite the gokart/luigi project at ``path`` (a folder, or one ``.py`` file) for cairn.

    Args:
        dry_run: change nothing; the report's ``diff`` shows what would change.
        config: the luigi configuration files to convert to ``cairn.toml`` (relative to
            ``path`` or the working directory); default: ``luigi.cfg``, ``param.ini``,
            ``conf/param.ini`` and every file the code passes to ``add_config_path``.

    Returns:
        The :class:`Report`: changes, places marked ``# cairn migrate:``, files not migrated.

    Raises:
        MigrationError: when ``path`` or a configuration file given does not exist.
    """
    from cairn.migrate import _code, _ini

    given = os.fspath(path)
    if not os.path.exists(given):
        raise MigrationError(
            f"{given!r} does not exist; give the folder of a gokart project (or one .py file)"
        )
    target = os.path.abspath(given)
    root = target if os.path.isdir(target) else os.path.dirname(target)
    report = Report(root=given, dry_run=dry_run)
    sources: dict[str, str] = {}
    for file in _python_files(target):
        try:
            with open(file, encoding="utf-8", newline="") as handle:
                sources[file] = handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            report.errors.append(Entry(os.path.relpath(file, root), 0, f"not read: {exc}"))
    index = ProjectIndex(root)
    for file, source in sources.items():
        index.add(file, source)
    outputs: dict[str, str] = {}
    if isinstance(config, str | os.PathLike):
        config = [config]
    config_files = _config_files(root, index, [os.fspath(c) for c in config] if config else None)
    converted = _ini.convert(config_files, root, index) if config_files else None
    toml_path: str | None = None
    if converted is not None:
        report.errors.extend(converted.errors)
        if converted.text:
            toml_path = os.path.join(root, TOML)
            if _read(toml_path) not in (None, converted.text):
                toml_path = os.path.join(root, "cairn.migrated.toml")
                report.changes.append(
                    Entry(
                        TOML,
                        0,
                        "exists already: the converted configuration is in "
                        "cairn.migrated.toml; merge the two by hand",
                    )
                )
            outputs[toml_path] = converted.text
    tasks = {
        index.luigi_family(info): f"{info.module}:{info.name}"
        for info in index.classes.values()
        if index.kind(info) == "task"
    }
    for file, source in sources.items():
        rel = os.path.relpath(file, root)
        context = _code.ModuleContext(
            index, module_name(root, file), tasks, TOML if toml_path else None
        )
        try:
            new, changes = _code.rewrite(source, context)
        except Exception as exc:
            report.errors.append(Entry(rel, *_failure(exc)))
            continue
        report.changes.extend(Entry(rel, line, what) for line, what in changes)
        if new != source:
            outputs[file] = new
    for file in sorted(sources):
        report.todos.extend(_markers(os.path.relpath(file, root), outputs.get(file, sources[file])))
    for file, text in outputs.items():
        if file.endswith(".toml"):
            report.todos.extend(_markers(os.path.relpath(file, root), text))
    diffs = []
    for file in sorted(outputs):
        old = sources.get(file)
        if old is None:
            old = _read(file)
        if old == outputs[file]:
            continue
        rel = os.path.relpath(file, root)
        report.files.append(rel)
        if file == toml_path and converted is not None:
            report.changes.extend(converted.changes)
        diffs.append(_diff(rel, old, outputs[file]))
        if not dry_run:
            _write(file, outputs[file])
    report.diff = "".join(diffs)
    report.changes.sort()
    report.errors.sort()
    return report
