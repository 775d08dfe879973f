"""``ExternalFile``: a raw input made outside cairn, as a task that never runs.

``ExternalFile("data/raw.csv")`` is complete when the file exists, and its id includes a
fingerprint of the file's content, so the tasks that require it rerun when the file is
replaced and not when it is only touched. ``self.load()`` of one reads the file with the
format its extension names; ``.path`` gives the path for reading it any other way.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, BinaryIO, ClassVar

from cairn._errors import CairnError, FormatError, MissingInputError
from cairn.formats import BaseFormat
from cairn.formats import get as format_for
from cairn.identity.files import file_exists, is_url
from cairn.model.kinds import TaskKind
from cairn.model.params import FileParameter
from cairn.model.targets import Target
from cairn.model.task import Task
from cairn.storage.store import Store

__all__ = ["ExternalFile", "ExternalKind", "ExternalTarget"]


class _NoFormat(BaseFormat):
    """Stands in for the format of an extension cairn cannot read."""

    def __init__(self, path: str, error: FormatError) -> None:
        self.path = path
        self.error = error

    def load(self, file: BinaryIO) -> Any:
        raise FormatError(
            f"cannot load the external file {self.path!r}: {self.error} Read it yourself in "
            "run(): self.requires()[...].path is its path."
        )

    def dump(self, obj: Any, file: BinaryIO) -> None:  # pragma: no cover - never written
        raise self.error


class ExternalTarget(Target):
    """A file outside the store (local path or fsspec URL), read-only."""

    __slots__ = ("storage_options",)

    def __init__(self, path: str, storage_options: dict[str, Any] | None = None) -> None:
        self.path = os.fspath(path)
        self.storage_options = dict(storage_options or {})
        try:
            self.format = format_for(self.path)
        except FormatError as exc:
            self.format = _NoFormat(self.path, exc)

    def __repr__(self) -> str:
        return f"ExternalTarget({self.path!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (ExternalTarget, (self.path, self.storage_options))

    def exists(self, store: Store) -> bool:
        """True when the file exists (the store is not involved)."""
        return file_exists(self.path, self.storage_options)

    def open(self) -> BinaryIO:
        """Open the file for reading bytes.

        Raises:
            MissingInputError: when the file does not exist.
        """
        try:
            if is_url(self.path):
                import fsspec

                return fsspec.open(self.path, "rb", **self.storage_options).open()  # type: ignore[no-any-return]
            local = self.path[len("file://") :] if self.path.startswith("file://") else self.path
            return open(os.path.expanduser(local), "rb")
        except FileNotFoundError:
            raise MissingInputError(
                f"the external file {self.path!r} does not exist (any more); put it back, "
                "or point the task at another file"
            ) from None

    def load(self, store: Store, as_type: Any = None, written: str | None = None) -> Any:
        """Read the file with the format of its extension (a data frame as ``as_type``).

        ``written`` is ignored: nobody recorded what wrote an external file.
        """
        del written
        with self.open() as file:
            return self.read(file, as_type)

    def dump(self, store: Store, obj: Any, labels: Mapping[str, str] | None = None) -> Any:
        raise CairnError(f"{self!r} is an input made outside cairn; it cannot be written")


class ExternalKind(TaskKind):
    """The kind of tasks made outside cairn: they never run and keep no run record; they
    are complete when their outputs exist, and a change to one is a changed input file."""

    keeps_record = False

    def is_complete(self, task: Task[Any], store: Store, *, deep: bool = False) -> bool:
        del deep
        return all(target.exists(store) for target in task._outputs().values())

    def will_run(
        self, task: Task[Any], store: Store, *, forced: bool, parent: Task[Any] | None
    ) -> bool:
        """Never, even when forced.

        Raises:
            MissingInputError: when the file does not exist, naming the task that needs it.
        """
        if self.is_complete(task, store):
            return False
        path = self.outside_input(task)
        if parent is None:
            raise MissingInputError(
                f"{task!r} is a build root and its file {path!r} does not exist; create it first"
            )
        raise MissingInputError(
            f"{parent!r} needs the file {path!r} (through {task!r}), which does not exist. "
            f"Create the file, or give {type(parent).__qualname__} another path."
        )

    def outside_input(self, task: Task[Any]) -> str | None:
        return str(task._values.get("path", repr(task)))


class ExternalFile(Task[Any]):
    """An input file made outside cairn (a local path or an fsspec URL such as ``s3://...``).

    It never runs: it is complete when the file exists, and a missing file stops the plan
    with an error naming the task that needs it. Its id includes a fingerprint of the file's
    content (the store's checksum or ETag where there is one), so replacing the file reruns
    what reads it, and touching it reruns nothing.
    """

    path = FileParameter(description="local path or fsspec URL of the file")

    _kind: ClassVar[TaskKind] = ExternalKind()

    def __init__(self, path: Any = None, /, **kwargs: Any) -> None:
        if path is not None:
            kwargs["path"] = path
        super().__init__(**kwargs)

    def output(self) -> ExternalTarget:
        """The file itself."""
        param = type(self)._params["path"]
        options = param.storage_options if isinstance(param, FileParameter) else None
        return ExternalTarget(self.path, options)

    def run(self) -> Any:
        raise CairnError(f"{self!r} is made outside cairn and never runs")


# The family enters the id of every ExternalFile and of every task that reads one: keep the
# one it was first given (and its folder), whichever module the class lives in.
ExternalFile.family = "cairn._external.ExternalFile"
ExternalFile._path_prefix = "cairn/_external"
