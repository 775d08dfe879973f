"""NumPy formats: ``.npy`` (one array) and ``.npz`` (a dict of named arrays, or one array).

Arrays of Python objects are refused (they would need pickle inside the file); use ``.pkl``
for those.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, BinaryIO

from cairn._errors import FormatError
from cairn.formats import BaseFormat
from cairn.formats._basic import written_as
from cairn.formats._frames import require

__all__ = ["NPY", "NPZ", "NpyFormat", "NpzFormat"]


def _numpy(extension: str) -> Any:
    return require("numpy", "numpy", f"the {extension} format")


def _check_array(np: Any, value: Any, what: str) -> Any:
    if not isinstance(value, np.ndarray):
        raise FormatError(
            f"{what} must be a numpy array, not {type(value).__qualname__}; "
            "convert it with numpy.asarray(...) or use .pkl"
        )
    if value.dtype.hasobject:
        raise FormatError(
            f"{what} holds Python objects (dtype {value.dtype}), which .npy/.npz cannot store "
            "without pickle; use a .pkl target"
        )
    return value


class NpyFormat(BaseFormat):
    """One numpy array, in NumPy's ``.npy`` format (no pickle)."""

    def dump(self, obj: Any, file: BinaryIO) -> None:
        np = _numpy(".npy")
        np.save(file, _check_array(np, obj, "a .npy output"), allow_pickle=False)

    def load(self, file: BinaryIO) -> Any:
        return _numpy(".npy").load(file, allow_pickle=False)


#: the name a bare array is stored under in a ``.npz`` (gokart's choice, so its files read)
ARRAY_KEY = "data"


class NpzFormat(BaseFormat):
    """A dict of named numpy arrays, or one array, in NumPy's ``.npz`` format (zip,
    uncompressed).

    A dict loads back as a plain dict of arrays; a bare array is stored under the name
    ``"data"`` and loads back as the array (the run record says which was written).
    """

    records_kind = True

    def dump(self, obj: Any, file: BinaryIO) -> None:
        np = _numpy(".npz")
        if isinstance(obj, np.ndarray):
            obj = {ARRAY_KEY: obj}
        if not isinstance(obj, Mapping) or not all(isinstance(k, str) for k in obj):
            raise FormatError(
                f"a .npz output takes a numpy array or a dict of name -> numpy array, not "
                f"{type(obj).__qualname__}; convert it with numpy.asarray(...) or use .pkl"
            )
        arrays = {k: _check_array(np, v, f"entry {k!r} of the .npz output") for k, v in obj.items()}
        np.savez(file, allow_pickle=False, **arrays)

    def load(self, file: BinaryIO) -> Any:
        with _numpy(".npz").load(file, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}

    def load_as(self, file: BinaryIO, kind: str | None) -> Any:
        """Read the arrays; the bare array itself when the run record says one was written."""
        arrays = self.load(file)
        if written_as(kind) == ("numpy", "ndarray") and list(arrays) == [ARRAY_KEY]:
            return arrays[ARRAY_KEY]
        return arrays


NPY = NpyFormat()
NPZ = NpzFormat()
