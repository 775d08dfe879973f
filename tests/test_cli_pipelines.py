"""Function pipelines on the command line: ``cairn run module:pipe`` with config values as
options (``--min-count 5``, ``--model.lr 0.2``, ``--set min_count=5``); ``plan``, ``status``,
``graph`` of a pipeline; ``ls`` and ``show`` naming nodes by their function."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import cairn
from _processes import run_cairn, run_python

FLOW = """
import cairn


def load(path):
    return [3, 1, 4, 1, 5, 9, 2, 6]


def clean(raw, min_count):
    return [x for x in raw if x >= min_count]


def train(rows, model):
    if model["lr"] > 1:
        raise ValueError(f"lr {model['lr']} is too large")
    return {"mean": sum(rows) / len(rows) * model["lr"]}, {"rows": len(rows)}


NODES = [
    cairn.node(load, inputs=["config.path"], outputs="raw"),
    cairn.node(clean, inputs=["raw", "config.min_count"], outputs="clean"),
    cairn.node(train, inputs=["clean", "config.model"], outputs=["model", "metrics"]),
]

pipe = cairn.Pipeline(
    NODES, config={"path": "train.csv", "min_count": 2, "model": {"lr": 0.1}, "fast": False}
)


def numbers():
    return [1, 2, 3]


def total(values):
    return sum(values)


PLAIN = [
    cairn.node(numbers, inputs=[], outputs="values"),
    cairn.node(total, inputs=["values"], outputs="total"),
]
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "mlpipe").mkdir()
    (tmp_path / "mlpipe" / "__init__.py").write_text("")
    (tmp_path / "mlpipe" / "flow.py").write_text(FLOW)
    return tmp_path


def _cairn(project: Path, *args: str):
    env = {"CAIRN_WORKSPACE": str(project / "ws"), "PYTHONPATH": str(project), "COLUMNS": None}
    return run_cairn(*args, cwd=project, env=env)


def _stored(project: Path, code: str) -> object:
    """What Python, in the project, computes with ``code`` (printed as JSON)."""
    env = {"CAIRN_WORKSPACE": str(project / "ws"), "PYTHONPATH": str(project)}
    done = run_python(
        "-c",
        f"import json, cairn\nfrom mlpipe.flow import pipe\n{code}",
        cwd=project,
        env=env,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_cairn_run_builds_a_pipeline_then_reuses_every_node(project):
    done = _cairn(project, "run", "mlpipe.flow:pipe")
    assert done.returncode == 0, done.stderr
    assert [line.split("  ")[0] for line in done.stdout.splitlines()[:3]] == [
        "✓ load(config.path) -> raw",
        "✓ clean(raw, config.min_count) -> clean",
        "✓ train(clean, config.model) -> model, metrics",
    ]
    again = _cairn(project, "run", "mlpipe.flow:pipe")
    assert again.stdout.startswith("all 3 task(s) reused in "), again.stdout
    # the outputs are those pipe.run() returns, from the same store
    assert _stored(project, "print(json.dumps(pipe.run(['metrics'])))") == {"metrics": {"rows": 6}}


def test_config_values_are_options_and_set_paths(project):
    done = _cairn(project, "run", "mlpipe.flow:pipe", "--min-count", "5", "--model.lr", "0.5")
    assert done.returncode == 0, done.stderr
    changed = "print(json.dumps(pipe.configured({'min_count': 5, 'model.lr': 0.5}).run()))"
    assert _stored(project, changed)["metrics"] == {"rows": 3}
    # the same values through --set (and the other spellings) change nothing more
    same = _cairn(
        project, "plan", "mlpipe.flow:pipe", "--set", "min_count=5", "--set", "model.lr=0.5"
    )
    assert same.returncode == 0, same.stderr
    assert same.stdout.rstrip().endswith(
        "nothing will run: every task is complete (building reuses them all)"
    ), same.stdout
    spelled = _cairn(project, "plan", "mlpipe.flow:pipe", "--min_count", "5", "--model-lr", "0.5")
    assert "nothing will run" in spelled.stdout
    # the default config was never built: its train node will run, and the plan says why
    default = _cairn(project, "plan", "mlpipe.flow:pipe")
    assert "parameter config.min_count changed 5 -> 2" in default.stdout


def test_a_pipeline_lists_its_config_values_in_help(project):
    shown = _cairn(project, "run", "mlpipe.flow:pipe", "--help")
    assert shown.returncode == 0, shown.stderr
    assert "Config values of mlpipe.flow:pipe" in shown.stdout
    assert re.search(
        r"--min-count, --min_count INT +config\.min_count +\[int; config: 2\]", shown.stdout
    ), shown.stdout
    assert "--model.lr, --model-lr FLOAT" in shown.stdout
    assert "--fast BOOL" in shown.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--min-count", "many"], "config value min_count is int, and 'many' does not parse"),
        (["--min-cout", "3"], "No such option '--min-cout'. Did you mean --min-count?"),
        (["--set", "model.depth=3"], "the pipeline's config has no 'depth' under config.model"),
        (["--set", "fast=maybe"], "config value fast is bool, and 'maybe' does not parse"),
    ],
    ids=["bad-int", "misspelt-option", "unknown-path", "bad-bool"],
)
def test_bad_config_values_are_usage_errors(project, args, message):
    done = _cairn(project, "run", "mlpipe.flow:pipe", *args)
    assert done.returncode == 2
    assert message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_a_list_of_nodes_runs_when_it_needs_no_config_else_names_the_pipeline(project):
    plain = _cairn(project, "run", "mlpipe.flow:PLAIN")
    assert plain.returncode == 0, plain.stderr
    assert "2 task(s): 2 ran" in plain.stdout
    nodes = _cairn(project, "run", "mlpipe.flow:NODES")
    assert nodes.returncode == 2
    assert "mlpipe.flow:NODES is a list of nodes" in nodes.stderr
    assert "(pipelines in that module: pipe)" in nodes.stderr
    unknown = _cairn(project, "run", "mlpipe.flow:pip")
    assert "Did you mean 'pipe'?" in unknown.stderr and "Pipelines in mlpipe.flow: pipe" in (
        unknown.stderr
    )


