"""Content fingerprints of files that live outside the store (``ExternalFile``,
``FileParameter``).

A raw input (a CSV someone drops in place, a file on S3) counts in the ids of the tasks that
read it by a fingerprint of its *content*, so replacing it reruns exactly its readers and
touching it without changing it reruns nothing.

- Local paths: a BLAKE2b hash of the bytes, cached by (path, size, modification time) in
  memory and on disk (``$CAIRN_CACHE_DIR``, else ``$XDG_CACHE_HOME/cairn``, else
  ``~/.cache/cairn``), so an unchanged file is not read again, even by a new process.
- fsspec URLs (``s3://``, ``gs://``, ``memory://``, ...): the store's own checksum when it
  offers one (S3 ETag, GCS md5/crc32c); otherwise the bytes are hashed, cached by size and
  modification time for the life of the process.

A file that does not exist has no fingerprint (``None``); the plan reports it, naming the task
that needs it.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import threading
from typing import Any

from cairn.identity.canonical import digest

__all__ = [
    "cache_dir",
    "content_fingerprint",
    "file_exists",
    "is_url",
    "save_cache_entry",
    "temporary_name",
]

_CHECKSUM_KEYS = ("ETag", "etag", "md5Hash", "md5", "crc32c", "checksum", "sha256")
_CHUNK = 1 << 20

_memory: dict[tuple[Any, ...], str] = {}
_lock = threading.Lock()


_counter = itertools.count()
_token: tuple[int, str] = (-1, "")  # (process id, random bits drawn in that process)


def _process_token() -> str:
    """``{pid}-{random}``, drawn again in a process whose id changed (a forked worker)."""
    global _token
    pid = os.getpid()
    if _token[0] != pid:
        _token = (pid, f"{pid:x}-{os.urandom(4).hex()}")
    return _token[1]


def temporary_name(path: str) -> str:
    """A hidden name beside ``path`` for writing it atomically (write, then rename).

    Unique per process and per write: the process id is read at every call (a module-level
    token would be shared by every worker forked from one parent), random bits drawn once
    per process tell apart processes that reuse an id, and a counter tells apart writes in
    one process, on any thread.
    """
    directory, base = os.path.split(path)
    token = f"{_process_token()}-{next(_counter):x}"
    # a name near the file system's limit (255 bytes) keeps a shortened base: still unique
    room = 255 - len(token) - 6
    if len(base) * 4 > room:  # it may be too long (a character is at most 4 bytes)
        while len(base.encode("utf-8", "surrogatepass")) > room:
            base = base[: max(0, min(len(base) - 1, room))]
    return os.path.join(directory, f".{base}.{token}.tmp")


def is_url(path: str) -> bool:
    """True for an fsspec URL other than ``file://``."""
    return "://" in path and not path.startswith("file://")


def _local(path: str) -> str:
    return os.path.abspath(
        os.path.expanduser(path[len("file://") :] if path.startswith("file://") else path)
    )


def cache_dir(kind: str) -> str | None:
    """The folder of the user's cache that keeps ``kind`` (``$CAIRN_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/cairn``, else ``~/.cache/cairn``); None when ``CAIRN_CACHE_DIR`` is
    ``off``: then nothing is kept on disk."""
    base = os.environ.get("CAIRN_CACHE_DIR")
    if base and base.lower() in _OFF:
        return None
    if not base:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        base = os.path.join(xdg, "cairn")
    return os.path.join(base, kind)


#: What ``CAIRN_CACHE_DIR`` is set to when no cache should be kept on disk.
_OFF = ("off", "0", "false", "no", "none")


def _hash_stream(stream: Any) -> str:
    h = hashlib.blake2b(digest_size=16)
    while chunk := stream.read(_CHUNK):
        h.update(chunk)
    return h.hexdigest()


def _local_fingerprint(path: str) -> str | None:
    full = _local(path)
    try:
        st = os.stat(full)
    except FileNotFoundError:
        return None
    key = ("local", full, st.st_size, st.st_mtime_ns)
    found = _memory.get(key)
    if found is not None:
        return found
    folder = cache_dir("file-digests")
    entry = os.path.join(folder, digest(full) + ".json") if folder is not None else ""
    try:
        with open(entry, encoding="utf-8") as file:
            saved = json.load(file)
        if saved.get("size") == st.st_size and saved.get("mtime_ns") == st.st_mtime_ns:
            found = str(saved["content"])
    except (OSError, ValueError, KeyError, AttributeError):
        found = None
    if found is None:
        with open(full, "rb") as file:
            found = "blake2b:" + _hash_stream(file)
        if entry:
            saved = {"path": full, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
            _save(entry, {**saved, "content": found})
    with _lock:
        _memory[key] = found
    return found


def _save(entry: str, data: dict[str, Any]) -> None:
    save_cache_entry(entry, json.dumps(data).encode())


def save_cache_entry(entry: str, data: bytes) -> None:
    """Write a cache entry atomically; a cache that cannot be written is only slower."""
    tmp = temporary_name(entry)
    try:
        os.makedirs(os.path.dirname(entry), exist_ok=True)
        with open(tmp, "wb") as file:
            file.write(data)
        os.replace(tmp, entry)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def _url_fingerprint(url: str, storage_options: dict[str, Any] | None) -> str | None:
    import fsspec

    fs, path = fsspec.core.url_to_fs(url, **(storage_options or {}))
    fs.invalidate_cache(path)  # another process may have replaced it since we last looked
    try:
        info = fs.info(path)
    except FileNotFoundError:
        return None
    if info.get("type") == "directory":
        return None
    for key in _CHECKSUM_KEYS:
        value = info.get(key)
        if value:
            return f"{key.lower()}:{str(value).strip(chr(34))}"
    stamp = (
        info.get("mtime") or info.get("LastModified") or info.get("created") or info.get("updated")
    )
    key_ = ("url", url, info.get("size"), str(stamp))
    found = _memory.get(key_) if stamp is not None else None
    if found is None:
        with fs.open(path, "rb") as file:
            found = "blake2b:" + _hash_stream(file)
        with _lock:
            _memory[key_] = found
    return found


def content_fingerprint(path: str, storage_options: dict[str, Any] | None = None) -> str | None:
    """A fingerprint of the content of the file at ``path`` (local path or fsspec URL).

    Returns None when the file does not exist.
    """
    if is_url(path):
        return _url_fingerprint(path, storage_options)
    return _local_fingerprint(path)


def file_exists(path: str, storage_options: dict[str, Any] | None = None) -> bool:
    """True when ``path`` (local path or fsspec URL) is an existing file."""
    if not is_url(path):
        return os.path.isfile(_local(path))
    import fsspec

    fs, inner = fsspec.core.url_to_fs(path, **(storage_options or {}))
    fs.invalidate_cache(inner)
    return bool(fs.isfile(inner))
