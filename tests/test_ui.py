"""`cairn ui`: the server (JSON, headers, bad input) and its pages in a real headless
Chromium: no console errors, no request leaving 127.0.0.1, the results table sorts,
filters and compares, a click opens a task, the graph follows a build running in another
process, and the pages stay readable at 1400x900 and 800x600."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from _processes import run_cairn, run_python
from conftest import require_program

TASKS = textwrap.dedent(
    """
    import os
    import time

    import cairn


    class LoadData(cairn.Task):
        path = cairn.Parameter()

        def output(self):
            return self.make_target("data.csv")

        def run(self):
            import pandas as pd

            self.logger.info("reading %s", self.path)
            self.dump(pd.DataFrame({"x": [1, 2, 3], "label": ["a", "b", "c"]}))


    class Clean(cairn.Task):
        data = cairn.TaskParameter()
        min_count = cairn.IntParameter(default=5)

        def output(self):
            return self.make_target("clean.csv")

        def run(self):
            self.dump(self.load_data_frame("data"))


    class Features(cairn.Task):
        data = cairn.TaskParameter()
        kind = cairn.Parameter(default="basic")

        def run(self):
            return len(self.load("data"))


    class TrainModel(cairn.Task):
        features = cairn.TaskParameter()
        lr = cairn.FloatParameter(default=0.1)

        def run(self):
            if self.lr > 1:
                raise ValueError("the learning rate is far too large")
            self.log_metrics({"auc": round(0.9 - self.lr, 3), "f1": 0.7})
            return self.load("features") * self.lr


    class Evaluate(cairn.Task):
        models = cairn.TaskListParameter()

        def output(self):
            return self.make_target("summary.txt")

        def run(self):
            self.dump("best of %d models" % len(self.models))


    class Report(cairn.Task):
        evaluation = cairn.TaskParameter()
        data = cairn.TaskParameter()

        def output(self):
            return self.make_target("chart.png")

        def run(self):
            from PIL import Image

            self.dump(Image.new("RGB", (40, 20), (200, 40, 40)))


    class Slow(cairn.Task):
        step = cairn.IntParameter()
        seconds = cairn.FloatParameter(default=1.0)

        def requires(self):
            return Slow(step=self.step - 1, seconds=self.seconds) if self.step else []

        def run(self):
            time.sleep(self.seconds)
            return self.step


    def ten():
        clean = Clean(data=LoadData(path="train.csv"))
        features = [Features(data=clean), Features(data=clean, kind="rich")]
        models = [TrainModel(features=f, lr=lr) for f in features for lr in (0.05, 0.2)]
        return Report(evaluation=Evaluate(models=models), data=clean)


    def main(what):
        if what == "slow":
            cairn.build(Slow(step=3, seconds=float(os.environ.get("SLOW_SECONDS", "1"))))
        else:
            cairn.build(ten())
            try:
                data = Clean(data=LoadData(path="train.csv"))
                cairn.build(TrainModel(features=Features(data=data), lr=5.0))
            except cairn.BuildError:
                pass
    """
)


def _ids(cwd: Path, env: dict, code: str) -> dict:
    done = run_python("-c", f"import json, uitasks as t; print(json.dumps({code}))", cwd=cwd,
                      env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


class Ui:
    """``cairn ui --port 0`` in a child process, as a user starts it."""

    def __init__(self, cwd: Path, env: dict) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cairn", "ui", "--port", "0"],
            cwd=cwd,
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        line = self.process.stderr.readline()
        assert "serving" in line, line + self.process.stderr.read()
        self.url = line.split(" at ")[1].split()[0]

    def get(self, path: str) -> tuple[int, dict, bytes]:
        try:
            with urllib.request.urlopen(self.url.rstrip("/") + path, timeout=30) as reply:
                return reply.status, dict(reply.headers), reply.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("ui")
    (cwd / "uitasks.py").write_text(TASKS)
    env = {"CAIRN_WORKSPACE": str(cwd / "ws"), "PYTHONPATH": str(cwd)}
    done = run_python("-c", "import uitasks; uitasks.main('all')", cwd=cwd, env=env)
    assert done.returncode == 0, done.stderr
    ids = _ids(
        cwd,
        env,
        "{'root': t.ten().task_id, 'models': [m.task_id for m in t.ten().evaluation.models],"
        " 'data': t.ten().data.data.task_id, 'evaluate': t.ten().evaluation.task_id,"
        " 'failed': t.TrainModel(features=t.Features(data=t.ten().data), lr=5.0).task_id}",
    )
    return cwd, env, ids


@pytest.fixture(scope="module")
def ui(project):
    cwd, env, _ = project
    server = Ui(cwd, env)
    yield server
    server.stop()


# --- the server --------------------------------------------------------------------------
def test_the_server_binds_127_0_0_1_and_forbids_other_origins(ui):
    assert ui.url.startswith("http://127.0.0.1:")
    status, headers, body = ui.get("/")
    assert status == 200 and b"/assets/app.js" in body
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert "connect-src 'self'" in headers["Content-Security-Policy"]
    for name in ("app.js", "app.css", "graph.js", "graph.css"):
        status, _, text = ui.get(f"/assets/{name}")
        assert status == 200 and len(text) > 500
        assert b"http://" not in text and b"https://" not in text


def test_the_overview_lists_families_builds_and_failures(ui, project):
    _, _, ids = project
    status, _, body = ui.get("/api/overview")
    data = json.loads(body)
    assert status == 200
    by_name = {f["name"]: f for f in data["families"]}
    assert by_name["TrainModel"]["runs"] == 5
    assert by_name["TrainModel"]["failed"] == 1 and by_name["TrainModel"]["complete"] == 4
    assert by_name["LoadData"]["bytes"] > 0
    assert data["tasks"] == 11
    assert [f["task_id"] for f in data["failures"]] == [ids["failed"]]
    assert "far too large" in data["failures"][0]["summary"]
    assert len(data["builds"]) == 2 and data["builds"][-1]["tasks"] == 10


def test_the_api_says_what_was_wrong_for_unknown_tasks_and_pages(ui):
    status, _, body = ui.get("/api/task/0123456789abcdef")
    assert status == 404 and "holds no run of task" in json.loads(body)["error"]
    status, _, body = ui.get("/api/nothing")
    assert status == 404 and "no API" in json.loads(body)["error"]
    status, _, body = ui.get("/api/build/20000101T000000.000000Z-1-abcd")
    assert status == 404 and "no build" in json.loads(body)["error"]


def test_a_diff_of_two_runs_names_what_differs(ui, project):
    _, _, ids = project
    a, b = ids["models"][0], ids["models"][3]
    status, _, body = ui.get(f"/api/diff/{a}/{b}")
    diff = json.loads(body)
    assert status == 200
    params = {row[0]: row for row in diff["sections"]["parameters"]}
    assert params["lr"][1:] == [0.05, 0.2, True]
    assert params["features.kind"][1:] == ["basic", "rich", True]
    assert params["features.data.min_count"][3] is False
    metrics = {row[0]: row for row in diff["sections"]["metrics"]}
    assert metrics["auc"][3] is True and metrics["f1"][3] is False
    assert any(row[3] for row in diff["sections"]["inputs"])


def test_cairn_ui_on_a_port_in_use_exits_2_saying_choose_another(ui, project):
    cwd, env, _ = project
    port = ui.url.rstrip("/").rpartition(":")[2]
    done = run_cairn("ui", "--port", port, cwd=cwd, env=env, timeout=30)
    assert done.returncode == 2
    assert f"cannot serve on 127.0.0.1:{port}" in done.stderr and "--port" in done.stderr


# --- in a real browser -------------------------------------------------------------------
@pytest.fixture
def browser(tmp_path):
    from _browser import Browser

    executable = require_program("chromium")
    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    chromium = Browser(executable, profile, 1400, 900)
    yield chromium
    chromium.close()


def _open(browser, ui, page: str, ready: str) -> None:
    browser.navigate(ui.url + page)
    browser.until(f"!!({ready})")


def test_pages_load_without_console_errors_or_requests_leaving_the_machine(browser, ui, project):
    _, _, ids = project
    pages = [
        ("#/", "document.querySelector('#families')"),
        ("#/family/uitasks.TrainModel", "document.querySelector('#runs tr[data-task-id]')"),
        (f"#/task/{ids['data']}", "document.querySelector('.preview table')"),
        (f"#/task/{ids['failed']}", "document.querySelector('#traceback')"),
        (f"#/graph/{ids['root']}", "document.querySelector('#graph svg .node')"),
        (f"#/diff/{ids['models'][0]}/{ids['models'][1]}", "document.querySelector('.diff')"),
        ("#/build/latest", "document.querySelector('#graph svg .node')"),
    ]
    for page, ready in pages:
        _open(browser, ui, page, ready)
    assert browser.problems() == []
    requested = browser.requests()
    assert requested and all(u.startswith(ui.url) for u in requested), requested


def test_the_results_table_sorts_and_filters(browser, ui):
    _open(browser, ui, "#/family/uitasks.TrainModel", "document.querySelector('#runs')")
    column = "(name) => Array.from(document.querySelectorAll('#runs tr[data-task-id]')).map(" \
        "tr => tr.children[Array.from(document.querySelectorAll('#runs th')).findIndex(" \
        "th => th.dataset.column === name)].textContent)"  # fmt: skip
    assert len(browser.evaluate(f"({column})('lr')")) == 5
    browser.click_selector("#runs th[data-column='auc']")
    ascending = browser.evaluate(f"({column})('auc')")
    assert ascending == ["0.7", "0.7", "0.85", "0.85", ""]  # the failed run has none: last
    browser.click_selector("#runs th[data-column='auc']")
    assert browser.evaluate(f"({column})('auc')")[:4] == ["0.85", "0.85", "0.7", "0.7"]
    browser.evaluate(
        "(() => { const i = document.getElementById('filter'); i.value = 'lr < 0.1';"
        " i.dispatchEvent(new Event('input')); })()"
    )
    assert browser.evaluate(f"({column})('lr')") == ["0.05", "0.05"]
    assert "2 of 5 run(s)" in browser.evaluate("document.getElementById('count').textContent")
    browser.evaluate(
        "(() => { const i = document.getElementById('filter'); i.value = 'state = failed';"
        " i.dispatchEvent(new Event('input')); })()"
    )
    assert browser.evaluate(f"({column})('lr')") == ["5"]
    assert browser.problems() == []


def test_picking_two_runs_shows_what_differs(browser, ui):
    _open(browser, ui, "#/family/uitasks.TrainModel", "document.querySelector('#runs')")
    boxes = browser.evaluate(
        "Array.from(document.querySelectorAll('#runs input[type=checkbox]'))"
        ".map(b => b.dataset.taskId)"
    )
    for tid in boxes[:2]:
        browser.click_selector(f"#runs input[data-task-id='{tid}']")
    browser.click_selector("#compare")
    browser.until("!!document.querySelector('.diff')")
    assert browser.evaluate("location.hash").startswith("#/diff/")
    differs = browser.evaluate(
        "Array.from(document.querySelectorAll('.diff[data-section=parameters] tr.differs'))"
        ".map(tr => tr.children[0].textContent)"
    )
    assert "lr" in differs
    assert browser.problems() == []


def test_a_task_page_shows_record_log_outputs_and_neighbours(browser, ui, project):
    _, _, ids = project
    _open(browser, ui, f"#/task/{ids['data']}", "document.querySelector('.preview table')")
    text = browser.evaluate("document.getElementById('view').textContent")
    for expected in ("LoadData", "train.csv", "reading train.csv", "Downstream", "Clean"):
        assert expected in text
    head = browser.evaluate(
        "Array.from(document.querySelectorAll('.preview table tr')).map("
        "tr => Array.from(tr.children).map(c => c.textContent))"
    )
    assert head[0] == ["x", "label"]
    assert head[1][0] == "int64" and head[1][1] in ("object", "str", "string")
    assert head[2] == ["1", "a"]
    _open(browser, ui, f"#/task/{ids['root']}", "document.querySelector('.preview img')")
    assert (
        browser.until(
            "document.querySelector('.preview img').complete && "
            "document.querySelector('.preview img').naturalWidth"
        )
        == 40
    )
    _open(browser, ui, f"#/task/{ids['evaluate']}", "document.querySelector('.preview pre')")
    assert browser.evaluate("document.querySelector('.preview pre').textContent") == (
        "best of 4 models"
    )
    _open(browser, ui, f"#/task/{ids['failed']}", "document.querySelector('#traceback')")
    trace = browser.evaluate("document.getElementById('traceback').textContent")
    assert "ValueError" in trace and "uitasks.py" in trace
    assert browser.problems() == []


def test_clicking_a_task_in_the_graph_opens_it(browser, ui, project):
    _, _, ids = project
    _open(browser, ui, f"#/graph/{ids['root']}", "document.querySelector('#graph svg .node')")
    browser.click_selector(f"#graph .node[data-task-id='{ids['evaluate']}'] rect")
    browser.until(f"location.hash === '#/task/{ids['evaluate']}'")
    browser.until("!!document.querySelector('h1') && document.querySelector('h1').textContent"
                  ".startsWith('Evaluate')")  # fmt: skip
    assert browser.problems() == []


def _readability(browser) -> dict:
    return browser.evaluate(
        """(() => {
          const svg = document.querySelector('#graph svg');
          const pane = svg.parentElement.getBoundingClientRect();
          const drawn = svg.querySelector('g.nodes').getBoundingClientRect();
          const scale = svg.querySelector('g.viewport').getCTM().a;
          const sizes = Array.from(svg.querySelectorAll('.node text')).map(
            t => parseFloat(getComputedStyle(t).fontSize) * scale);
          const boxes = Array.from(svg.querySelectorAll('.node rect')).map(
            r => r.getBoundingClientRect());
          const inside = boxes.every(b => b.left >= pane.left - 1 && b.right <= pane.right + 1
            && b.top >= pane.top - 1 && b.bottom <= pane.bottom + 1);
          const details = Array.from(svg.querySelectorAll('.node')).map(
            g => g.querySelector('text.name').textContent + ' ' +
                 g.querySelector('text.detail').textContent);
          return {smallest: Math.min(...sizes), fill: drawn.width * drawn.height /
            (pane.width * pane.height), wide: drawn.width / pane.width,
            high: drawn.height / pane.height, inside, details,
            status: Array.from(svg.querySelectorAll('.node text.status')).map(
              t => t.textContent)};
        })()"""
    )


@pytest.mark.parametrize("size", [(1400, 900), (800, 600)])
def test_the_graph_of_ten_tasks_is_readable_and_fills_the_pane(browser, ui, project, size,
                                                              tmp_path):  # fmt: skip
    _, _, ids = project
    browser.resize(*size)
    _open(browser, ui, f"#/graph/{ids['root']}", "document.querySelector('#graph svg .node')")
    found = _readability(browser)
    browser.screenshot(tmp_path / f"graph-{size[0]}x{size[1]}.png")
    assert found["smallest"] >= 11, found
    assert found["inside"], found
    assert found["fill"] >= 0.6 and max(found["wide"], found["high"]) >= 0.85, found
    # the four TrainModel boxes can be told apart by what they show
    models = [d for d in found["details"] if d.startswith("TrainModel")]
    assert len(models) == 4 and len(set(models)) == 4, models
    assert all("lr=" in m for m in models)
    assert all(" s" in s or " ms" in s for s in found["status"])
    assert not any("." in s.split("·")[-1] and len(s.split("·")[-1]) > 8 for s in found["status"])
    assert browser.problems() == []


@pytest.mark.parametrize("size", [(1400, 900), (800, 600)])
def test_cairn_graph_html_has_the_same_readable_layout(browser, project, size, tmp_path):
    cwd, env, _ = project
    page = tmp_path / "graph.html"
    code = f"import cairn, uitasks as t; cairn.graph(t.ten()).save({str(page)!r})"
    done = run_python("-c", code, cwd=cwd, env=env)
    assert done.returncode == 0, done.stderr
    browser.resize(*size)
    browser.navigate(page.as_uri())
    browser.until("window.cairnGraph")
    found = _readability(browser)
    assert found["smallest"] >= 11, found
    assert found["fill"] >= 0.6, found
    assert browser.problems() == []


def test_the_build_graph_follows_a_build_running_in_another_process(browser, project, ui):
    cwd, env, _ = project
    builds = Path(env["CAIRN_WORKSPACE"]) / ".cairn" / "builds"
    before = set(builds.glob("*.plan.json"))
    build = subprocess.Popen(
        [sys.executable, "-c", "import uitasks; uitasks.main('slow')"],
        cwd=cwd,
        env={**os.environ, **env, "SLOW_SECONDS": "1.5"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not set(builds.glob("*.plan.json")) - before:
            assert time.monotonic() < deadline and build.poll() is None, build.stderr.read()
            time.sleep(0.05)
        _open(browser, ui, "#/build/latest", "document.querySelector('#graph svg .node')")
        states = "Array.from(document.querySelectorAll('#graph .node')).map(n => n.dataset.state)"
        assert len(browser.evaluate(states)) == 4
        seen = set()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            now = browser.evaluate(states)
            seen.update(now)
            if all(s == "complete" for s in now):
                break
            time.sleep(0.1)
        assert "running" in seen and "will run" in seen, seen
        assert all(s == "complete" for s in browser.evaluate(states))
        browser.until("document.getElementById('build-state').textContent === 'finished'")
        status = browser.evaluate(
            "Array.from(document.querySelectorAll('#graph .node text.status'))"
            ".map(t => t.textContent)"
        )
        assert all(s.startswith("complete · 1.") for s in status), status
        assert browser.problems() == []
    finally:
        build.wait(120)
    assert build.returncode == 0
