"""Build logs: each build's planned graph and what happened to its tasks, for viewers.

A build writes ``.cairn/builds/{id}.plan.json`` once, when it starts (every task of the
plan: id, name, label, family, dependencies, state), and ``.cairn/builds/{id}.events.jsonl``
(one JSON object a line: ``{"t": 1712.5, "event": "started", "id": "..."}``) as it runs, so
a viewer in another process (``cairn ui``) follows the build by reading one small file, not
the store's records. Only the newest :data:`KEEP` builds are kept.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from typing import Any, BinaryIO

from cairn.storage.layout import BUILDS_DIR, build_events_path, build_plan_path
from cairn.storage.records import read_json
from cairn.storage.store import Store

__all__ = [
    "KEEP",
    "build_ids",
    "encode_event",
    "prune_builds",
    "read_build_events",
    "read_build_plan",
    "write_build_lines",
    "write_build_plan",
]

#: ``json.dumps(event, default=str)``, its encoder made once (one per call costs more).
_event_json = json.JSONEncoder(default=str).encode

#: How many builds' logs a store keeps (older ones are deleted as a build starts).
KEEP = 50

_PLAN_SUFFIX = ".plan.json"


def build_ids(store: Store) -> list[str]:
    """Ids of the builds logged in ``store``, newest first (ids start with a UTC time)."""
    names = [p.rpartition("/")[2] for p in store.list(BUILDS_DIR + "/")]
    return sorted(
        (n[: -len(_PLAN_SUFFIX)] for n in names if n.endswith(_PLAN_SUFFIX)), reverse=True
    )


def write_build_plan(
    store: Store, build_id: str, plan: dict[str, Any], nodes: Iterable[dict[str, Any]] = ()
) -> None:
    """Store the planned graph of build ``build_id``: ``plan``, its ``"nodes"`` taken from
    ``nodes``, which are encoded and written one at a time (so the graph of a million tasks
    is never in memory whole, as objects or as text)."""
    head = json.dumps({**{k: v for k, v in plan.items() if k != "nodes"}, "nodes": []}, default=str)

    def write(file: BinaryIO) -> None:
        file.write(head[: -len("]}")].encode())
        sep = b""
        for node in nodes:
            file.write(sep + json.dumps(node, default=str).encode())
            sep = b", "
        file.write(b"]}")

    store.write(build_plan_path(build_id), write)


def read_build_plan(store: Store, build_id: str) -> dict[str, Any] | None:
    """The planned graph of build ``build_id``, or None."""
    return read_json(store, build_plan_path(build_id))


def encode_event(event: dict[str, Any]) -> bytes:
    """One line of an event log: ``event`` as JSON, with its newline."""
    return _event_json(event).encode() + b"\n"


def write_build_lines(store: Store, build_id: str, lines: bytes | bytearray) -> None:
    """Store the event log of build ``build_id``, its lines already encoded and joined (one
    atomic write)."""

    def write(file: BinaryIO) -> None:
        file.write(lines)  # not copied, as joining or bytes() would

    store.write(build_events_path(build_id), write)


def read_build_events(store: Store, build_id: str, skip: int = 0) -> list[dict[str, Any]]:
    """The events of build ``build_id`` after the first ``skip`` (none when it has none)."""
    try:
        with store.open_read(build_events_path(build_id)) as file:
            lines = file.read().decode(errors="replace").splitlines()
    except OSError:
        return []
    out = []
    for line in lines[skip:]:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict):
            out.append(event)
    return out


def prune_builds(store: Store, keep: int = KEEP) -> None:
    """Delete the logs of all but the newest ``keep`` builds (best effort)."""
    for old in build_ids(store)[keep:]:
        for path in (build_plan_path(old), build_events_path(old)):
            with contextlib.suppress(OSError):
                store.delete(path)
