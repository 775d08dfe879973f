"""Image formats: ``.png`` and ``.jpg``/``.jpeg``.

Dump encoded image bytes as they are (checked to be that kind of image), or, with Pillow
installed, a ``PIL.Image.Image`` or a numpy array of pixels (encoded by Pillow). Loads give a
``PIL.Image.Image`` when Pillow is installed, else the file's bytes.
"""

from __future__ import annotations

import io
import sys
from typing import Any, BinaryIO

from cairn._errors import FormatError
from cairn.formats import BaseFormat
from cairn.formats._frames import require

__all__ = ["JPEG", "PNG", "ImageFormat"]


class ImageFormat(BaseFormat):
    """Images of one kind (``"PNG"`` or ``"JPEG"``), as bytes or Pillow images."""

    def __init__(self, kind: str, magic: bytes, extension: str) -> None:
        self.kind = kind
        self.magic = magic
        self.extension = extension

    def __repr__(self) -> str:
        return f"ImageFormat({self.kind!r})"

    def dump(self, obj: Any, file: BinaryIO) -> None:
        if isinstance(obj, bytes | bytearray | memoryview):
            data = bytes(obj)
            if not data.startswith(self.magic):
                raise FormatError(
                    f"the bytes dumped to a {self.extension} target are not a {self.kind} "
                    f"image (they start with {data[:8]!r}); encode the image as {self.kind} "
                    "first, or dump a PIL image"
                )
            file.write(data)
            return
        image = self._as_image(obj)
        buffer = io.BytesIO()  # Pillow's encoders may seek; the store's stream cannot
        try:
            image.save(buffer, format=self.kind)
        except OSError as exc:
            hint = (
                " (JPEG has no alpha channel: image.convert('RGB') first)"
                if (self.kind == "JPEG")
                else ""
            )
            raise FormatError(f"cannot write this image as {self.kind}: {exc}{hint}") from None
        file.write(buffer.getbuffer())

    def _as_image(self, obj: Any) -> Any:
        pil = sys.modules.get("PIL.Image")
        if pil is not None and isinstance(obj, pil.Image):
            return obj
        numpy = sys.modules.get("numpy")
        if numpy is not None and isinstance(obj, numpy.ndarray):
            image_module = require("PIL.Image", "images", f"writing arrays as {self.extension}")
            try:
                return image_module.fromarray(obj)
            except (TypeError, ValueError) as exc:
                raise FormatError(
                    f"cannot make a {self.kind} image of an array of shape {obj.shape} and "
                    f"dtype {obj.dtype}: {exc}"
                ) from None
        raise FormatError(
            f"a {self.extension} target takes {self.kind} bytes, a PIL image or a numpy "
            f"array of pixels, not {type(obj).__qualname__}"
        )

    def load(self, file: BinaryIO) -> Any:
        data = file.read()
        try:
            from PIL import Image
        except ImportError:
            return data
        image = Image.open(io.BytesIO(data))
        image.load()
        return image


PNG = ImageFormat("PNG", b"\x89PNG\r\n\x1a\n", ".png")
JPEG = ImageFormat("JPEG", b"\xff\xd8\xff", ".jpg")
