"""luigi_argv: luigi's command line (python main.py Task --param v) as cairn run's."""

from __future__ import annotations

import sys
import textwrap

from cairn.migrate import luigi_argv

TASKS = {"shop.Train": "shop.model:Train", "Load": "shop.data:Load"}


def test_a_luigi_task_name_becomes_cairns_and_luigi_options_go():
    argv = ["shop.Train", "--local-scheduler", "--lr", "0.1", "--log-level", "INFO", "--no-lock"]
    assert luigi_argv(argv, TASKS) == ["run", "shop.model:Train", "--lr", "0.1"]


def test_names_cairn_knows_pass_through():
    argv = ["shop.model:Train", "--rerun"]
    assert luigi_argv(argv, TASKS) == ["run", "shop.model:Train", "--rerun"]
    assert luigi_argv([], TASKS) == ["run"]


def test_workers_workspace_and_redis_become_cairns_options():
    argv = [
        "Load",
        "--workers=4",
        "--workspace-directory",
        "s3://b/ws",
        "--redis-host",
        "cache",
        "--redis-port=6380",
    ]
    assert luigi_argv(argv, TASKS) == [
        "run",
        "shop.data:Load",
        "--executor",
        "processes",
        "--workers",
        "4",
        "--workspace",
        "s3://b/ws",
        "--lock",
        "redis://cache:6380/0",
    ]
    assert luigi_argv(["Load", "--workers", "1"], TASKS) == ["run", "shop.data:Load"]


def test_explicit_booleans_become_flags_for_boolean_parameters_only(tmp_path, monkeypatch):
    (tmp_path / "flags_demo.py").write_text(
        textwrap.dedent(
            """
            import cairn


            class Job(cairn.Task):
                dry = cairn.BoolParameter(default=False)
                mode = cairn.Parameter(default="x")
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "flags_demo", raising=False)
    tasks = {"Job": "flags_demo:Job"}
    argv = ["Job", "--dry", "false", "--mode", "true"]
    assert luigi_argv(argv, tasks) == ["run", "flags_demo:Job", "--no-dry", "--mode", "true"]
    assert luigi_argv(["Job", "--dry", "True"], tasks) == ["run", "flags_demo:Job", "--dry"]