def test_status_of_a_pipeline_is_one_tree_and_ls_names_nodes_by_function(project):
    assert _cairn(project, "run", "mlpipe.flow:pipe").returncode == 0
    tree = _cairn(project, "status", "mlpipe.flow:pipe", "--model.lr", "0.3").stdout
    lines = tree.splitlines()
    assert lines[0].startswith("will run  train(clean, config.model) -> model, metrics")
    assert "changed" in lines[0]
    assert re.match(r"└── complete  clean\(raw, config.min_count\) -> clean", lines[1])
    assert re.match(r" +└── complete  load\(config.path\) -> raw", lines[2])
    assert lines[3] == "3 task(s): 2 complete, 1 will run"
    listing = _cairn(project, "ls").stdout
    assert "cairn.node" not in listing
    for name in ("load", "clean", "train"):
        assert re.search(rf"│ {name} +│ mlpipe\.flow\.{name} +│ [0-9a-f]{{32}}", listing), listing
    only = _cairn(project, "ls", "--family", "clean", "--json").stdout.splitlines()
    assert [json.loads(line)["family"] for line in only] == ["mlpipe.flow.clean"]
    task_id = json.loads(only[0])["task_id"]
    record = _cairn(project, "show", task_id[:8]).stdout
    assert re.search(r"node +clean", record) and re.search(r"function +mlpipe\.flow\.clean", record)
    picture = _cairn(project, "graph", "mlpipe.flow:pipe", "-f", "mermaid").stdout
    assert 't2["train<br/>(clean, config.model) -#gt; model, metrics"]' in picture


def test_a_failing_node_is_reported_and_recorded(project):
    done = _cairn(project, "run", "mlpipe.flow:pipe", "--model.lr", "5")
    assert done.returncode == 1
    assert "✗ train(clean, config.model) -> model, metrics" in done.stdout
    assert "ValueError: lr 5.0 is too large  at mlpipe/flow.py:15" in done.stdout
    assert "3 task(s): 2 ran, 0 reused, 1 failed, 0 skipped" in done.stdout
    status = _cairn(project, "status", "mlpipe.flow:pipe", "--set", "model.lr=5").stdout
    assert status.startswith("failed    train(clean, config.model) -> model, metrics")
    assert "ValueError: lr 5.0 is too large at mlpipe/flow.py:15 (attempt 1)" in status
    failed = json.loads(_cairn(project, "ls", "--json").stdout.splitlines()[-1])
    assert failed["state"] == "failed" and failed["family"] == "mlpipe.flow.train"
    record = _cairn(project, "show", failed["task_id"][:6]).stdout
    assert re.search(r"node +train", record) and "ValueError: lr 5.0 is too large" in record


def test_python_status_and_graph_of_a_pipeline_start_from_its_last_nodes(workspace):
    def load():
        return [1, 2, 3]

    def double(raw):
        return [2 * x for x in raw]

    def report(doubled, factor):
        return sum(doubled) * factor

    pipe = cairn.Pipeline(
        [
            cairn.node(load, inputs=[], outputs="raw"),
            cairn.node(double, inputs=["raw"], outputs="doubled"),
            cairn.node(report, inputs=["doubled", "config.factor"], outputs="total"),
        ],
        config={"factor": 2},
    )
    status = cairn.status(pipe)
    assert [len(status.roots), len(status)] == [1, 3]
    assert str(status).splitlines()[0].startswith("will run  report(doubled, config.factor)")
    assert len(cairn.graph(pipe).edges) == 2
    assert pipe.settings == {"factor": 2}
    assert pipe.configured({"factor": 3}).run(["total"]) == {"total": 36}
    with pytest.raises(cairn.ConfigError, match=r"has no 'factr' under config\. Did you mean"):
        pipe.configured({"factr": 3})
