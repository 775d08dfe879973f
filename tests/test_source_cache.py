"""What fingerprinting learns of a source file is kept on disk: a new process fingerprints
from it without parsing, gets the same fingerprint, and an edit is seen.

Each check runs in a fresh interpreter (the cache serves the next process), with the
package and the cache in temporary folders.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

TASKS = '''
import cairn

LIMIT = 3
FACTORS = [1, 2]
from .util import scale


def helper(x):
    return scale(x) + LIMIT


class Base(cairn.Task):
    """A base class with a docstring."""

    n = cairn.IntParameter(default=1)
    label = "base"

    def run(self):
        return helper(self.n) * sum(FACTORS)


class Leaf(Base):
    k: int = cairn.IntParameter(default=2)
    extra = 5

    def run(self):
        pick = lambda v: v + self.k  # noqa: E731
        return pick(super().run()) + self.extra
'''

UTIL = """
def scale(x):
    return 2 * x
"""

# Fingerprints Leaf and prints its digest and components; with NO_PARSE, any call of
# ast.parse or symtable.symtable in this process fails the run.
CHILD = """
import ast, json, os, symtable, sys
if os.environ.get("NO_PARSE"):
    def refuse(*args, **kwargs):
        raise AssertionError("parsed: " + repr(args[:2])[:200])
    ast.parse = refuse
    symtable.symtable = refuse
from pkg_cached.tasks import Leaf
fp = Leaf.code_fingerprint()
print(json.dumps({"digest": fp.digest, "components": fp.components}))
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    package = tmp_path / "pkg_cached"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "tasks.py").write_text(textwrap.dedent(TASKS))
    (package / "util.py").write_text(textwrap.dedent(UTIL))
    return tmp_path


def _fingerprint(project: Path, cache: str, **env: str) -> dict[str, Any]:
    full = {**os.environ, "PYTHONPATH": str(project), "CAIRN_CACHE_DIR": cache, **env}
    full.pop("CAIRN_FINGERPRINT", None)
    proc = subprocess.run(
        [sys.executable, "-c", CHILD],
        cwd=project,
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def _cached_files(cache: Path) -> list[Path]:
    return sorted(cache.glob("source/*/*.marshal"))


def test_a_new_process_fingerprints_from_the_cache_without_parsing(project, tmp_path):
    cache = tmp_path / "cache"
    first = _fingerprint(project, str(cache))
    assert len(_cached_files(cache)) == 2  # tasks.py and util.py
    again = _fingerprint(project, str(cache), NO_PARSE="1")
    assert again == first
    # and without any cache, the same fingerprint from the source itself
    assert _fingerprint(project, "off") == first
    assert "pkg_cached.tasks.Leaf.run" in first["components"]
    assert "pkg_cached.util.scale" in first["components"]
    assert "pkg_cached.tasks.LIMIT" in first["components"]


def test_an_edit_is_seen_and_a_comment_changes_nothing(project, tmp_path):
    cache = str(tmp_path / "cache")
    first = _fingerprint(project, cache)
    tasks = project / "pkg_cached" / "tasks.py"
    tasks.write_text(
        tasks.read_text().replace("return scale(x) + LIMIT", "return scale(x) - LIMIT")
    )
    edited = _fingerprint(project, cache)
    assert edited["digest"] != first["digest"]
    changed = {k for k in first["components"] if first["components"][k] != edited["components"][k]}
    assert changed == {"pkg_cached.tasks.helper"}
    tasks.write_text(tasks.read_text().replace("    extra = 5\n", "    extra = 5  # a comment\n"))
    assert _fingerprint(project, cache)["digest"] == edited["digest"]
    # a parameter declaration is not code: changing its default changes no fingerprint
    tasks.write_text(
        tasks.read_text().replace("IntParameter(default=2)", "IntParameter(default=7)")
    )
    assert _fingerprint(project, cache)["digest"] == edited["digest"]
    tasks.write_text(tasks.read_text().replace("extra = 5", "extra = 6"))
    assert _fingerprint(project, cache)["digest"] != edited["digest"]


def test_a_damaged_cache_file_is_worked_out_again(project, tmp_path):
    cache = tmp_path / "cache"
    first = _fingerprint(project, str(cache))
    for file in _cached_files(cache):
        file.write_bytes(b"\x00not marshal data")
    assert _fingerprint(project, str(cache)) == first
    assert _fingerprint(project, str(cache), NO_PARSE="1") == first  # rewritten whole


def test_with_the_cache_off_nothing_is_kept(project, tmp_path):
    home = tmp_path / "home"
    env = {"HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache")}
    _fingerprint(project, "off", **env)
    assert not home.exists() or not list(home.rglob("*.marshal"))
    assert not (project / "off").exists()  # "off" is not a folder name
