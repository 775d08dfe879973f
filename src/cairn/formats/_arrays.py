"""NumPy formats: ``.npy`` (one array) and ``.npz`` (a dict of named arrays).

Arrays of Python objects are refused (they would need pickle inside the file); use ``.pkl``
for those.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, BinaryIO

from cairn._errors import FormatError
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


class NpyFormat:
    """One numpy array, in NumPy's ``.npy`` format (no pickle)."""

    def dump(self, obj: Any, file: BinaryIO) -> None:
        np = _numpy(".npy")
        np.save(file, _check_array(np, obj, "a .npy output"), allow_pickle=False)

    def load(self, file: BinaryIO) -> Any:
        return _numpy(".npy").load(file, allow_pickle=False)


class NpzFormat:
    """A dict of named numpy arrays, in NumPy's ``.npz`` format (zip, uncompressed).

    Loads back as a plain dict of arrays.
    """

    def dump(self, obj: Any, file: BinaryIO) -> None:
        np = _numpy(".npz")
        if not isinstance(obj, Mapping) or not all(isinstance(k, str) for k in obj):
            raise FormatError(
                f"a .npz output takes a dict of name -> numpy array, not "
                f"{type(obj).__qualname__}; for one array use .npy"
            )
        arrays = {k: _check_array(np, v, f"entry {k!r} of the .npz output") for k, v in obj.items()}
        np.savez(file, allow_pickle=False, **arrays)

    def load(self, file: BinaryIO) -> Any:
        with _numpy(".npz").load(file, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}


NPY = NpyFormat()
NPZ = NpzFormat()
