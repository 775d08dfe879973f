"""``cairn ui``: the workspace in a browser, served from this machine (see :mod:`.server`)."""

from cairn.ui.server import UiServer, make_server

__all__ = ["UiServer", "make_server"]
