"""Plans on object stores decide completeness from listings once records were checked whole.

On S3 (moto in server mode), a plan lists each folder of records once; a record and outputs
whose versions (ETags) and sizes are those of an earlier whole check are not read again,
and anything changed since is checked whole again: a rewritten output is still found.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

import cairn


class Part(cairn.Task[dict[str, Any]]):
    i = cairn.IntParameter()

    def run(self) -> dict[str, Any]:
        return {"i": self.i, "pad": "x" * 200}


class Total(cairn.Task[int]):
    n = cairn.IntParameter()

    def requires(self) -> list[Part]:
        return [Part(i=i) for i in range(self.n)]

    def run(self) -> int:
        return sum(part["i"] for part in self.load())


def _s3(moto_s3: Any) -> dict[str, Any]:
    return {
        "workspace": f"s3://{moto_s3.new_bucket()}/ws",
        "storage_options": moto_s3.storage_options,
    }


def _fs(moto_s3: Any) -> Any:
    import s3fs

    return s3fs.S3FileSystem(skip_instance_cache=True, **moto_s3.storage_options)


def _reads(moto_s3: Any, bucket: str, action: Any) -> list[tuple[str, str]]:
    """Run ``action``; return ``(method, key)`` of each request it made to ``bucket``."""
    moto_s3.api("recorder/reset-recording", b"")
    moto_s3.api("recorder/start-recording", b"")
    try:
        action()
    finally:
        moto_s3.api("recorder/stop-recording", b"")
    requests = [
        json.loads(line) for line in moto_s3.api("recorder/download-recording").splitlines()
    ]
    return [
        (r["method"], r["url"].partition(f"/{bucket}/")[2].partition("?")[0])
        for r in requests
        if f"/{bucket}" in r["url"]
    ]


def test_a_later_plan_lists_folders_instead_of_reading_each_record_and_output(
    moto_s3: Any,
) -> None:
    store = _s3(moto_s3)
    bucket = store["workspace"].removeprefix("s3://").partition("/")[0]
    parts = [Part(i=i) for i in range(30)]
    cairn.build(parts, executor="threads", workers=4, **store)
    first = cairn.plan(parts, **store)  # checks every record and output whole, once
    assert not first.to_run

    requests = _reads(moto_s3, bucket, lambda: cairn.plan(parts, **store))

    objects = [key for method, key in requests if method in ("GET", "HEAD") and key]
    assert not [k for k in objects if k.endswith((".run.json", ".pkl"))], objects
    assert len(requests) <= 4, requests  # a listing of the folder and its index


def test_an_output_rewritten_after_a_plan_checked_it_is_found_corrupt(
    moto_s3: Any, caplog: pytest.LogCaptureFixture
) -> None:
    store = _s3(moto_s3)
    parts = [Part(i=i) for i in range(12)]
    cairn.build(parts, executor="threads", workers=4, **store)
    assert not cairn.plan(parts, **store).to_run
    fs = _fs(moto_s3)
    root = store["workspace"].removeprefix("s3://")
    (output,) = [p for p in fs.find(root) if p.endswith(".pkl") and parts[2].task_id in p]
    data = fs.cat_file(output)
    fs.pipe_file(output, bytes((b + 1) % 256 for b in data))  # same size, other bytes

    with caplog.at_level(logging.WARNING):
        plan = cairn.plan(parts, **store)

    assert [e.task for e in plan.to_run] == [parts[2]]
    assert "corrupt" in caplog.text and parts[2].task_id in caplog.text
    assert cairn.build(parts[2], **store) == {"i": 2, "pad": "x" * 200}  # rerun, then read


def test_a_record_deleted_after_a_plan_checked_it_makes_its_task_run(moto_s3: Any) -> None:
    store = _s3(moto_s3)
    total = Total(n=12)  # its twelve inputs are planned together: their folder is listed
    cairn.build(total, executor="threads", workers=4, **store)
    parts = [Part(i=i) for i in range(12)]
    assert not cairn.plan(parts, **store).to_run
    fs = _fs(moto_s3)
    root = store["workspace"].removeprefix("s3://")
    (record,) = [p for p in fs.find(root) if p.endswith(f"{parts[5].task_id}.run.json")]
    fs.rm_file(record)

    assert [e.task for e in cairn.plan(parts, **store).to_run] == [parts[5]]
    assert [e.task for e in cairn.plan(total, rerun=True, **store).to_run] == [parts[5], total]
    assert cairn.build(total, rerun=True, **store) == sum(range(12))


def test_a_rewritten_record_is_read_again(moto_s3: Any) -> None:
    store = _s3(moto_s3)
    parts = [Part(i=i) for i in range(12)]
    cairn.build(parts, executor="threads", workers=4, **store)
    assert not cairn.plan(parts, **store).to_run
    fs = _fs(moto_s3)
    root = store["workspace"].removeprefix("s3://")
    (record,) = [p for p in fs.find(root) if p.endswith(f"{parts[1].task_id}.run.json")]
    data = json.loads(fs.cat_file(record))
    (entry,) = data["outputs"].values()
    entry["size"] += 1  # the record now describes other bytes than those stored
    fs.pipe_file(record, json.dumps(data).encode())

    assert [e.task for e in cairn.plan(parts, **store).to_run] == [parts[1]]


def test_the_plan_after_a_build_reads_none_of_the_records_the_build_wrote(
    moto_s3: Any,
) -> None:
    store = _s3(moto_s3)
    bucket = store["workspace"].removeprefix("s3://").partition("/")[0]
    parts = [Part(i=i) for i in range(20)]
    cairn.build(parts, executor="threads", workers=4, **store)

    requests = _reads(moto_s3, bucket, lambda: cairn.plan(parts, **store))

    objects = [key for method, key in requests if method in ("GET", "HEAD") and key]
    assert not [k for k in objects if k.endswith((".run.json", ".pkl"))], objects


def test_a_plan_of_a_few_tasks_reads_them_rather_than_listing_their_folder(
    moto_s3: Any,
) -> None:
    store = _s3(moto_s3)
    bucket = store["workspace"].removeprefix("s3://").partition("/")[0]
    parts = [Part(i=i) for i in range(12)]
    cairn.build(parts, executor="threads", workers=4, **store)

    requests = _reads(moto_s3, bucket, lambda: cairn.plan(parts[3], **store))

    listings = [r for r in requests if r[1] == ""]  # GET /bucket?list-type=2&prefix=...
    assert not listings, requests
    assert any(key.endswith(f"{parts[3].task_id}.run.json") for _, key in requests)
