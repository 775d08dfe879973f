"""Whether stored outputs are the bytes their run record describes.

A run record keeps each output's byte size and CRC-32 (``crc32:xxxxxxxx``, computed by the
store as it wrote). :func:`check_size` compares the size only (one stat: cheap enough for
every plan); :func:`verify_file` reads the bytes through the same fast CRC the store writes
with. Both return what is wrong as text, or None when the output matches.

Reading a large output only to find it unchanged costs as much as loading it, so a large
local file (:data:`WORTH_STAMPING` and more) is also known by its *stamp*: device, inode,
size, and modification and change times, which every write changes (the change time cannot
be set back by hand). A run record keeps the stamp each large local output had when it was
published (:func:`stamp_outputs`), and a process remembers the stamps of the files it
checked whole; a file that still has such a stamp is not read again. A copy of the
workspace (new inodes) is read again, once per process. ``cairn verify`` always reads.
"""

from __future__ import annotations

import io
import os
import zlib
from typing import Any, BinaryIO

from cairn._errors import CairnError, OutputNotFoundError
from cairn.storage.store import LocalStore, Store, contained, crc32_function

__all__ = [
    "MISSING",
    "WORTH_STAMPING",
    "check_size",
    "checksum_of",
    "output_problem",
    "stamp_outputs",
    "verify_file",
]

_CHUNK = 8 << 20
_FIRST = 64 << 10

#: What :func:`check_size` and :func:`output_problem` say of an output that is not there.
MISSING = "it is missing"


def checksum_of(file: BinaryIO) -> tuple[int, str]:
    """Size and checksum (``crc32:xxxxxxxx``) of what ``file`` holds from where it is."""
    getbuffer = getattr(file, "getbuffer", None)
    if getbuffer is not None and file.tell() == 0:  # in memory already: one pass, no copy
        view = getbuffer()
        try:
            return len(view), f"crc32:{crc32_function()(view, 0):08x}"
        finally:
            view.release()
    # A small file is read whole in one call. The first read asks for little: a read of
    # _CHUNK would allocate (and map, then unmap) 8 MiB for a file of a few bytes. zlib's
    # CRC (the same values) takes a microsecond there, less than importing the fast one.
    first = file.read(_FIRST)
    size = len(first)
    if size < _FIRST:
        return size, f"crc32:{zlib.crc32(first):08x}"
    update = crc32_function()
    crc = update(first, 0)
    buffer = bytearray(_CHUNK)  # a large one through one reused buffer
    view = memoryview(buffer)
    while True:
        n = file.readinto(view)  # type: ignore[attr-defined]
        if not n:
            break
        crc = update(view[:n], crc)
        size += n
    return size, f"crc32:{crc:08x}"


def _expected(entry: Any) -> tuple[int | None, str | None]:
    if not isinstance(entry, dict):
        return None, None
    size = entry.get("size")
    checksum = entry.get("checksum")
    return (
        size if isinstance(size, int) and not isinstance(size, bool) else None,
        checksum if isinstance(checksum, str) and checksum.startswith("crc32:") else None,
    )


def check_size(store: Store, path: str, entry: Any) -> str | None:
    """What is wrong with the size of the output at ``path`` (its record ``entry``), or None."""
    size, _ = _expected(entry)
    try:
        actual = store.size(path)
    except OutputNotFoundError:
        return MISSING
    if size is not None and actual != size:
        return f"it has {actual} bytes where its run record says {size}"
    return None


def verify_file(file: BinaryIO, entry: Any, *, recent: bool = False) -> str | None:
    """What is wrong with the bytes of ``file`` against its record ``entry``, or None.

    The file is read to its end; seek back before reading it again. With ``recent``, a
    large local file that still has the stamp its record keeps, or one this process
    checked whole already and that has not changed since, is not read again: a plan
    checks what it reuses and the build then loads it, and a new process would read a
    frame twice only to find it as it was written. ``cairn verify`` always reads.
    """
    size, checksum = _expected(entry)
    if size is None and checksum is None:
        return None
    # (a small file is read again: no fstat for it on every load)
    large = size is None or size >= WORTH_STAMPING
    stamp = _stamp(file) if recent and large else None
    key = (getattr(file, "name", None), size, checksum)
    if stamp is not None and (_checked.get(key) == stamp or _recorded(entry) == stamp):
        return None
    actual_size, actual = checksum_of(file)
    if size is not None and actual_size != size:
        return f"it has {actual_size} bytes where its run record says {size}"
    if checksum is not None and actual != checksum:
        return f"its checksum is {actual} where its run record says {checksum}"
    if stamp is not None and stamp[2] >= WORTH_STAMPING:
        _remember(key, stamp)
    return None


#: Large local files checked whole by this process: (name, size, checksum) -> stamp.
_checked: dict[tuple[Any, Any, Any], tuple[int, ...]] = {}
_CHECKS_KEPT = 4096
#: Smaller files are read again: that costs less than it saves to know them by stamp.
WORTH_STAMPING = 1 << 20


def _remember(key: tuple[Any, Any, Any], stamp: tuple[int, ...]) -> None:
    if len(_checked) >= _CHECKS_KEPT:
        del _checked[next(iter(_checked))]  # the oldest
    _checked[key] = stamp


def _stamp(file: BinaryIO) -> tuple[int, ...] | None:
    """What changes whenever a local file's bytes do (None for a file not on a disk)."""
    try:
        st = os.fstat(file.fileno())
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return None
    return _of(st)


def _of(st: os.stat_result) -> tuple[int, ...]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _recorded(entry: dict[str, Any]) -> tuple[int, ...] | None:
    """The stamp a run record keeps for an output (``dev:ino:size:mtime:ctime``), or None."""
    text = entry.get("stamp")
    if not isinstance(text, str):
        return None
    try:
        return tuple(int(part) for part in text.split(":"))
    except ValueError:
        return None


def stamp_outputs(store: Store, outputs: dict[str, Any]) -> None:
    """Add to each large output of a run record (``outputs``: key -> entry) the stamp its
    file has now, in a local store. Called right after the outputs are published, while
    their bytes are the ones the entries' checksums were computed from.

    A write into the file in the same tick of the file system's clock (a few milliseconds)
    that keeps its size would go unseen by the stamp; ``cairn verify`` reads every byte.
    """
    if not isinstance(store, LocalStore):
        return
    for entry in outputs.values():
        size = entry.get("size")
        path = entry.get("path")
        if not isinstance(size, int) or size < WORTH_STAMPING or not isinstance(path, str):
            continue
        inside = contained(store, path)
        if inside is None:
            continue
        try:
            st = os.stat(os.path.join(store.root, inside))
        except OSError:
            continue
        if st.st_size == size:
            entry["stamp"] = ":".join(map(str, _of(st)))


def output_problem(
    store: Store, path: str, entry: Any, *, deep: bool, recent: bool = False
) -> str | None:
    """What is wrong with the output at ``path``: its size, and with ``deep`` its checksum
    (``recent``: see :func:`verify_file`)."""
    problem = check_size(store, path, entry)
    if problem is not None or not deep:
        return problem
    try:
        with store.open_read(path) as file:
            return verify_file(file, entry, recent=recent)
    except OutputNotFoundError:
        return MISSING
    except CairnError as exc:
        return f"it cannot be read ({exc})"
