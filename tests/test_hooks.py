"""Build hooks and the Slack notifier (against a real local HTTP server)."""

from __future__ import annotations

import dataclasses
import json
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import cairn
from cairn.cli import main
from cairn.hooks import BuildHook, SlackNotifier


class Step(cairn.Task):
    n = cairn.IntParameter(default=1)

    def run(self):
        return self.n


class Breaks(cairn.Task):
    def requires(self):
        return Step()

    def run(self):
        raise RuntimeError("broken on purpose")


class After(cairn.Task):
    def requires(self):
        return Breaks()

    def run(self):
        return 0


class Both(cairn.Task):
    def requires(self):
        return [Step(n=7), Breaks()]

    def run(self):
        return 0


class Recorder(BuildHook):
    def __init__(self):
        self.events = []

    def on_task_start(self, *, task):
        self.events.append(("start", task.name))

    def on_task_success(self, *, task, record):
        self.events.append(("success", task.name, record["task_id"] == task.task_id))

    def on_task_failure(self, *, task, error):
        self.events.append(("failure", task.name, str(error)))

    def on_build_end(self, *, summary):
        self.events.append(("end", summary))


def test_hooks_hear_each_task_and_the_end_of_the_build(workspace):
    hook = Recorder()
    assert cairn.build(Step(n=2), hooks=[hook]) == 2
    assert hook.events[:2] == [("start", "Step"), ("success", "Step", True)]
    kind, summary = hook.events[2]
    assert kind == "end" and summary.ok and summary.total == 1
    assert [v.label for v in summary.ran] == ["Step(n=2)"]


def test_hooks_hear_failures_and_the_build_end_before_build_error(workspace):
    hook = Recorder()
    with pytest.raises(cairn.BuildError):
        cairn.build(After(), hooks=[hook])
    assert ("failure", "Breaks", "broken on purpose") in hook.events
    summary = hook.events[-1][1]
    assert not summary.ok
    assert [(v.name, err) for v, err in summary.failed] == [
        ("Breaks", "RuntimeError: broken on purpose")
    ]
    assert [v.name for v in summary.skipped] == ["After"]


def test_task_views_are_read_only(workspace):
    views = []

    class Keep(BuildHook):
        def on_task_start(self, *, task):
            views.append(task)

    cairn.build(Step(n=3), hooks=[Keep()])
    view = views[0]
    assert view.params == {"n": 3} and view.family == "test_hooks.Step"
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.name = "x"
    with pytest.raises(TypeError):
        view.params["n"] = 4


def test_an_exception_in_a_hook_is_logged_and_does_not_fail_the_build(workspace, caplog):
    class Raises(BuildHook):
        def on_task_success(self, *, task, record):
            raise ValueError("hook bug")

    with caplog.at_level(logging.ERROR, logger="cairn.hooks"):
        assert cairn.build(Step(n=4), hooks=[Raises()]) == 4
    assert "build hook Raises.on_task_success failed" in caplog.text


# --- Slack --------------------------------------------------------------------------------
class Webhook:
    """A local HTTP server standing in for Slack's incoming webhook."""

    def __init__(self, status=200):
        self.bodies = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers["Content-Length"])
                outer.bodies.append(
                    (self.path, self.headers["Content-Type"], json.loads(self.rfile.read(length)))
                )
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/services/T0/B0/secret"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook():
    hook = Webhook()
    yield hook
    hook.close()


def test_slack_notifier_posts_a_build_summary(workspace, webhook):
    cairn.build(Step(n=5), hooks=[SlackNotifier(webhook.url)])
    [(path, content_type, body)] = webhook.bodies
    assert path == "/services/T0/B0/secret"
    assert content_type == "application/json"
    assert "cairn build succeeded: Step(n=5)" in body["text"]
    assert "1 task(s): 1 ran, 0 reused, 0 failed" in body["text"]


def test_slack_message_carries_the_dependency_tree_with_what_happened(workspace, webhook):
    cairn.build(Step(n=7))
    with pytest.raises(cairn.BuildError):
        cairn.build(Both(), hooks=[SlackNotifier(webhook.url)])
    text = webhook.bodies[0][2]["text"]
    tree = text[text.index("```") + 4 : text.rindex("```")].splitlines()
    assert tree[0].startswith("skipped Both()")
    assert any(line.strip().startswith("└─ reused  Step(n=7)") for line in tree)
    assert any(line.strip().startswith("└─ FAILED  Breaks()") for line in tree)


def test_slack_notifier_names_failed_tasks(workspace, webhook):
    with pytest.raises(cairn.BuildError):
        cairn.build(After(), hooks=[SlackNotifier(webhook.url, on="failure")])
    text = webhook.bodies[0][2]["text"]
    assert "FAILED" in text and "Breaks()" in text and "RuntimeError: broken on purpose" in text
    cairn.build(Step(n=6), hooks=[SlackNotifier(webhook.url, on="failure")])
    assert len(webhook.bodies) == 1  # success: nothing posted with on="failure"


def test_a_slack_http_error_is_logged_and_the_build_succeeds(workspace, caplog):
    failing = Webhook(status=500)
    try:
        with caplog.at_level(logging.WARNING, logger="cairn.hooks"):
            assert cairn.build(Step(n=7), hooks=[SlackNotifier(failing.url)]) == 7
    finally:
        failing.close()
    assert "could not notify Slack (127.0.0.1" in caplog.text and "HTTP 500" in caplog.text
    assert "secret" not in caplog.text  # the webhook's secret path is never logged


def test_an_unreachable_slack_is_logged_and_the_build_succeeds(workspace, caplog):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with caplog.at_level(logging.WARNING, logger="cairn.hooks"):
        hook = SlackNotifier(f"http://127.0.0.1:{port}/x", timeout=2)
        assert cairn.build(Step(n=8), hooks=[hook]) == 8
    assert "could not notify Slack" in caplog.text


def test_slack_notifier_needs_a_url_from_argument_environment_or_config(monkeypatch):
    monkeypatch.delenv("CAIRN_SLACK_WEBHOOK_URL", raising=False)
    with pytest.raises(cairn.ConfigError, match="CAIRN_SLACK_WEBHOOK_URL"):
        SlackNotifier()
    monkeypatch.setenv("CAIRN_SLACK_WEBHOOK_URL", "https://hooks.example/abc")
    assert SlackNotifier().webhook_url == "https://hooks.example/abc"
    assert "abc" not in repr(SlackNotifier())
    monkeypatch.delenv("CAIRN_SLACK_WEBHOOK_URL")
    config = cairn.Config(notify={"slack": {"webhook_url": "https://x.example/1", "on": "failure"}})
    notifier = SlackNotifier.from_config(config)
    assert notifier is not None and notifier.on == "failure"
    assert SlackNotifier.from_config(cairn.Config()) is None
    with pytest.raises(cairn.ConfigError, match="unknown key"):
        SlackNotifier.from_config(cairn.Config(notify={"slack": {"url": "https://x"}}))


def test_cli_run_notifies_slack_as_the_config_file_says(workspace, webhook, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOOK_URL", webhook.url)
    monkeypatch.delenv("CAIRN_SLACK_WEBHOOK_URL", raising=False)
    (tmp_path / "cairn.toml").write_text('[notify.slack]\nwebhook_url = "${HOOK_URL}"\n')
    assert main(["run", "test_hooks:Step", "--n", "11"]) == 0
    assert "Step(n=11)" in webhook.bodies[0][2]["text"]
