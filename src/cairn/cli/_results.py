"""``cairn results``: the stored runs of a family as a table, filtered and sorted.

::

    cairn results Train --where 'lr < 0.1' --sort auc --desc
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import click

from cairn._errors import CairnError, suggest
from cairn._render import format_seconds, format_time, human_bytes

__all__ = ["filter_frame", "results_command", "sort_frame"]

#: Columns the terminal table leaves out (``--json`` keeps them).
_HIDDEN = ("family", "record_path")


def _quote_columns(expression: str, columns: list[str]) -> str:
    """``data.path == 'a'`` -> ```data.path` == 'a'``: pandas' query needs backticks
    around names that are not identifiers."""
    odd = sorted((c for c in columns if not c.isidentifier()), key=len, reverse=True)
    if not odd:
        return expression
    pattern = "|".join(re.escape(c) for c in odd)
    return re.sub(rf"(?<![`\w.])({pattern})(?![\w.`])", r"`\1`", expression)


def filter_frame(frame: Any, expression: str) -> Any:
    """The rows of ``frame`` for which ``expression`` (pandas' query syntax) holds.

    Raises:
        CairnError: when the expression does not parse or names no column.
    """
    columns = [str(c) for c in frame.columns]
    try:
        return frame.query(_quote_columns(expression, columns), engine="python")
    except Exception as exc:
        raise CairnError(
            f"cannot filter by {expression!r}: {type(exc).__name__}: {exc}. Write a "
            "comparison of columns, like 'lr < 0.1 and state == \"complete\"'; the columns "
            f"are: {', '.join(columns)}"
        ) from None


def sort_frame(frame: Any, column: str, *, descending: bool) -> Any:
    """``frame`` sorted by ``column`` (missing values last).

    Raises:
        CairnError: when there is no such column.
    """
    columns = [str(c) for c in frame.columns]
    if column not in columns:
        raise CairnError(
            f"no column {column!r} to sort by.{suggest(column, columns)} The columns are: "
            f"{', '.join(columns)}"
        )
    return frame.sort_values(column, ascending=not descending, na_position="last", kind="stable")


def _text(column: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if column == "duration_s":
        return format_seconds(float(value))
    if column == "output_bytes":
        return human_bytes(int(value))
    if column == "start":
        return format_time(value.isoformat()) if hasattr(value, "isoformat") else str(value)
    if column.endswith("task_id") or column == "task_id":
        return str(value)[:12]
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _shown(frame: Any, every: bool) -> list[str]:
    """The columns the terminal shows: not the family and record path, nor (unless
    ``every``) the ids of upstream tasks or columns with no value at all."""
    columns = [str(c) for c in frame.columns if c not in _HIDDEN]
    if every:
        return columns
    upstream = re.compile(r"\.task(_id)?$")
    return [c for c in columns if not upstream.search(c) and frame[c].notna().any()]


def _table(frame: Any, every: bool = False) -> Any:
    from rich.table import Table

    table = Table()
    shown = _shown(frame, every)
    for column in shown:
        table.add_column(column, overflow="fold")
    for row in frame.to_dict("records"):
        table.add_row(*(_text(c, row.get(c)) for c in shown))
    return table


@click.command(name="results", short_help="Compare the stored runs of a family.")
@click.argument("family", required=False)
@click.option("--workspace", "-w", metavar="DIR|URL", help="Where outputs live.")
@click.option("--where", "where", metavar="EXPR", help="Keep rows where EXPR holds: 'lr < 0.1'.")
@click.option("--sort", "sort", metavar="COLUMN", help="Sort by this column (e.g. a metric).")
@click.option("--desc", is_flag=True, help="Sort descending (largest first).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per run.")
@click.option("--all-columns", "every", is_flag=True,
              help="Also show upstream task ids and empty columns.")  # fmt: skip
def results_command(  # noqa: PLR0917 - one argument per option, as click calls it
    family: str | None,
    workspace: str | None,
    where: str | None,
    sort: str | None,
    desc: bool,
    as_json: bool,
    every: bool,
) -> int:
    """The stored runs of FAMILY ("pkg.module.Train" or "Train"; all when left out), one row
    per run: id, state, every parameter (task parameters flattened: data.path), metrics,
    start, duration and output size. --where filters with a pandas query expression,
    --sort orders by a column. The ids of upstream tasks and empty columns are left out of
    the table unless --all-columns; --json prints everything.
    """
    from rich.text import Text

    from cairn.inspect.results import results

    state = click.get_current_context().find_root().obj
    frame = results(family, workspace=workspace, config=state.config)
    total = len(frame)
    if where:
        frame = filter_frame(frame, where)
    if sort:
        frame = sort_frame(frame, sort, descending=desc)
    if as_json:
        for row in frame.to_dict("records"):
            row["start"] = row["start"].isoformat() if hasattr(row["start"], "isoformat") else None
            click.echo(json.dumps(row, default=str))
        return 0
    state.out.print(_table(frame, every))
    what = f"run(s) of {family}" if family else "run(s)"
    shown = f"{len(frame)} of {total}" if len(frame) != total else str(total)
    state.out.print(Text(f"{shown} {what} in {frame.attrs.get('workspace', '')}"))
    return 0
