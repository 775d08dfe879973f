"""XML through the standard library's ElementTree: ``.xml``.

Dump an ``ElementTree`` or an ``Element`` (its root); load gives an ``ElementTree``. Parsing
uses expat, which refuses the entity-expansion attacks it knows; still, load XML only from
stores you trust.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any, BinaryIO

from cairn._errors import FormatError
from cairn.formats import BaseFormat

__all__ = ["XML", "XmlFormat"]


class XmlFormat(BaseFormat):
    """UTF-8 XML with a declaration."""

    def dump(self, obj: Any, file: BinaryIO) -> None:
        if isinstance(obj, ET.Element):
            obj = ET.ElementTree(obj)
        if not isinstance(obj, ET.ElementTree):
            raise FormatError(
                f"a .xml target takes an xml.etree.ElementTree.ElementTree or Element, not "
                f"{type(obj).__qualname__}"
            )
        obj.write(file, encoding="utf-8", xml_declaration=True)

    def load(self, file: BinaryIO) -> Any:
        try:
            return ET.parse(file)
        except ET.ParseError as exc:
            raise FormatError(f"the stored .xml is not well-formed XML: {exc}") from None


XML = XmlFormat()
