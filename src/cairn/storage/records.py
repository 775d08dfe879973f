"""Run records as the store holds them: one JSON object beside each task's outputs.

The runner writes a record last, so its presence is what marks a task complete; its path is
:func:`cairn.storage.layout.record_path`. Readers here return plain dicts.
"""

from __future__ import annotations

import json
from typing import Any

from cairn.storage.store import Store

__all__ = ["RECORD_VERSION", "read_json", "read_record"]

#: The version of the record format, written as ``cairn_record``.
RECORD_VERSION = 1


def read_record(store: Store, path: str) -> dict[str, Any]:
    """Read the run record at ``path``.

    Raises:
        OutputNotFoundError: when there is none.
        StoreError: when the store cannot read it.
        ValueError: when it is not JSON.
    """
    with store.open_read(path) as file:
        data: dict[str, Any] = json.loads(file.read())
    return data


def read_json(store: Store, path: str) -> dict[str, Any] | None:
    """A record's content, or None when it cannot be read or parsed."""
    try:
        with store.open_read(path) as file:
            data = json.loads(file.read())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
