"""A whole gokart project migrated: it imports, plans the graph gokart had, builds what gokart
built, and a second migration changes nothing. gokart itself runs the original (in a
subprocess, through ``gokart_runner.py``); cairn's real command line runs the migrated copy.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import shop_project

from cairn.migrate import migrate

pytestmark = pytest.mark.slow

RUNNER = Path(__file__).with_name("gokart_runner.py")


def run(args, cwd, *, check=True):
    """Run ``python args...`` in ``cwd`` without any CAIRN_ settings from this process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CAIRN_", "LUIGI_"))}
    result = subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if check and result.returncode != 0:
        output = f"{result.stdout}\n{result.stderr}"
        raise AssertionError(f"{args} exited {result.returncode}:\n{output}")
    return result


@pytest.fixture(scope="module")
def projects(tmp_path_factory):
    """The gokart project, and a migrated copy with its report."""
    original = shop_project.write(tmp_path_factory.mktemp("gokart"))
    copy = tmp_path_factory.mktemp("cairn") / "shop"
    shutil.copytree(original, copy)
    return original, copy, migrate(copy)


def test_the_migrated_project_is_all_cairn_and_imports(projects):
    _, copy, report = projects
    assert report.ok and report.todos == []
    assert sorted(report.files) == [
        "cairn.toml",
        "main.py",
        "shop/base.py",
        "shop/data.py",
        "shop/features.py",
        "shop/model.py",
        "shop/report.py",
    ]
    for path in copy.rglob("*.py"):
        assert not re.search(r"^\s*(import|from) (gokart|luigi)\b", path.read_text(), re.M), path
    run(["-c", "import main, shop.report"], copy)


def test_cairn_plan_shows_the_graph_gokart_had(projects):
    original, copy, _ = projects
    expected = json.loads(
        run([str(RUNNER), "graph", "shop.report:Report", "conf/param.ini"], original).stdout
    )
    plan = run(["-m", "cairn", "plan", "shop.report:Report"], copy).stdout
    nodes = re.findall(r"^will run\s+(\w+)\(", plan, re.M)
    assert sorted(nodes) == expected["nodes"]
    assert f"{len(nodes)} of {len(nodes)} task(s) will run" in plan
    dot = run(["-m", "cairn", "graph", "shop.report:Report", "--format", "dot"], copy).stdout
    names = dict(re.findall(r'^\s+"(\w+)" \[label="(\w+)\\n', dot, re.M))
    edges = [[names[a], names[b]] for a, b in re.findall(r'^\s+"(\w+)" -> "(\w+)";', dot, re.M)]
    assert sorted(edges) == expected["edges"]
    assert "region='central', alpha=0.5" in plan  # values from param.ini, via cairn.toml


def test_the_migrated_project_builds_what_gokart_built(projects):
    original, copy, _ = projects
    gokart_output = json.loads(
        run([str(RUNNER), "build", "shop.report:Report", "conf/param.ini"], original).stdout
    )
    built = run(["main.py", "shop.Report", "--local-scheduler"], copy)
    assert "7 task(s): 7 ran" in built.stdout
    load = (
        "import json, cairn, shop.report\n"
        "config = cairn.load_config()\n"
        "with config.active():\n"
        "    print(json.dumps(cairn.build(shop.report.Report(), config=config, progress=False)))\n"
    )
    cairn_output = json.loads(run(["-c", load], copy).stdout)
    assert cairn_output == gokart_output
    assert (copy / "resources" / "shop").is_dir()  # the workspace cairn.toml names


def test_migrating_again_changes_nothing(projects):
    _, copy, _ = projects
    files = [p for p in copy.rglob("*") if p.is_file() and "resources" not in p.parts]
    before = {p: p.read_text() for p in files}
    again = migrate(copy)
    assert again.files == [] and again.changes == [] and again.diff == ""
    assert {p: p.read_text() for p in before} == before


def test_cairn_migrate_dry_run_prints_the_diff_and_changes_nothing(tmp_path):
    project = shop_project.write(tmp_path / "shop")
    before = {p: p.read_text() for p in project.rglob("*") if p.is_file()}
    result = run(["-m", "cairn", "migrate", str(project), "--dry-run"], tmp_path)
    assert {p: p.read_text() for p in project.rglob("*") if p.is_file()} == before
    assert "-class ShopTask(gokart.TaskOnKart):\n+class ShopTask(cairn.Task):" in result.stdout
    assert "+++ b/cairn.toml" in result.stdout
    assert "would change 7 file(s)" in result.stderr


def test_cairn_migrate_exit_codes(tmp_path):
    missing = run(["-m", "cairn", "migrate", str(tmp_path / "nowhere")], tmp_path, check=False)
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    project = shop_project.write(tmp_path / "shop")
    (project / "shop" / "broken.py").write_text("import gokart\nclass X(gokart.TaskOnKart\n")
    partial = run(["-m", "cairn", "migrate", str(project)], tmp_path, check=False)
    assert partial.returncode == 2
    assert "shop/broken.py" in partial.stdout and "does not parse" in partial.stdout
    assert "class ShopTask(cairn.Task):" in (project / "shop" / "base.py").read_text()
    (project / "shop" / "broken.py").unlink()
    done = run(["-m", "cairn", "migrate", str(project)], tmp_path, check=False)
    assert done.returncode == 0 and "changed 0 file(s)" in done.stdout
