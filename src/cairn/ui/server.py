"""The web server behind ``cairn ui``: pages and JSON from one workspace, on 127.0.0.1.

Standard library only (``ThreadingHTTPServer``). The page and its script and style are
package data (``assets/``) served from here, and a content security policy forbids every
other origin, so nothing leaves the machine. Routes:

- ``/``, ``/assets/{name}``: the page, its script and style;
- ``/api/overview``, ``/api/family/{family}``, ``/api/task/{id}``, ``/api/diff/{a}/{b}``,
  ``/api/graph/{id}``, ``/api/build/{id|latest}``, ``/api/preview/{id}/{key}``,
  ``/api/output/{id}/{key}``: JSON (the last: the stored bytes);
- ``/api/events/{build}?skip=N``: the build's events from the N-th on, as server-sent
  events, read from the build's event log (one small file) as it grows.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from cairn._errors import CairnError, OutputNotFoundError
from cairn.inspect.layout import COLOURS, asset
from cairn.inspect.workspace import WorkspaceView
from cairn.storage.builds import build_ids, read_build_events
from cairn.storage.store import Store

__all__ = ["EVENT_POLL_SECONDS", "UiServer", "make_server"]

log = logging.getLogger("cairn")

#: How often a live stream looks at its build's event log.
EVENT_POLL_SECONDS = 0.2
#: A live stream ends this long after its build finished or stopped writing events.
_IDLE_SECONDS = 3600.0

_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_ASSETS = {
    "app.js": ("ui", "text/javascript; charset=utf-8"),
    "app.css": ("ui", "text/css; charset=utf-8"),
    "graph.js": ("graph", "text/javascript; charset=utf-8"),
    "graph.css": ("graph", "text/css; charset=utf-8"),
}


def _ui_asset(name: str) -> str:
    return (resources.files("cairn.ui") / "assets" / name).read_text(encoding="utf-8")


class UiServer(ThreadingHTTPServer):
    """A threading HTTP server over one workspace's :class:`WorkspaceView`."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], store: Store) -> None:
        super().__init__(address, _Handler)
        self.store = store
        self.view = WorkspaceView(store)
        self.stopping = threading.Event()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT/``."""
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}/"

    def shutdown(self) -> None:
        self.stopping.set()
        super().shutdown()


def make_server(store: Store, host: str = "127.0.0.1", port: int = 8765) -> UiServer:
    """A server of ``store`` on ``host``:``port`` (0: any free port); call
    ``serve_forever()`` on it.

    Raises:
        CairnError: when the address cannot be bound (the port is taken).
    """
    try:
        return UiServer((host, port), store)
    except OSError as exc:
        raise CairnError(
            f"cannot serve on {host}:{port} ({exc.strerror or exc}); choose another port "
            "with --port (0 picks a free one)"
        ) from None


class _Handler(BaseHTTPRequestHandler):
    server: UiServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("ui: " + format, *args)

    # --- replies ------------------------------------------------------------------------
    def _send(
        self, status: int, body: bytes, kind: str, extra: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", _CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Cache-Control", "no-store")
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, data: Any, status: int = 200) -> None:
        body = json.dumps(data, default=str).encode()
        self._send(status, body, "application/json; charset=utf-8")

    def _error(self, status: int, message: str) -> None:
        self._json({"error": message}, status)

    # --- routes -------------------------------------------------------------------------
    def do_GET(self) -> None:
        url = urlparse(self.path)
        parts = [unquote(p) for p in url.path.split("/") if p]
        query = parse_qs(url.query)
        try:
            self._route(parts, query)
        except OutputNotFoundError as exc:
            self._error(HTTPStatus.NOT_FOUND, str(exc))
        except CairnError as exc:
            self._error(HTTPStatus.BAD_REQUEST, str(exc))
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as exc:  # a page shows the error; the server keeps serving
            log.exception("ui: %s failed", self.path)
            self._error(HTTPStatus.INTERNAL_SERVER_ERROR, f"{type(exc).__name__}: {exc}")

    do_HEAD = do_GET  # noqa: N815 - the name http.server calls

    def _route(self, parts: list[str], query: dict[str, list[str]]) -> None:
        view = self.server.view
        if not parts:
            self._send(200, _ui_asset("index.html").encode(), "text/html; charset=utf-8")
            return
        head, rest = parts[0], parts[1:]
        if head == "assets" and len(rest) == 1 and rest[0] in _ASSETS:
            where, kind = _ASSETS[rest[0]]
            text = _ui_asset(rest[0]) if where == "ui" else asset(rest[0])
            self._send(200, text.encode(), kind)
            return
        if head != "api" or not rest:
            self._error(HTTPStatus.NOT_FOUND, f"no page {self.path!r}")
            return
        what, args = rest[0], rest[1:]
        if what == "overview" and not args:
            self._json({**view.overview(), "colours": COLOURS})
        elif what == "family" and len(args) == 1:
            self._json(view.family_runs(args[0]))
        elif what == "task" and len(args) == 1:
            self._json(view.task(args[0]))
        elif what == "diff" and len(args) == 2:
            self._json(view.diff(args[0], args[1]))
        elif what == "graph" and len(args) == 1:
            self._json({**view.task_graph(args[0]), "colours": COLOURS})
        elif what == "build" and len(args) == 1:
            self._json({**view.build_graph(args[0]), "colours": COLOURS})
        elif what == "preview" and len(args) == 2:
            self._json(view.preview(args[0], args[1]))
        elif what == "output" and len(args) == 2:
            data, kind = view.output_bytes(args[0], args[1])
            self._send(200, data, kind)
        elif what == "events" and len(args) == 1:
            skip = int((query.get("skip") or ["0"])[0] or 0)
            self._events(args[0], max(skip, 0))
        else:
            self._error(HTTPStatus.NOT_FOUND, f"no API {self.path!r}")

    def _events(self, build_id: str, skip: int) -> None:
        """Stream the build's events from the ``skip``-th on, as they are logged."""
        store, view = self.server.store, self.server.view
        if build_id == "latest":
            ids = build_ids(store)
            build_id = ids[0] if ids else ""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Security-Policy", _CSP)
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        sent = skip
        quiet_since = time.monotonic()
        while not self.server.stopping.is_set():
            new = read_build_events(store, build_id, sent)
            for event in new:
                if event.get("event") == "succeeded" and event.get("id"):
                    view.forget(str(event["id"]))
                self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
            if new:
                sent += len(new)
                quiet_since = time.monotonic()
                self.wfile.flush()
                if any(e.get("event") == "build_finished" for e in new):
                    return
            elif time.monotonic() - quiet_since > _IDLE_SECONDS:
                return
            else:
                self.wfile.write(b": waiting\n\n")  # notices a page that went away
                self.wfile.flush()
            time.sleep(EVENT_POLL_SECONDS)
