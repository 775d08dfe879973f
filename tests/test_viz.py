"""Pictures of the graph: dot, mermaid, svg/png through Graphviz, and the self-contained HTML
page, which is loaded in a real headless Chromium driven through its DevTools protocol."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

import cairn
from cairn.viz import DOT_HINT
from conftest import require_program


class Raw(cairn.Task):
    source = cairn.Parameter(default="raw.csv")

    def run(self):
        self.logger.info("read %s", self.source)
        return [3, 1, 2]


class Clean(cairn.Task):
    raw = cairn.TaskParameter()
    note = cairn.Parameter(default='quotes " and <tags> & ampersands')

    def run(self):
        return sorted(self.load("raw"))


class Model(cairn.Task):
    clean = cairn.TaskParameter()
    depth = cairn.IntParameter(default=2)

    def run(self):
        return {"depth": self.depth, "n": len(self.load("clean"))}


class Report(cairn.Task):
    models = cairn.TaskListParameter()

    def run(self):
        return [m["n"] for m in self.load("models")]


def pipeline():
    clean = Clean(raw=Raw())
    return Report(models=[Model(clean=clean, depth=d) for d in (1, 2, 3)])


@pytest.fixture
def half_built(workspace):
    """Raw and Clean complete; the models and the report will run."""
    cairn.build(Clean(raw=Raw()))
    return cairn.graph(pipeline())


def test_graph_knows_every_task_its_state_edges_and_records(half_built):
    g = half_built
    assert len(g) == 6
    assert g.counts() == {"complete": 2, "will run": 4}
    assert len(g.edges) == 1 + 3 + 3
    raw = next(n for n in g.nodes if n.name == "Raw")
    assert raw.record is not None and raw.record["params"] == {"source": "raw.csv"}
    assert all(n.record is None for n in g.nodes if n.state == "will run")


def test_dot_output_colours_tasks_by_state_and_escapes_labels(half_built):
    dot = half_built.to_dot()
    assert dot.startswith("digraph cairn {") and dot.rstrip().endswith("}")
    assert dot.count("->") == 7
    assert '"#b7e1b5"' in dot and '"#ffe08a"' in dot
    assert 'quotes \\" and <tags>' in dot


def test_mermaid_output_has_every_task_and_escapes_labels(half_built):
    text = half_built.to_mermaid()
    assert text.startswith("flowchart LR")
    assert text.count("-->") == 7
    assert "#quot;" in text and "#lt;tags#gt;" in text
    assert "class t0 complete" in text


def test_svg_and_png_through_graphviz(half_built, tmp_path):
    require_program("dot")
    svg = half_built.save(tmp_path / "g.svg").read_text()
    assert "<svg" in svg and "Report" in svg
    png = half_built.save(tmp_path / "g.png").read_bytes()
    assert png.startswith(b"\x89PNG")


def test_svg_without_graphviz_says_how_to_install_it(half_built, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(cairn.MissingExtraError) as info:
        half_built.render("svg")
    assert DOT_HINT in str(info.value)


def test_unknown_formats_and_suffixes_are_refused(half_built, tmp_path):
    with pytest.raises(cairn.CairnError, match="unknown graph format"):
        half_built.render("jpeg")
    with pytest.raises(cairn.CairnError, match="format="):
        half_built.save(tmp_path / "g.jpeg")


def test_the_html_page_is_self_contained(half_built):
    page = half_built.to_html()
    assert "default-src 'none'" in page  # the page may not load anything
    for forbidden in ("<script src", "<link", "@import", "url(http", 'src="http'):
        assert forbidden not in page
    assert page.count('class="node"') == 6
    assert "<tags>" not in page  # escaped everywhere, also inside the embedded JSON


def test_jupyter_renders_inline_svg(half_built):
    html = half_built._repr_html_()
    assert "<svg" in html and html.count('class="node"') == 6 and "<script" not in html


# --- a real browser -----------------------------------------------------------------------
class Browser:
    """Headless Chromium driven over the DevTools protocol (one page)."""

    def __init__(self, executable: str, profile: Path) -> None:
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
                "--window-size=1200,700",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its helper processes share its group, ended in close()
        )
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and len(port_file.read_text().split()) >= 2):
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.close()
                raise RuntimeError("chromium did not start its DevTools endpoint")
            time.sleep(0.05)
        port, path = port_file.read_text().split()[:2]
        self.ws = websocket.create_connection(f"ws://127.0.0.1:{port}{path}", timeout=30)
        self.next_id = 0
        self.events: list[dict] = []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable", session=True)
        self.call(
            "Emulation.setDeviceMetricsOverride",
            session=True,
            width=1200,
            height=700,
            deviceScaleFactor=1,
            mobile=False,
        )

    def call(self, method: str, session: bool = False, **params):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params}
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

    def wait_for(self, method: str, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        seen = 0
        while time.monotonic() < deadline:
            for event in self.events[seen:]:
                if event.get("method") == method:
                    return event
            seen = len(self.events)
            self.events.append(json.loads(self.ws.recv()))
        raise TimeoutError(method)

    def evaluate(self, expression: str):
        result = self.call(
            "Runtime.evaluate", session=True, expression=expression, returnByValue=True
        )
        return result["result"].get("value")

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

    def problems(self) -> list[str]:
        """Console errors and warnings, uncaught exceptions, and any network request."""
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
                if not url.startswith(("file:", "data:", "about:")):
                    found.append(f"network request: {url}")
        return found

    def close(self) -> None:
        if getattr(self, "ws", None) is not None:
            with contextlib.suppress(Exception):
                self.call("Browser.close")
            self.ws.close()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)


@pytest.fixture
def browser(tmp_path):
    executable = require_program("chromium")
    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    chromium = Browser(executable, profile)
    yield chromium
    chromium.close()


@pytest.fixture
def page(half_built, tmp_path, browser):
    path = tmp_path / "graph.html"
    half_built.save(path)
    browser.call("Page.navigate", session=True, url=path.as_uri())
    browser.wait_for("Page.loadEventFired")
    return browser


def test_html_page_loads_in_chromium_without_errors_and_shows_every_task(page, half_built):
    assert page.problems() == []
    names = page.evaluate(
        "Array.from(document.querySelectorAll('#graph .node')).map("
        "n => [n.getAttribute('data-task-id'), n.getAttribute('data-state'), "
        "n.querySelector('text').textContent])"
    )
    assert sorted(names) == sorted([n.task_id, n.state, n.name] for n in half_built.nodes)
    visible = page.evaluate(
        "Array.from(document.querySelectorAll('#graph .node rect')).every(r => {"
        "const b = r.getBoundingClientRect(); return b.width > 100 && b.height > 20; })"
    )
    assert visible is True
    assert "complete: 2" in page.evaluate("document.querySelector('header').textContent")


def test_clicking_a_task_in_chromium_shows_its_run_record(page, half_built):
    raw = next(n for n in half_built.nodes if n.name == "Raw")
    box = page.evaluate(
        f"(() => {{ const b = document.querySelector('.node[data-task-id=\"{raw.task_id}\"]')"
        ".getBoundingClientRect(); return [b.x + b.width / 2, b.y + b.height / 2]; })()"
    )
    page.click(*box)
    details = page.evaluate("document.getElementById('details').textContent")
    for text in (raw.task_id, "raw.csv", "fingerprint", "read raw.csv", "python"):
        assert text in details
    model = next(n for n in half_built.nodes if n.name == "Model")
    page.evaluate(
        f"document.querySelector('.node[data-task-id=\"{model.task_id}\"]').dispatchEvent("
        "new MouseEvent('click', {bubbles: true}))"
    )
    details = page.evaluate("document.getElementById('details').textContent")
    assert "will run" in details and "No run record" in details
    assert page.problems() == []


def test_html_page_screenshot_shows_the_graph_coloured_by_state(page, tmp_path):
    from PIL import Image

    shot = page.call("Page.captureScreenshot", session=True, format="png")
    data = base64.b64decode(shot["data"])
    (tmp_path / "graph.png").write_bytes(data)  # kept in the test's directory, to look at
    image = Image.open(io.BytesIO(data)).convert("RGB")
    assert image.size == (1200, 700)
    colours = {colour for _, colour in image.getcolors(maxcolors=1_000_000)}
    assert (0xB7, 0xE1, 0xB5) in colours  # complete tasks are drawn green
    assert (0xFF, 0xE0, 0x8A) in colours  # tasks that will run, yellow
    green = sum(n for n, c in image.getcolors(maxcolors=1_000_000) if c == (0xB7, 0xE1, 0xB5))
    assert green > 2 * 100 * 25  # two whole boxes, not a sliver
