"""Shared fixtures: a temporary workspace, and programs some tests need."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REQUIRE_ALL_TOOLS = os.environ.get("CAIRN_REQUIRE_ALL_TOOLS") == "1"


def require_program(name: str) -> str:
    """Return the path of program ``name``; skip the test (fail in CI) when it is missing."""
    path = shutil.which(name)
    if path is None:
        reason = f"{name} is not installed (on Debian: apt-get install the package providing it)"
        if REQUIRE_ALL_TOOLS:
            pytest.fail(f"{reason}; CI must install it (see .ci/run)")
        print(f"SKIP: {reason}")
        pytest.skip(reason)
    return path


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh local workspace, also set as ``CAIRN_WORKSPACE``."""
    ws = tmp_path / "ws"
    monkeypatch.setenv("CAIRN_WORKSPACE", str(ws))
    yield str(ws)


def _local_store_url(tmp_path: Path) -> Iterator[str]:
    yield str(tmp_path / "store")


def _memory_store_url(tmp_path: Path) -> Iterator[str]:
    import fsspec

    root = f"memory://cairn-test-{uuid.uuid4().hex}"
    yield root
    fs = fsspec.filesystem("memory")
    if fs.exists(root):
        fs.rm(root, recursive=True)


#: every store the store-parametrised tests run on: name -> generator of a workspace URL
STORES: dict[str, Callable[[Path], Iterator[str]]] = {
    "local": _local_store_url,
    "memory": _memory_store_url,
}


@pytest.fixture(params=sorted(STORES))
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty workspace URL on each kind of store in ``STORES``."""
    yield from STORES[request.param](tmp_path)
