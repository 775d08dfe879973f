"""Stores: where outputs and run records live, with atomic writes.

A store is rooted at the workspace and addressed by relative, '/'-separated paths. Writes
are atomic: a reader sees the old object or the whole new one, never a part. The local store
writes a temporary file beside the target and renames it; every other fsspec file system
(``memory://``, ``s3://``, ``gs://``, ...) gets the whole object in one put, so no temporary
object is ever created there. Which file system serves a URL is fsspec's business: this module
has no per-scheme code.

Every write returns the size and a CRC-32 checksum of what was written. Errors of the
underlying file system come out as :class:`StoreError` (or :class:`OutputNotFoundError` for a
missing object) saying what to check.

A store travels to the workers of a cluster inside every task sent there. An
:class:`FsspecStore` travels without the storage options that hold secrets (keys, secrets,
tokens, passwords, credentials: see :func:`shareable_options`): workers take their
credentials from their own environment (``AWS_*`` variables, instance roles, config files).
``CAIRN_SHIP_CREDENTIALS=1`` in the client's environment (or ``ship_credentials=True``) sends
them along anyway, for workers that have none of their own.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import posixpath
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Protocol

from cairn._errors import (
    CairnError,
    MissingExtraError,
    OutputNotFoundError,
    StoreError,
    StoreUnreachableError,
    TargetError,
)
from cairn.identity.files import temporary_name
from cairn.storage.commit import commit_lock

__all__ = [
    "FsspecStore",
    "Listed",
    "LocalStore",
    "Staged",
    "Store",
    "Written",
    "check_relative",
    "check_writable",
    "unreachable",
    "contained",
    "crc32_function",
    "is_temporary",
    "open_store",
    "shareable_options",
    "stale_temporaries",
]


@dataclass(frozen=True)
class Written:
    """What a write stored: byte size and checksum (``crc32:xxxxxxxx``)."""

    size: int
    checksum: str


def check_relative(path: str) -> str:
    """Normalise a store-relative path; refuse one that escapes the workspace.

    Raises:
        TargetError: for absolute paths, ``..`` components, or empty paths.
    """
    if not path or path.startswith(("/", "\\")) or (len(path) > 1 and path[1] == ":"):
        raise TargetError(
            f"target path {path!r} must be relative to the workspace, like 'models/model.pkl'"
        )
    if "\0" in path:
        raise TargetError(
            f"target path {path!r} contains a NUL character, which no file system allows in "
            "a name; remove it (check where the name is built from)"
        )
    norm = posixpath.normpath(path.replace("\\", "/"))
    if norm == "." or norm.startswith("../") or norm == ".." or "://" in path:
        raise TargetError(
            f"target path {path!r} escapes the workspace; use a path inside it, "
            "like 'models/model.pkl'"
        )
    for part in norm.split("/"):
        size = len(part.encode("utf-8", "surrogatepass"))
        if size > MAX_NAME_BYTES:
            raise TargetError(
                f"target path {_short(path)} has a name of {size} bytes ({_short(part)}); "
                f"file systems allow at most {MAX_NAME_BYTES} bytes per name, and cairn adds "
                "the task id (33 characters) to it: shorten the name, or split it into "
                "directories"
            )
    return norm


#: The longest name (one path component) local file systems (ext4, xfs, btrfs, APFS, NTFS)
#: allow, in bytes
MAX_NAME_BYTES = 255


def _short(text: str) -> str:
    return repr(text) if len(text) <= 60 else repr(text[:40] + "..." + text[-12:])


def contained(store: Store, path: str) -> str | None:
    """``path`` normalised when it is inside the workspace of ``store``, else None.

    A path is inside when it is relative, has no ``..`` leading out, and, in a local store,
    its real path (symlinks resolved) is under the workspace's real path. Paths read from a
    record go through this before anything deletes them.
    """
    try:
        norm = check_relative(path)
    except TargetError:
        return None
    if isinstance(store, LocalStore):
        root = os.path.realpath(store.root)
        real = os.path.realpath(os.path.join(root, norm))
        if os.path.commonpath([root, real]) != root or real == root:
            return None
    return norm


@functools.cache
def crc32_function() -> Callable[[Any, int], int]:
    """The fastest CRC-32 at hand: ISA-L's (package ``isal``; the same values as zlib's,
    about seven times faster, so checksumming costs little next to writing), else zlib's.
    """
    try:
        from isal.isal_zlib import crc32
    except ImportError:
        return zlib.crc32
    return crc32


#: Below this size zlib's CRC-32 is as quick as ISA-L's (the values are the same).
_SMALL = 64 << 10

#: Flags of a new temporary file (it must not exist: its name is unique to this write).
_CREATE = (
    os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
)


class _ChecksumWriter(io.RawIOBase):
    """A write-only, non-seekable stream that counts bytes and computes CRC-32."""

    def __init__(self, sink: BinaryIO) -> None:
        self._sink = sink
        self._update = crc32_function()
        self.size = 0
        self.crc = 0

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def tell(self) -> int:
        return self.size

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self.crc = self._update(view, self.crc)
        self.size += len(view)
        self._sink.write(view)
        return len(view)

    def flush(self) -> None:
        self._sink.flush()

    def written(self) -> Written:
        return Written(self.size, f"crc32:{self.crc:08x}")


Writer = Callable[[BinaryIO], None]


@dataclass(frozen=True)
class Staged:
    """An output written but not yet visible at ``path``: :meth:`Store.publish` makes it
    so, :meth:`Store.discard` drops it. ``written`` is the size and checksum of exactly the
    bytes that publishing puts at ``path``.

    A local store keeps the bytes in a ``temporary`` file beside ``path`` (published by a
    rename); an object store keeps them in memory (``data``, published by one put, with the
    object's ``metadata``).
    """

    path: str
    written: Written
    temporary: str | None = None
    data: bytes | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)


class Store(Protocol):
    """What cairn needs of a place to keep outputs and records."""

    url: str

    def exists(self, path: str) -> bool:
        """True when ``path`` holds an object."""

    def open_read(self, path: str) -> BinaryIO:
        """Open ``path`` for reading bytes; raises OutputNotFoundError if absent."""

    def write(
        self, path: str, writer: Writer, *, labels: Mapping[str, str] | None = None
    ) -> Written:
        """Atomically store what ``writer`` writes to the file object it is given.

        ``labels`` become the object's metadata where the store has such a thing (S3, GCS);
        other stores ignore them.
        """

    def write_bytes(self, path: str, data: bytes) -> Written:
        """Atomically store ``data`` at ``path``."""

    def stage(
        self, path: str, writer: Writer, *, labels: Mapping[str, str] | None = None
    ) -> Staged:
        """Write what ``writer`` writes where nobody reads it yet; :meth:`publish` puts it
        at ``path``. A task's outputs are staged while it runs and published with its run
        record, so the record describes exactly the bytes published."""

    def publish(self, staged: Sequence[Staged]) -> None:
        """Put each staged output at its path (atomically, one by one)."""

    def discard(self, staged: Iterable[Staged]) -> None:
        """Drop staged outputs that were not published (those that were are left alone)."""

    def committing(self, path: str) -> contextlib.AbstractContextManager[None]:
        """Hold, while in the block, the right to publish the task whose record is ``path``.

        A local store takes a lock file in the workspace (so runners that reach it through
        different paths, symlinks included, exclude each other); an object store has no
        such thing and returns a no-op context.
        """

    def delete(self, path: str) -> None:
        """Remove ``path`` if it exists."""

    def size(self, path: str) -> int:
        """Byte size of ``path``."""

    def list(self, prefix: str = "") -> Iterator[str]:
        """Yield the relative paths of every object under ``prefix``."""

    @property
    def keeps_labels(self) -> bool:
        """True when the store keeps object metadata (S3, GCS): then labels are written."""

    @property
    def writes_are_local(self) -> bool:
        """True when a write costs no request to a service (a directory, memory): then a
        build logs its events here for viewers (``cairn ui``) unless told otherwise."""

    def versions(self, folder: str) -> dict[str, Listed] | None:
        """What one listing of ``folder`` (not its subfolders) says of each object in it:
        ``{path: (size, version)}``, where the version changes whenever the object's
        content does (an ETag). None when the store's listings carry no such version."""


#: What a listing says of one object: its size, and a version that changes with its content.
Listed = tuple[int, str]

# Keys of an fsspec listing entry that change with the object's content: S3's ETag (an MD5
# of the content, for an object written in one put), GCS's generation and hashes.
_VERSION_KEYS = ("ETag", "etag", "generation", "md5Hash", "crc32c")


class LocalStore:
    """A directory on local disk, accessed directly (no fsspec layer on the hot path)."""

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(os.path.expanduser(root))
        self.url = self.root
        self._made: set[str] = set()
        self._made_lock = threading.Lock()

    #: a local file has no object metadata: labels are not computed or written
    keeps_labels = False
    #: writing a small file costs no request to a service
    writes_are_local = True

    def __reduce__(self) -> tuple[Any, ...]:
        return (LocalStore, (self.root,))

    def __repr__(self) -> str:
        return f"LocalStore({self.root!r})"

    def _full(self, path: str) -> str:
        return os.path.join(self.root, path)

    def exists(self, path: str) -> bool:
        return os.path.exists(os.path.join(self.root, path))

    def open_read(self, path: str) -> BinaryIO:
        try:
            return open(self._full(path), "rb")
        except FileNotFoundError:
            raise OutputNotFoundError(f"{path!r} is not in the workspace {self.root}") from None
        except OSError as exc:
            raise StoreError(
                f"cannot read {path!r} in the workspace {self.root}: {exc}; check its permissions"
            ) from exc

    def _ensure_dir(self, directory: str) -> None:
        if directory in self._made:
            return
        try:
            os.makedirs(directory, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot create the directory {directory} in the workspace: {exc}; check "
                "that the workspace path is right and writable"
            ) from exc
        with self._made_lock:
            self._made.add(directory)

    def write(
        self, path: str, writer: Writer, *, labels: Mapping[str, str] | None = None
    ) -> Written:
        return self._publish_one(self.stage(path, writer))

    def _publish_one(self, staged: Staged) -> Written:
        try:
            self.publish([staged])
        except BaseException:
            self.discard([staged])
            raise
        return staged.written

    def stage(
        self, path: str, writer: Writer, *, labels: Mapping[str, str] | None = None
    ) -> Staged:
        def fill(fd: int) -> Written:
            with io.BufferedWriter(io.FileIO(fd, "wb", closefd=False)) as raw:
                stream = _ChecksumWriter(raw)
                writer(stream)  # type: ignore[arg-type]
            return stream.written()

        return self._stage(path, fill)

    def _stage(self, path: str, fill: Callable[[int], Written]) -> Staged:
        """Write a new temporary file beside ``path``: ``fill`` writes to its descriptor
        and says what it wrote. (Descriptors, not ``open()``: that would also ask whether
        the file is a terminal and where it starts, two system calls of each write.)"""
        full = os.path.join(self.root, path)
        directory = os.path.dirname(full)
        self._ensure_dir(directory)
        tmp = temporary_name(full)
        try:
            try:
                fd = os.open(tmp, _CREATE, 0o666)
            except FileNotFoundError:  # its folder was removed since this store made it
                self._made.discard(directory)
                self._ensure_dir(directory)
                fd = os.open(tmp, _CREATE, 0o666)
            try:
                written = fill(fd)
            finally:
                os.close(fd)
        except BaseException as exc:
            with contextlib.suppress(OSError):  # its error must not hide the write's
                os.unlink(tmp)
            if isinstance(exc, OSError) and not isinstance(exc, CairnError):
                raise self._write_error(path, exc) from exc
            raise
        return Staged(path, written, temporary=tmp)

    def publish(self, staged: Sequence[Staged]) -> None:
        for each in staged:
            if each.temporary is None:
                raise StoreError(f"{each.path!r} was not staged in the workspace {self.root}")
            try:
                os.replace(each.temporary, self._full(each.path))
            except OSError as exc:
                raise self._write_error(each.path, exc) from exc

    def discard(self, staged: Iterable[Staged]) -> None:
        for each in staged:
            if each.temporary is not None:
                with contextlib.suppress(OSError):  # published (renamed away) or gone
                    os.unlink(each.temporary)

    def committing(self, path: str) -> contextlib.AbstractContextManager[None]:
        return commit_lock(self.root, path)

    def _write_error(self, path: str, exc: OSError) -> StoreError:
        return StoreError(
            f"cannot write {path!r} in the workspace {self.root}: {exc}; check that "
            "the workspace is writable and its disk is not full"
        )

    def write_bytes(self, path: str, data: bytes) -> Written:
        def fill(fd: int) -> Written:  # the bytes are at hand: no checksumming stream
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            crc = zlib.crc32(data) if len(data) < _SMALL else crc32_function()(data, 0)
            return Written(len(data), f"crc32:{crc:08x}")

        return self._publish_one(self._stage(path, fill))

    def delete(self, path: str) -> None:
        try:
            os.unlink(self._full(path))
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise StoreError(
                f"cannot delete {path!r} in the workspace {self.root}: {exc}; check that the "
                "workspace is writable"
            ) from exc

    def size(self, path: str) -> int:
        try:
            return os.path.getsize(self._full(path))
        except FileNotFoundError:
            raise OutputNotFoundError(f"{path!r} is not in the workspace {self.root}") from None

    def versions(self, folder: str) -> dict[str, Listed] | None:
        """None: a local file has no content version (and reading it is cheap)."""
        del folder
        return None

    def list(self, prefix: str = "") -> Iterator[str]:
        base = self._full(prefix) if prefix else self.root
        for directory, _dirs, files in os.walk(base):
            rel_dir = os.path.relpath(directory, self.root)
            for name in files:
                if is_temporary(name):
                    continue
                rel = name if rel_dir == "." else f"{rel_dir}/{name}"
                yield rel.replace(os.sep, "/")


_ADVICE = (
    "Check that the store is reachable, and the workspace URL, the credentials (the usual "
    "environment variables and config files of the file system's library) and "
    "storage_options."
)

# The distribution that provides a file system, by its top-level module, when it is one of
# cairn's extras (an fsspec protocol itself needs no entry here: fsspec knows them all).
_EXTRA_OF_MODULE = {"s3fs": "s3", "gcsfs": "gcs"}


def _missing_filesystem(url: str, protocol: str, exc: ImportError) -> CairnError:
    from fsspec.registry import known_implementations

    module = known_implementations.get(protocol, {}).get("class", "").partition(".")[0]
    extra = _EXTRA_OF_MODULE.get(module)
    if extra is not None:
        return MissingExtraError.for_module(module, extra, f"the workspace {url!r}")
    return MissingExtraError(
        f"the workspace {url!r} needs a file system package for {protocol}:// that is not "
        f"installed ({exc}); install {module or 'the fsspec implementation for it'}"
    )


#: Parts of storage option names that mark a secret (matched in lower case, at any depth of
#: nested options such as ``client_kwargs``).
SECRET_WORDS = ("key", "secret", "token", "password", "passwd", "credential", "connection_string")

#: The environment variable that makes stores send their secret options to workers.
SHIP_CREDENTIALS_ENV = "CAIRN_SHIP_CREDENTIALS"


def _is_secret(name: object) -> bool:
    lowered = str(name).lower()
    return any(word in lowered for word in SECRET_WORDS)


def shareable_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` without the entries that hold secrets (by name, nested dicts included):
    what may travel to workers and be written down."""
    out: dict[str, Any] = {}
    for name, value in options.items():
        if _is_secret(name):
            continue
        out[name] = shareable_options(value) if isinstance(value, Mapping) else value
    return out


def _ship_from_env() -> bool:
    return os.environ.get(SHIP_CREDENTIALS_ENV, "").strip().lower() in ("1", "true", "yes")


class FsspecStore:
    """Any fsspec file system (``memory://``, ``s3://``, ``gs://``, ...) rooted at a URL.

    Each object is written with a single put of its whole content (built in memory first),
    so readers never see a partial object and nothing temporary is created, whether the
    write succeeds or fails. Existence checks bypass fsspec's listings cache, because other
    runners write to the same store.

    Pickled (to travel to a worker), it keeps only :func:`shareable_options`, unless
    ``ship_credentials`` (default: ``CAIRN_SHIP_CREDENTIALS=1`` in the environment).
    """

    def __init__(
        self,
        url: str,
        storage_options: dict[str, Any] | None = None,
        *,
        ship_credentials: bool | None = None,
    ) -> None:
        import fsspec

        self.url = url.rstrip("/")
        self.storage_options = dict(storage_options or {})
        self.ship_credentials = _ship_from_env() if ship_credentials is None else ship_credentials
        protocol = self.url.partition("://")[0]
        try:
            self.fs, root = fsspec.core.url_to_fs(self.url, **self.storage_options)
        except ImportError as exc:
            raise _missing_filesystem(self.url, protocol, exc) from exc
        except ValueError as exc:
            raise StoreError(
                f"cannot open the workspace {url!r}: {exc}. Use a local path or an fsspec "
                "URL such as memory://name, s3://bucket/prefix or gs://bucket/prefix."
            ) from exc
        except Exception as exc:
            raise StoreError(f"cannot open the workspace {url!r}: {exc}. {_ADVICE}") from exc
        self.root: str = root.rstrip("/")

    def __reduce__(self) -> tuple[Any, ...]:
        if self.ship_credentials:
            return (_fsspec_store, (self.url, self.storage_options, True))
        return (_fsspec_store, (self.url, shareable_options(self.storage_options), False))

    def __repr__(self) -> str:
        return f"FsspecStore({self.url!r})"

    def _full(self, path: str) -> str:
        return f"{self.root}/{path}" if self.root else path

    def _error(self, action: str, path: str, exc: Exception) -> CairnError:
        """Translate a file-system error raised while doing ``action`` to ``path``."""
        where = f"{path!r} in the workspace {self.url}"
        if isinstance(exc, CairnError):
            return exc
        if isinstance(exc, FileNotFoundError):
            return OutputNotFoundError(f"{where} does not exist ({exc})")
        if unreachable(exc):
            return StoreUnreachableError(
                f"the store did not answer when cairn tried to {action} {where} "
                f"({type(exc).__name__}: {exc}). Check that the endpoint is up and reachable "
                "from here (network, VPN, proxy) and the workspace URL and storage_options; "
                "when it answers again, build again to resume"
            )
        if isinstance(exc, PermissionError):
            return StoreError(
                f"permission denied to {action} {where} ({exc}). Check the credentials "
                "(the usual environment variables and config files of the file system's "
                "library, or storage_options) and that they allow this."
            )
        return StoreError(f"cannot {action} {where}: {type(exc).__name__}: {exc}. {_ADVICE}")

    @functools.cached_property
    def _own_isfile(self) -> bool:
        """True when the file system answers ``isfile`` itself rather than through ``info``
        (fsspec's memory file system does, in constant time, where its ``info`` and
        ``exists`` look at every object first: a build of N tasks would take N^2 steps)."""
        import fsspec.spec

        return type(self.fs).isfile is not fsspec.spec.AbstractFileSystem.isfile

    def exists(self, path: str) -> bool:
        # every path cairn asks about is a file: an object, never a directory
        full = self._full(path)
        try:
            self.fs.invalidate_cache(full)
            if self._own_isfile:
                return bool(self.fs.isfile(full))
            return bool(self.fs.exists(full))
        except Exception as exc:
            raise self._error("check", path, exc) from exc

    def open_read(self, path: str) -> BinaryIO:
        try:
            return io.BytesIO(self.fs.cat_file(self._full(path)))
        except Exception as exc:
            raise self._error("read", path, exc) from exc

    def write(
        self, path: str, writer: Writer, *, labels: Mapping[str, str] | None = None
    ) -> Written:
        staged = self.stage(path, writer, labels=labels)
        self.publish([staged])
        return staged.written

    def stage(
        self, path: str, writer: Writer, *, labels: Mapping[str, str] | None = None
    ) -> Staged:
        buffer = io.BytesIO()
        stream = _ChecksumWriter(buffer)
        writer(stream)  # type: ignore[arg-type]
        return Staged(
            path, stream.written(), data=buffer.getvalue(), metadata=self._metadata(labels)
        )

    def publish(self, staged: Sequence[Staged]) -> None:
        for each in staged:
            if each.data is None:
                raise StoreError(f"{each.path!r} was not staged in the workspace {self.url}")
            try:
                self.fs.pipe_file(self._full(each.path), each.data, **each.metadata)
            except FileNotFoundError as exc:
                raise StoreError(
                    f"cannot write {each.path!r}: the workspace {self.url} does not exist "
                    f"({exc}). Create it (the bucket, container or directory) first, or fix "
                    "the URL."
                ) from exc
            except Exception as exc:
                raise self._error("write", each.path, exc) from exc

    def discard(self, staged: Iterable[Staged]) -> None:
        """Nothing to do: staged objects are only in memory."""

    def committing(self, path: str) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    def write_bytes(self, path: str, data: bytes) -> Written:
        def writer(file: BinaryIO) -> None:
            file.write(data)

        return self.write(path, writer)

    @functools.cached_property
    def _metadata_capability(self) -> tuple[str, int] | None:
        for protocol in _protocols(self.fs):
            capability = OBJECT_METADATA.get(protocol)
            if capability is not None:
                return capability
        return None

    @property
    def keeps_labels(self) -> bool:
        """True when objects in this store carry metadata (S3, GCS), so labels are written."""
        return self._metadata_capability is not None

    @property
    def writes_are_local(self) -> bool:
        """True for file systems in this machine (memory, local files), not object stores."""
        return any(p in _LOCAL_PROTOCOLS for p in _protocols(self.fs))

    def _metadata(self, labels: Mapping[str, str] | None) -> dict[str, Any]:
        """The keyword this file system takes object metadata by, with ``labels`` trimmed to
        its size limit; nothing for file systems without object metadata.
        """
        capability = self._metadata_capability
        if not labels or capability is None:
            return {}
        keyword, limit = capability
        return {keyword: trim_labels(labels, limit)}

    def delete(self, path: str) -> None:
        try:
            self.fs.rm_file(self._full(path))
        except FileNotFoundError:
            pass
        except Exception as exc:
            raise self._error("delete", path, exc) from exc

    def size(self, path: str) -> int:
        full = self._full(path)
        try:
            self.fs.invalidate_cache(full)
            return int(self.fs.size(full))
        except Exception as exc:
            raise self._error("stat", path, exc) from exc

    def versions(self, folder: str) -> dict[str, Listed] | None:
        """One listing of ``folder``: each object's size and version (S3's ETag, GCS's
        generation). None when this file system's listings carry no version (``memory://``).

        Raises:
            StoreError: when the store cannot be listed.
        """
        full = self._full(folder) if folder else self.root
        try:
            self.fs.invalidate_cache(full)
            entries = self.fs.ls(full, detail=True)
        except FileNotFoundError:
            return {}
        except Exception as exc:
            raise self._error("list", folder or ".", exc) from exc
        cut = len(self.root) + 1 if self.root else 0
        found: dict[str, Listed] = {}
        for entry in entries:
            if entry.get("type") != "file":
                continue
            version = next((entry[k] for k in _VERSION_KEYS if entry.get(k)), None)
            if version is None:
                return None
            found[str(entry["name"])[cut:]] = (int(entry.get("size") or 0), str(version))
        return found

    def list(self, prefix: str = "") -> Iterator[str]:
        base = self._full(prefix) if prefix else self.root
        try:
            self.fs.invalidate_cache(base)
            found = self.fs.find(base)
        except FileNotFoundError:
            return
        except Exception as exc:
            raise self._error("list", prefix or ".", exc) from exc
        cut = len(self.root) + 1 if self.root else 0
        for full in found:
            yield full[cut:]


def _fsspec_store(url: str, options: dict[str, Any], ship: bool) -> FsspecStore:
    """Rebuild a pickled :class:`FsspecStore` (on a worker: with the options it was sent)."""
    return FsspecStore(url, options, ship_credentials=ship)


#: Object metadata by fsspec protocol: the keyword ``pipe_file`` passes it by, and the
#: store's limit in bytes (S3: 2 KiB of user metadata; GCS: 8 KiB). A file system not listed
#: has no object metadata, and labels are not written.
OBJECT_METADATA: dict[str, tuple[str, int]] = {
    "s3": ("Metadata", 2048),
    "s3a": ("Metadata", 2048),
    "gs": ("metadata", 8192),
    "gcs": ("metadata", 8192),
}


#: fsspec protocols whose writes stay in this machine
_LOCAL_PROTOCOLS = frozenset({"memory", "file", "local"})


def _protocols(fs: Any) -> tuple[str, ...]:
    protocol = fs.protocol
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)


def trim_labels(labels: Mapping[str, str], limit: int) -> dict[str, str]:
    """Keep ``labels`` (ASCII) within ``limit`` bytes of keys and values, in order, cutting
    the last value that does not fit (with a trailing ``...``) and dropping the rest.
    """
    out: dict[str, str] = {}
    used = 0
    for key, value in labels.items():
        text = str(value).encode("ascii", "backslashreplace").decode("ascii")
        room = limit - used - len(key)
        if room <= 3:
            break
        if len(text) > room:
            text = text[: room - 3] + "..."
        out[key] = text
        used += len(key) + len(text)
    return out


#: Exceptions of file-system libraries (botocore, aiohttp, urllib3, google-auth) that mean
#: the endpoint did not answer, by class name: matching names keeps those libraries unimported.
_UNREACHABLE_NAMES = frozenset(
    {
        "ConnectionError",
        "EndpointConnectionError",
        "ConnectTimeoutError",
        "ReadTimeoutError",
        "ConnectTimeout",
        "ReadTimeout",
        "ClientConnectorError",
        "ClientOSError",
        "ServerDisconnectedError",
        "ServerTimeoutError",
        "NewConnectionError",
        "MaxRetryError",
        "TransportError",
    }
)


def unreachable(exc: BaseException) -> bool:
    """True when ``exc`` (or an exception it was raised from) says the store did not
    answer: a refused, reset or timed-out connection."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ConnectionError | TimeoutError):
            return True
        if any(cls.__name__ in _UNREACHABLE_NAMES for cls in type(current).__mro__):
            return True
        current = current.__cause__ or current.__context__
    return False


def is_temporary(name: str) -> bool:
    """True for the file name of an atomic write in progress: ``.{name}.{token}.tmp``."""
    return name.startswith(".") and name.endswith(".tmp")


def stale_temporaries(store: Store, older_than: float) -> list[str]:
    """Temporary files of atomic writes last changed before ``older_than`` (a
    ``time.time()``), workspace-relative: left by writes killed before they finished.

    Only a local store makes temporary files; any other has none.
    """
    if not isinstance(store, LocalStore):
        return []
    root = os.path.realpath(store.root)
    found: list[str] = []
    for directory, _dirs, files in os.walk(root):
        for name in files:
            if not is_temporary(name):
                continue
            full = os.path.join(directory, name)
            with contextlib.suppress(OSError):
                if os.lstat(full).st_mtime < older_than:
                    found.append(os.path.relpath(full, root).replace(os.sep, "/"))
    return sorted(found)


def check_writable(store: Store) -> None:
    """Write one small object to ``store`` before anything runs.

    A missing bucket, a read-only or full disk, or missing permissions then stop a build at
    its start, with nothing run, instead of failing every task after its ``run()``. The
    object has a fixed name (``.cairn/writable``) and is overwritten by the next build, so
    the check needs no right to delete (a bucket may grant writes only).

    Raises:
        StoreError: when the object cannot be written.
    """
    try:
        store.write_bytes(".cairn/writable", b"cairn checks that the workspace is writable\n")
    except CairnError as exc:
        kind = type(exc) if isinstance(exc, StoreError) else StoreError
        raise kind(
            f"the workspace {store.url} cannot be written, so nothing was run: {exc}"
        ) from exc


def open_store(workspace: str, storage_options: dict[str, Any] | None = None) -> Store:
    """Open the store for a workspace path or fsspec URL."""
    if "://" in workspace and not workspace.startswith("file://"):
        return FsspecStore(workspace, storage_options)
    if workspace.startswith("file://"):
        workspace = workspace[len("file://") :]
    if "\0" in workspace:
        raise StoreError(
            f"the workspace path {workspace!r} contains a NUL character; give a plain path"
        )
    if os.path.exists(workspace) and not os.path.isdir(workspace):
        raise StoreError(
            f"the workspace {workspace!r} is a file, not a directory; give a directory "
            "(it is created when missing)"
        )
    return LocalStore(workspace)
