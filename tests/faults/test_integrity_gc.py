"""gc deletes only inside the workspace's real path, whatever a run record lists."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

import cairn


class Numbers(cairn.Task):
    n = cairn.IntParameter(default=3)

    def run(self):
        return list(range(self.n))


def _escapes(tmp_path: Path, workspace: str) -> dict[str, tuple[str, Path]]:
    """Listed path -> the file outside the workspace it would reach."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (Path(workspace) / "linked").symlink_to(outside, target_is_directory=True)
    victim = outside / "v.txt"
    return {
        "dotdot": ("../outside/v.txt", victim),
        "deep_dotdot": ("a/b/../../../outside/v.txt", victim),
        "absolute": (str(victim), victim),
        "symlinked_folder": ("linked/v.txt", victim),
        "root": ("/", victim),
        "workspace_itself": (".", victim),
    }


@pytest.mark.parametrize(
    "case", ["dotdot", "deep_dotdot", "absolute", "symlinked_folder", "root", "workspace_itself"]
)
@pytest.mark.parametrize("dry_run", [False, True])
def test_gc_never_deletes_outside_the_workspace(workspace, tmp_path, case, dry_run, caplog):
    kept, doomed = Numbers(n=3), Numbers(n=4)
    cairn.build([kept, doomed])
    listed, victim = _escapes(tmp_path, workspace)[case]
    victim.write_text("precious")
    record_file = Path(workspace) / doomed.record_path()
    record = json.loads(record_file.read_bytes())
    record["outputs"]["escape"] = {"path": listed, "size": 8}
    record_file.write_text(json.dumps(record))

    with caplog.at_level(logging.WARNING):
        result = cairn.gc(kept, dry_run=dry_run)

    assert victim.read_text() == "precious"
    assert os.path.isdir(tmp_path / "outside")
    deleted = [path for path, _ in result.deleted]
    assert doomed.record_path() in deleted
    assert all(not p.startswith(("/", "..")) and "linked" not in p for p in deleted)
    if case not in ("root", "workspace_itself"):
        assert any(listed in r.getMessage() for r in caplog.records)
    assert cairn.build(kept) == [0, 1, 2]
    assert cairn.build(Numbers(n=4)) == [0, 1, 2, 3]
