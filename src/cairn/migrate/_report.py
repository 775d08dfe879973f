"""What a migration did: every change, every place left to finish by hand, every failure.

:class:`Report` is what :func:`cairn.migrate.migrate` returns and what ``cairn migrate``
prints. Changes name the line of the original file; places to finish name the line of the
migrated file where the ``# cairn migrate:`` comment is, so an editor can jump there.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

__all__ = ["MARKER", "Entry", "Report", "comment_lines", "find_markers"]

#: The comment that marks what could not be converted.
MARKER = "# cairn migrate:"
#: How the lines of a long marker (or note) after its first begin.
CONTINUATION = "#   "
_WIDTH = 88


def comment_lines(text: str, first: str = MARKER + " ") -> list[str]:
    """``text`` as comment lines of at most 88 characters, the first starting with ``first``."""
    return textwrap.wrap(
        " ".join(text.split()),
        width=_WIDTH,
        initial_indent=first,
        subsequent_indent=CONTINUATION,
        break_long_words=False,
        break_on_hyphens=False,
    )


def find_markers(lines: Iterable[str]) -> Iterator[tuple[int, str]]:
    """Each marker in ``lines`` (comment texts, or a file's lines): its line number (from
    1) and its text, continuation lines joined."""
    number, parts = 0, list[str]()
    for i, line in enumerate(lines, 1):
        stripped = line.strip()
        at = stripped.find(MARKER)
        if at >= 0:
            if parts:
                yield number, " ".join(parts)
            number, parts = i, [stripped[at + len(MARKER) :].strip()]
        elif parts and stripped.startswith(CONTINUATION):
            parts.append(stripped[len(CONTINUATION) :].strip())
        elif parts:
            yield number, " ".join(parts)
            parts = []
    if parts:
        yield number, " ".join(parts)


@dataclass(frozen=True, order=True)
class Entry:
    """One line of a report: a file (relative to the migrated folder), a line, what."""

    file: str
    line: int
    what: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.what}"


@dataclass
class Report:
    """The outcome of one migration.

    Attributes:
        root: the folder migrated.
        changes: what was rewritten (line in the original file).
        todos: what was left, marked with ``# cairn migrate:`` (line in the migrated file).
        errors: files left untouched because they could not be read or parsed.
        files: the files written (or, in a dry run, that would be).
        diff: a unified diff of every file written (or that would be).
        dry_run: True when nothing was written.
    """

    root: str
    changes: list[Entry] = field(default_factory=list)
    todos: list[Entry] = field(default_factory=list)
    errors: list[Entry] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    diff: str = ""
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        """True when every file could be read and parsed."""
        return not self.errors

    def __str__(self) -> str:
        verb = "would change" if self.dry_run else "changed"
        lines = [
            f"cairn migrate {self.root}: {verb} {len(self.files)} file(s), "
            f"{len(self.changes)} change(s), {len(self.todos)} place(s) to finish by hand, "
            f"{len(self.errors)} file(s) not migrated"
        ]
        sections = (
            ("changes", self.changes),
            (f'to finish by hand (marked "{MARKER}")', self.todos),
            ("not migrated (left untouched)", self.errors),
        )
        for title, entries in sections:
            if entries:
                lines.append(f"{title}:")
                lines.extend(f"  {entry}" for entry in entries)
        if not (self.changes or self.todos or self.errors):
            lines.append("nothing to change: no gokart or luigi code left")
        return "\n".join(lines)
