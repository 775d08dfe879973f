"""Build logs: each build leaves its plan and events in the store, for viewers elsewhere."""

from __future__ import annotations

import json
from pathlib import Path

import cairn


class Step(cairn.Task):
    n = cairn.IntParameter()

    def requires(self):
        return Step(n=self.n - 1) if self.n > 0 else []

    def run(self):
        if self.n == 9:
            raise RuntimeError("nine")
        return self.n


def _logs(workspace: str) -> list[Path]:
    return sorted((Path(workspace) / ".cairn" / "builds").glob("*"))


def test_a_build_logs_its_plan_and_every_tasks_events(workspace):
    cairn.build(Step(n=2))
    (plan_file,) = [p for p in _logs(workspace) if p.name.endswith(".plan.json")]
    plan = json.loads(plan_file.read_text())
    assert [n["name"] for n in plan["nodes"]] == ["Step"] * 3
    assert {n["id"] for n in plan["nodes"]} == {Step(n=i).task_id for i in range(3)}
    assert plan["roots"] == [Step(n=2).task_id]
    events_file = plan_file.with_name(plan_file.name.replace(".plan.json", ".events.jsonl"))
    events = [json.loads(line) for line in events_file.read_text().splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "build_started" and kinds[-1] == "build_finished"
    assert kinds.count("started") == 3 and kinds.count("succeeded") == 3
    done = [e for e in events if e["event"] == "succeeded"]
    assert [e["id"] for e in done] == [Step(n=i).task_id for i in range(3)]
    assert all(e["duration_s"] >= 0 for e in done)


def test_a_failed_task_is_logged_with_its_error(workspace):
    try:
        cairn.build(Step(n=9))
    except cairn.BuildError:
        pass
    (events_file,) = [p for p in _logs(workspace) if p.name.endswith(".events.jsonl")]
    events = [json.loads(line) for line in events_file.read_text().splitlines()]
    failed = [e for e in events if e["event"] == "failed"]
    assert len(failed) == 1 and "RuntimeError: nine" in failed[0]["error"]


def test_cairn_build_log_0_turns_the_log_off(workspace, monkeypatch):
    monkeypatch.setenv("CAIRN_BUILD_LOG", "0")
    cairn.build(Step(n=1))
    assert _logs(workspace) == []


def test_object_stores_log_builds_only_when_asked(moto_s3, monkeypatch):
    import fsspec

    where = {
        "workspace": f"s3://{moto_s3.new_bucket()}/ws",
        "storage_options": moto_s3.storage_options,
    }
    fs, root = fsspec.core.url_to_fs(where["workspace"], **where["storage_options"])
    cairn.build(Step(n=1), **where)
    assert not fs.exists(f"{root}/.cairn/builds")
    monkeypatch.setenv("CAIRN_BUILD_LOG", "1")
    cairn.build(Step(n=2), **where)
    assert len(fs.ls(f"{root}/.cairn/builds")) == 2
