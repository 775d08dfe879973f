"""Rendering of inspection results: rich renderables to text, and HTML tables for Jupyter.

Results (plans, status trees, listings, records) build ``rich`` renderables in ``__rich__``;
``__str__`` renders those to plain text, and ``_repr_html_`` builds escaped HTML with the
helpers here. Nothing here prints; ``rich`` is imported only when something is rendered.
"""

from __future__ import annotations

import datetime as _dt
import html
import io
import math
import shutil
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "STATE_COLOURS",
    "format_duration",
    "format_seconds",
    "format_time",
    "STATE_STYLES",
    "html_block",
    "html_table",
    "human_bytes",
    "to_text",
]

#: Fill colours of task states in pictures and HTML (colour-blind safe-ish, light fills).
STATE_COLOURS = {
    "complete": "#b7e1b5",
    "will run": "#ffe08a",
    "running elsewhere": "#9ecbff",
    "not needed": "#e0e0e0",
    "failed": "#f4a6a6",
}
#: Styles of task states in the terminal.
STATE_STYLES = {
    "complete": "green",
    "will run": "yellow",
    "running elsewhere": "cyan",
    "not needed": "dim",
    "failed": "red",
}

_CSS = (
    "<style>.cairn-table{border-collapse:collapse;font-family:sans-serif;font-size:13px}"
    ".cairn-table th,.cairn-table td{border:1px solid #ccc;padding:2px 6px;text-align:left;"
    "vertical-align:top}.cairn-table th{background:#f3f3f3}"
    ".cairn-pre{font-size:12px;background:#f7f7f7;padding:4px;white-space:pre-wrap}</style>"
)


def to_text(renderable: Any, width: int | None = None) -> str:
    """Render a rich renderable to plain text (no colours), ``width`` columns wide."""
    from rich.console import Console

    if width is None:
        width = max(100, shutil.get_terminal_size((100, 24)).columns)
    buffer = io.StringIO()
    console = Console(
        file=buffer, width=width, color_system=None, force_terminal=False, highlight=False
    )
    console.print(renderable)
    return buffer.getvalue().rstrip("\n")


def human_bytes(size: int) -> str:
    """``1536`` -> ``'1.5 KiB'``."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover


def html_table(
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    title: str | None = None,
    colours: Iterable[str | None] | None = None,
    footer: str | None = None,
) -> str:
    """An HTML table (every cell escaped); ``colours`` gives each row's background."""
    out = [_CSS]
    if title:
        out.append(f"<div><b>{html.escape(title)}</b></div>")
    out.append('<table class="cairn-table"><thead><tr>')
    out.extend(f"<th>{html.escape(c)}</th>" for c in columns)
    out.append("</tr></thead><tbody>")
    shades = iter(colours) if colours is not None else None
    for row in rows:
        shade = next(shades, None) if shades is not None else None
        style = f' style="background:{html.escape(shade)}"' if shade else ""
        out.append(f"<tr{style}>")
        out.extend(f"<td>{html.escape(str(cell))}</td>" for cell in row)
        out.append("</tr>")
    out.append("</tbody></table>")
    if footer:
        out.append(f"<div>{html.escape(footer)}</div>")
    return "".join(out)


def html_block(text: str) -> str:
    """Preformatted, escaped text."""
    return f'{_CSS}<pre class="cairn-pre">{html.escape(text)}</pre>'


def format_time(iso: str | None) -> str:
    """A record's ISO UTC time as local ``YYYY-MM-DD HH:MM:SS``."""
    if not iso:
        return ""
    try:
        return _dt.datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return iso


def format_duration(seconds: float | None) -> str:
    """``0.0123`` -> ``'12ms'``; ``83`` -> ``'1m 23s'``."""
    if seconds is None:
        return ""
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.2f}s" if seconds < 10 else f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes}m {secs}s" if hours else f"{minutes}m {secs}s"


def format_seconds(seconds: float | None) -> str:
    """A duration in words for pictures and pages: ``0.0123`` -> ``'12 ms'``, ``0.8`` ->
    ``'0.8 s'``, ``12.34`` -> ``'12 s'``, ``86.0`` -> ``'1 min 26 s'``, ``7322`` ->
    ``'2 h 2 min'``."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return ""
    if seconds < 0.1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 59.95:
        return f"{seconds:.1f} s" if seconds < 9.95 else f"{seconds:.0f} s"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if secs else f"{minutes} min"
