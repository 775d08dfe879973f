"""Kinds of task: what the planner, the runner and the explanations do differently per kind.

Every task class names its kind (``Task._kind``), one :class:`TaskKind` object; the code
that plans, runs and explains asks it instead of testing flags. Three kinds exist:

- :class:`TaskKind`, the task cairn runs: complete when its run record exists; its code
  fingerprint and ``code_version`` are its class's; its earlier runs are its family's;
- :class:`~cairn.model.external.ExternalKind` (``ExternalFile``): made outside cairn, never
  runs, complete when its file exists, keeps no record, and a change to it reads as a
  changed input file;
- :class:`~cairn.pipeline._node_task.NodeKind` (pipeline nodes): one class for every node,
  so the code, the ``code_version`` and the history are the node's.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from cairn._errors import CorruptRecordError, OutputNotFoundError
from cairn.identity.fingerprint import Fingerprint
from cairn.model.options import option
from cairn.storage.integrity import MISSING, output_problem
from cairn.storage.records import RunRecord, read_run_record
from cairn.storage.store import Store, contained

if TYPE_CHECKING:
    from cairn.model.task import Task

__all__ = ["TaskKind"]

log = logging.getLogger(__name__)


class TaskKind:
    """The kind of the tasks cairn runs, and the base of the other kinds."""

    #: Whether the task writes a run record when it runs (which status, ``show`` and the
    #: ``modification_time_check`` read). Kinds made outside cairn keep none.
    keeps_record: bool = True

    def code(self, task: Task[Any]) -> Fingerprint:
        """The code fingerprint ``task``'s id is made from (the run record holds the same)."""
        return type(task).code_fingerprint()

    def code_version(self, task: Task[Any]) -> Any:
        """The ``code_version`` that pins ``task``'s code, or None."""
        return option(type(task), "code_version")

    def history_family(self, task: Task[Any]) -> str:
        """Whose earlier runs a plan compares ``task`` with to say why it will run."""
        return type(task).family

    def is_complete(self, task: Task[Any], store: Store, *, deep: bool = False) -> bool:
        """True when ``task`` need not run: its run record is in ``store``, is a run record,
        and its outputs have the sizes it records (with ``deep``, the CRC-32s too). A corrupt
        record or output makes the task incomplete, with a warning: it runs again."""
        return self.complete_record(task, store, deep=deep) is not None

    def complete_record(
        self, task: Task[Any], store: Store, *, deep: bool = False
    ) -> RunRecord | None:
        """The run record of ``task`` when it is complete (see :meth:`is_complete`), else
        None."""
        try:  # one read, no separate existence check: a missing record is not-found
            record = read_run_record(store, task.record_path())
        except (OutputNotFoundError, FileNotFoundError):
            return None
        except CorruptRecordError as exc:
            log.warning("%s: %r will run again", exc, task)
            return None
        for key, entry in record.outputs.items():
            output = entry.get("path")
            if not isinstance(output, str) or contained(store, output) is None:
                continue
            problem = output_problem(store, output, entry, deep=deep, recent=True)
            # a missing output stays an OutputNotFoundError naming the task when it is loaded
            if problem is not None and problem != MISSING:
                log.warning(
                    "the output %s (%s) of %r is corrupt: %s; it will run again",
                    output,
                    key or "its output",
                    task,
                    problem,
                )
                return None
        return record

    def will_run(
        self, task: Task[Any], store: Store, *, forced: bool, parent: Task[Any] | None
    ) -> bool:
        """Whether a plan runs ``task``: when ``forced`` (``rerun``), or when incomplete.

        ``parent`` is the task that needs it (None for a root), for error messages. A plan
        loads what it reuses, so its outputs are checked deeply (sizes and checksums).
        """
        del parent
        return forced or not self.is_complete(task, store, deep=True)

    def label(self, task: Task[Any]) -> str | None:
        """A short label for ``task`` that its kind knows best (a pipeline node: its
        name), or None to tell siblings apart by their parameters."""
        del task
        return None

    def outside_input(self, task: Task[Any]) -> str | None:
        """The input made outside cairn that ``task`` stands for (a path), or None: a
        change to such a task is explained as a changed input file."""
        del task
        return None
