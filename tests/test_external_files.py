"""Inputs outside the store: ExternalFile and FileParameter, local and through fsspec."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import cairn

RAN: list[str] = []


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAIRN_CACHE_DIR", str(tmp_path / "cache"))
    RAN.clear()


class Total(cairn.Task):
    source = cairn.Parameter()

    def requires(self):
        return cairn.ExternalFile(self.source)

    def run(self):
        RAN.append("Total")
        return sum(self.load())


class Report(cairn.Task):
    source = cairn.Parameter()

    def requires(self):
        return Total(source=self.source)

    def run(self):
        RAN.append("Report")
        return f"total={self.load()}"


class Lookup(cairn.Task):
    table = cairn.FileParameter()

    def run(self):
        RAN.append("Lookup")
        with open(self.table) as f:
            return f.read()


def test_an_external_file_is_loaded_with_the_format_of_its_extension(tmp_path, workspace):
    data = tmp_path / "numbers.json"
    data.write_text("[1, 2, 3]")
    assert cairn.build(Report(source=str(data))) == "total=6"


def test_replacing_an_external_file_reruns_readers_and_touching_it_does_not(tmp_path, workspace):
    data = tmp_path / "numbers.json"
    data.write_text("[1, 2, 3]")
    cairn.build(Report(source=str(data)))
    os.utime(data, (1e9, 1e9))
    RAN.clear()
    assert cairn.build(Report(source=str(data))) == "total=6"
    assert RAN == []
    data.write_text("[1, 2, 3, 4]")
    assert cairn.build(Report(source=str(data))) == "total=10"
    assert RAN == ["Total", "Report"]


def test_the_content_fingerprint_is_cached_by_size_and_modification_time(tmp_path, workspace):
    data = tmp_path / "numbers.json"
    data.write_text("[1, 2, 3]")
    first = cairn.ExternalFile(str(data)).task_id
    stat = data.stat()
    data.write_text("[7, 8, 9]")  # same size; put the old modification time back
    os.utime(data, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert cairn.ExternalFile(str(data)).task_id == first
    os.utime(data, (1e9, 1e9))
    assert cairn.ExternalFile(str(data)).task_id != first


def test_a_missing_external_file_stops_the_plan_naming_the_task_that_needs_it(tmp_path, workspace):
    missing = tmp_path / "nowhere.json"
    with pytest.raises(cairn.MissingInputError) as caught:
        cairn.plan(Report(source=str(missing)))
    message = str(caught.value)
    assert f"Total(source='{missing}') needs the file '{missing}'" in message
    with pytest.raises(cairn.MissingInputError):
        cairn.build(Report(source=str(missing)))
    assert RAN == []


def test_a_missing_external_root_is_named(tmp_path, workspace):
    with pytest.raises(cairn.MissingInputError, match="is a build root"):
        cairn.build(cairn.ExternalFile(str(tmp_path / "nowhere.txt")))


def test_a_missing_file_parameter_stops_the_plan_naming_the_task_and_parameter(tmp_path, workspace):
    missing = str(tmp_path / "table.txt")
    with pytest.raises(cairn.MissingInputError, match=r"Lookup\(table=.*parameter 'table'"):
        cairn.plan(Lookup(table=missing))


def test_a_file_parameter_reruns_its_task_when_the_content_changes(tmp_path, workspace):
    table = tmp_path / "table.txt"
    table.write_text("a")
    assert cairn.build(Lookup(table=str(table))) == "a"
    os.utime(table, (1e9, 1e9))
    assert cairn.build(Lookup(table=str(table))) == "a"
    assert RAN == ["Lookup"]
    table.write_text("b")
    plan = cairn.plan(Lookup(table=str(table)))
    assert plan[0].reason == f"input file {table} changed"
    assert cairn.build(Lookup(table=str(table))) == "b"


def test_a_file_parameter_may_default_to_no_file(workspace):
    class Optional(cairn.Task):
        table = cairn.FileParameter(default=None)

        def run(self):
            return {"table": self.table}

    assert cairn.build(Optional()) == {"table": None}


def test_external_files_never_run_even_when_every_task_is_forced(tmp_path, workspace):
    data = tmp_path / "numbers.json"
    data.write_text("[1]")
    plan = cairn.plan(Report(source=str(data)), rerun="all")
    states = {type(e.task).__name__: e.state for e in plan}
    assert states == {"ExternalFile": "complete", "Total": "will run", "Report": "will run"}
    assert cairn.build(Report(source=str(data)), rerun="all") == "total=1"


def test_an_external_file_on_an_fsspec_url_is_fingerprinted_by_content(workspace):
    import fsspec

    url = f"memory://cairn-test-{uuid.uuid4().hex}/numbers.json"
    fs = fsspec.filesystem("memory")
    fs.pipe(url, b"[1, 2]")
    assert cairn.build(Report(source=url)) == "total=3"
    fs.pipe(url, b"[1, 2]")  # rewritten, same content
    assert cairn.build(Report(source=url)) == "total=3"
    assert RAN == ["Total", "Report"]
    fs.pipe(url, b"[5]")
    assert cairn.build(Report(source=url)) == "total=5"
    assert RAN == ["Total", "Report", "Total", "Report"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def s3() -> Iterator[dict[str, Any]]:
    """An S3 endpoint speaking the real protocol (moto in server mode)."""
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    options = {
        "key": "test",
        "secret": "test",
        "client_kwargs": {"endpoint_url": f"http://127.0.0.1:{port}"},
    }
    try:
        yield options
    finally:
        server.stop()


def test_an_external_file_on_s3_is_fingerprinted_by_its_etag(s3, workspace):
    import s3fs

    class S3Input(cairn.ExternalFile):
        path = cairn.FileParameter(storage_options=s3)

    class Count(cairn.Task):
        def requires(self):
            return S3Input("s3://raw/numbers.json")

        def run(self):
            RAN.append("Count")
            return len(self.load())

    fs = s3fs.S3FileSystem(**s3)
    fs.mkdir("raw")
    fs.pipe("raw/numbers.json", b"[1, 2, 3]")
    etag = fs.info("raw/numbers.json")["ETag"].strip('"')
    assert S3Input("s3://raw/numbers.json").path == "s3://raw/numbers.json"
    assert cairn.build(Count()) == 3
    fs.pipe("raw/numbers.json", b"[1, 2, 3]")  # uploaded again, same content and ETag
    assert cairn.build(Count()) == 3
    assert RAN == ["Count"]
    fs.pipe("raw/numbers.json", b"[1]")
    assert fs.info("raw/numbers.json")["ETag"].strip('"') != etag
    assert cairn.build(Count()) == 1
    assert RAN == ["Count", "Count"]
