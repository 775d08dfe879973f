"""Task parameters given on the command line as a stored task's id (or its first digits):
``--data 5d3916fd`` is the task its run record describes (``Task.from_id``)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import click

from cairn._config import Config
from cairn._errors import CairnError
from cairn.inspect.show import find_record
from cairn.model.restore import Restorer
from cairn.running.build import open_workspace
from cairn.storage.layout import FAILURE_SUFFIX

__all__ = ["ID_PREFIX", "StoredTaskRef", "restore_refs"]

#: What a task parameter's text must look like to name a stored task.
ID_PREFIX = re.compile(r"[0-9a-fA-F]{4,32}")


@dataclass(frozen=True)
class StoredTaskRef:
    """A task parameter given as a stored task's id (or its first digits): loaded from its
    run record once the workspace is known (the options may follow the task)."""

    prefix: str
    option: str


def restore_refs(values: Sequence[dict[str, Any]], workspace: str | None, config: Config) -> None:
    """Replace each :class:`StoredTaskRef` in each dict of parameter ``values`` by the
    stored task its record describes (``Task.from_id``), from ``workspace`` (None: the
    configured one).

    Raises:
        click.UsageError: for an id prefix that matches no record, several, or only a
            failure record.
    """
    refs = [
        (given, name)
        for given in values
        for name, v in given.items()
        if isinstance(v, StoredTaskRef)
    ]
    if not refs:
        return
    store = open_workspace(workspace, None, config)
    restorer = Restorer(store)
    for given, name in refs:
        ref: StoredTaskRef = given[name]
        try:
            path, data = find_record(store, ref.prefix)
            if path.endswith(FAILURE_SUFFIX):
                raise CairnError(
                    f"the task {data.get('task_id', ref.prefix)} failed when it last ran, so "
                    "it has no output to use; give the id of a complete task ('cairn ls')"
                )
            given[name] = restorer.restore(str(data["task_id"]))
        except CairnError as exc:
            raise click.UsageError(f"{ref.option} {ref.prefix}: {exc}") from None
