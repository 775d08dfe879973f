"""Headless Chromium driven over the DevTools protocol, for tests of pages cairn serves.

Started by the test when ``chromium`` is installed, else the test is skipped with a printed
reason (see ``conftest.require_program``). One page per browser; the window size is set per
test (1400x900, 800x600).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

__all__ = ["Browser"]


class Browser:
    """One headless Chromium with one page, over its DevTools WebSocket."""

    def __init__(self, executable: str, profile: Path, width: int = 1400, height: int = 900):
        import websocket

        self.process = subprocess.Popen(
            [
                executable,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                "--remote-debugging-port=0",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and len(port_file.read_text().split()) >= 2):
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.close()
                raise RuntimeError("chromium did not start its DevTools endpoint")
            time.sleep(0.05)
        port, path = port_file.read_text().split()[:2]
        self.ws = websocket.create_connection(f"ws://127.0.0.1:{port}{path}", timeout=60)
        self.next_id = 0
        self.events: list[dict[str, Any]] = []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable", session=True)
        self.resize(width, height)

    def resize(self, width: int, height: int) -> None:
        self.call(
            "Emulation.setDeviceMetricsOverride",
            session=True,
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )

    def call(self, method: str, session: bool = False, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        self.ws.send(json.dumps(message))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def navigate(self, url: str) -> None:
        """Go to ``url``; wait for the load, unless only the fragment changed (then the page
        stays and only its hash changes, as for a user following a link)."""
        seen = len(self.events)
        result = self.call("Page.navigate", session=True, url=url)
        if result.get("loaderId"):
            self.wait_for("Page.loadEventFired", after=seen)

    def wait_for(self, method: str, timeout: float = 30, after: int = 0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        seen = after
        while time.monotonic() < deadline:
            for event in self.events[seen:]:
                if event.get("method") == method:
                    return event
            seen = len(self.events)
            self.ws.settimeout(max(deadline - time.monotonic(), 0.1))
            try:
                self.events.append(json.loads(self.ws.recv()))
            finally:
                self.ws.settimeout(60)
        raise TimeoutError(method)

    def evaluate(self, expression: str, *, wait: bool = True) -> Any:
        result = self.call(
            "Runtime.evaluate",
            session=True,
            expression=expression,
            returnByValue=True,
            awaitPromise=wait,
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression[:80]}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def until(self, expression: str, timeout: float = 30) -> Any:
        """Evaluate ``expression`` until it is truthy; return its value (an element comes
        back as an empty dict, which is falsy: ask ``!!element``)."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"still false after {timeout}s: {expression}")
            time.sleep(0.1)

    def click(self, x: float, y: float) -> None:
        for kind in ("mousePressed", "mouseReleased"):
            self.call(
                "Input.dispatchMouseEvent",
                session=True,
                type=kind,
                x=x,
                y=y,
                button="left",
                clickCount=1,
            )

    def click_selector(self, selector: str) -> None:
        """Scroll to the first element ``selector`` matches and click its middle, as a user
        does."""
        box = self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)}); if (!e) "
            "return null; e.scrollIntoView({block: 'center', inline: 'center'}); "
            "const b = e.getBoundingClientRect(); "
            "return [b.x + b.width / 2, b.y + b.height / 2]; })()"
        )
        if box is None:
            raise LookupError(f"nothing matches {selector}")
        self.click(*box)

    def screenshot(self, path: Path) -> bytes:
        shot = self.call("Page.captureScreenshot", session=True, format="png")
        data = base64.b64decode(shot["data"])
        path.write_bytes(data)
        return data

    def problems(self) -> list[str]:
        """Console errors and warnings, uncaught exceptions, and requests leaving 127.0.0.1."""
        found = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                found.append(f"exception: {params['exceptionDetails']}")
            elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "warning"):
                found.append(f"console {params['type']}: {params['args']}")
            elif method == "Log.entryAdded" and params["entry"]["level"] in ("error", "warning"):
                found.append(f"log: {params['entry']['text']}")
            elif method == "Network.requestWillBeSent":
                url = params["request"]["url"]
                host = urlparse(url).hostname
                if not url.startswith(("data:", "about:", "file:")) and host != "127.0.0.1":
                    found.append(f"network request: {url}")
        return found

    def requests(self) -> list[str]:
        """Every URL the page asked for."""
        return [
            e["params"]["request"]["url"]
            for e in self.events
            if e.get("method") == "Network.requestWillBeSent"
        ]

    def close(self) -> None:
        if getattr(self, "ws", None) is not None:
            with contextlib.suppress(Exception):
                self.call("Browser.close")
            self.ws.close()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)
