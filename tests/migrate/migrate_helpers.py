"""Helpers for the migration tests: a snippet of gokart code in a package, migrated."""

from __future__ import annotations

import textwrap
from pathlib import Path

from cairn.migrate import Report, migrate


def write(root: Path, files: dict[str, str]) -> None:
    """Write ``files`` (relative path -> dedented text) under ``root``."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))


def migrated(
    root: Path, code: str, *, name: str = "pkg/tasks.py", files: dict[str, str] | None = None
) -> tuple[str, Report]:
    """Write ``code`` as ``name`` in package ``pkg`` (and ``files``), migrate, return the new
    text of ``name`` and the report."""
    write(root, {"pkg/__init__.py": "", **(files or {}), name: code})
    report = migrate(root)
    return (root / name).read_text(), report


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")
