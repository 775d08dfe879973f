"""The exception tree: every error a user can cause is a :class:`CairnError`.

::

    CairnError
    ├── ParameterError            bad parameter name, value or type
    ├── RequirementError          requires() returned something that is not a task
    ├── DependencyCycleError      requires() forms a cycle
    ├── TargetError               a target path escapes the workspace, or is malformed
    ├── FormatError               unknown extension, or an object a format cannot write
    ├── KeyNotFoundError          load()/dump() of a key the task does not have
    ├── OutputNotFoundError       load() of an output that has not been built
    ├── MissingInputError         an input file outside the store does not exist
    ├── MissingColumnsError       load_data_frame() without required columns
    ├── SchemaError               dumped frame does not match the declared schema
    ├── EmptyDumpError            empty frame dumped where fail_on_empty_dump is set
    ├── StoreError                the store cannot be reached or read
    │   └── StoreUnreachableError the store stopped answering (network, endpoint down)
    ├── LockError                 a lock cannot be taken or the lock service failed
    ├── ConfigError               unreadable or inconsistent configuration
    ├── PipelineError             pipeline nodes that do not fit together
    ├── MissingExtraError         an optional dependency is not installed
    ├── WorkerLostError           the worker process running a task died
    └── BuildError                tasks failed; ``failures`` maps task -> exception

Messages say what was wrong and what to do about it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "BuildError",
    "CairnError",
    "ConfigError",
    "CorruptOutputError",
    "CorruptRecordError",
    "DependencyCycleError",
    "EmptyDumpError",
    "FingerprintWarning",
    "FormatError",
    "KeyNotFoundError",
    "LockError",
    "MissingColumnsError",
    "MissingExtraError",
    "MissingInputError",
    "OutputNotFoundError",
    "ParameterError",
    "PipelineError",
    "RequirementError",
    "SchemaError",
    "StoreError",
    "StoreUnreachableError",
    "TargetError",
    "WorkerLostError",
    "suggest",
]


class CairnError(Exception):
    """Base class of every error cairn raises for something a user did or can fix."""


class ParameterError(CairnError, TypeError):
    """A parameter name, value or type is wrong."""


class RequirementError(CairnError, TypeError):
    """``requires()`` returned something that is not a task (or a nesting of tasks)."""


class DependencyCycleError(CairnError):
    """The tasks' requirements form a cycle; ``cycle`` lists the tasks in it."""

    def __init__(self, message: str, cycle: list[Any]) -> None:
        super().__init__(message)
        self.cycle = cycle


class TargetError(CairnError, ValueError):
    """A target path is malformed or escapes the workspace."""


class FormatError(CairnError, ValueError):
    """No format for an extension, or an object the chosen format cannot write."""


class KeyNotFoundError(CairnError, KeyError):
    """``load(key)`` or ``dump(obj, key)`` named a key the task does not have."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class OutputNotFoundError(CairnError, FileNotFoundError):
    """An output was asked for that is not in the store."""


class MissingInputError(CairnError, FileNotFoundError):
    """An input file outside the store (``ExternalFile``, ``FileParameter``) does not exist."""


class MissingColumnsError(CairnError, KeyError):
    """A data frame lacks columns that were required."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class SchemaError(CairnError, TypeError):
    """A data frame does not match the declared column types."""


class EmptyDumpError(CairnError, ValueError):
    """An empty data frame was dumped by a task with ``fail_on_empty_dump = True``."""


class StoreError(CairnError, OSError):
    """The store could not be reached, read or written."""


class StoreUnreachableError(StoreError):
    """The store did not answer at all (connection refused or reset, timed out): a build
    that meets it starts no new task, lets running ones end, and raises it."""


class CorruptRecordError(CairnError, ValueError):
    """A run record is not JSON or does not have the shape of a run record.

    The message names the record's file. A build treats the task as incomplete and reruns it.
    """


class CorruptOutputError(CairnError, ValueError):
    """A stored output does not match its run record (size or CRC-32), or cannot be read.

    The message names the output's file and what was wrong. A build treats the task as
    incomplete and reruns it (and what needs it); ``load()`` outside a build raises this.
    """


class LockError(CairnError):
    """A lock could not be taken, or the lock service failed."""


class ConfigError(CairnError, ValueError):
    """Configuration is unreadable or inconsistent."""


class PipelineError(CairnError, ValueError):
    """Pipeline nodes do not fit together: an input nothing makes, an output made twice, a
    function whose signature does not take the node's inputs."""


class MissingExtraError(CairnError, ImportError):
    """An optional dependency is needed but not installed."""

    @classmethod
    def for_module(cls, module: str, extra: str, feature: str) -> MissingExtraError:
        """Build the error for ``feature`` needing ``module`` from extra ``extra``."""
        return cls(
            f"{feature} needs the package {module!r}, which is not installed; "
            f"install it with: pip install 'cairn[{extra}]'"
        )


class WorkerLostError(CairnError):
    """The process running a task died (killed, out of memory, a crash in native code)."""


class FingerprintWarning(UserWarning):
    """Some of the user's code could not be fingerprinted; it counts by name only."""


class BuildError(CairnError):
    """Some tasks failed.

    ``failures`` maps each failed task to its exception (with the original traceback
    chained as ``__cause__``); ``skipped`` lists tasks not run because an upstream failed.
    """

    def __init__(
        self,
        failures: Mapping[Any, BaseException],
        skipped: Iterable[Any] = (),
        succeeded: Iterable[Any] = (),
    ) -> None:
        self.failures = dict(failures)
        self.skipped = list(skipped)
        self.succeeded = list(succeeded)
        lines = [f"{len(self.failures)} task(s) failed"]
        for task, exc in list(self.failures.items())[:20]:
            lines.append(f"  {task!r}: {type(exc).__name__}: {exc}")
        if len(self.failures) > 20:
            lines.append(f"  ... and {len(self.failures) - 20} more (see .failures)")
        if self.skipped:
            lines.append(f"{len(self.skipped)} task(s) not run because an upstream task failed:")
            lines.extend(f"  {task!r}" for task in self.skipped[:20])
            if len(self.skipped) > 20:
                lines.append(f"  ... and {len(self.skipped) - 20} more")
        lines.append(
            "Outputs of tasks that succeeded are stored; fix the failures and build again."
        )
        super().__init__("\n".join(lines))


def suggest(name: str, choices: Iterable[str]) -> str:
    """Return ' Did you mean X?' for the closest of ``choices``, or ''."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" Did you mean {close[0]!r}?" if close else ""
