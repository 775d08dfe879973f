"""The command line as gokart users use it, through the real `cairn` program: explicit
booleans, option spellings in one order, the closest option, required parameters named as
options, settings for upstream tasks."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from _processes import run_cairn

TESTS = Path(__file__).resolve().parent


@pytest.fixture
def cairn_cli(workspace, tmp_path):
    env = {
        "PYTHONPATH": str(TESTS),
        "CAIRN_WORKSPACE": workspace,
        "COLUMNS": "200",
        "CAIRN_CONFIG": None,
    }

    def run(*args: str, seed: str = "0") -> subprocess.CompletedProcess[str]:
        return run_cairn(*args, cwd=tmp_path, env={**env, "PYTHONHASHSEED": seed})

    return run


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["--shuffle", "true"], True),
        (["--shuffle", "FALSE"], False),
        (["--shuffle=yes"], True),
        (["--shuffle", "No"], False),
        (["--shuffle", "1"], True),
        (["--shuffle=0"], False),
        (["--shuffle"], True),
        (["--no-shuffle"], False),
    ],
)
def test_a_boolean_takes_an_explicit_word_as_well_as_the_flag(cairn_cli, words, expected):
    result = cairn_cli("run", "cli_pipeline:Train", *words, "--epochs", "1")
    assert result.returncode == 0, result.stderr
    assert f"shuffle={expected}" in result.stdout


def test_a_word_that_is_not_a_boolean_is_bad_input_naming_the_choices(cairn_cli):
    result = cairn_cli("run", "cli_pipeline:Train", "--shuffle=maybe")
    assert result.returncode == 2
    assert "'maybe' is not a boolean" in result.stderr
    assert "--shuffle true|false" in result.stderr


def test_a_boolean_word_does_not_swallow_the_next_task(cairn_cli):
    result = cairn_cli("run", "cli_pipeline:Train", "--shuffle", "cli_pipeline:Load")
    assert result.returncode == 0, result.stderr
    assert "shuffle=True" in result.stdout
    assert "Load(path='data.csv')" in result.stdout


def test_option_spellings_are_in_one_order_whatever_the_hash_seed(cairn_cli, tmp_path):
    (tmp_path / "spelled.py").write_text(
        "import cairn\n\n\nclass LoadRaw(cairn.Task):\n"
        "    raw_path = cairn.Parameter()\n\n    def run(self):\n        return 1\n"
    )
    helps = {cairn_cli("run", "spelled:LoadRaw", "--help", seed=s).stdout for s in "0123"}
    assert len(helps) == 1
    assert "--raw-path, --raw_path" in helps.pop()


def test_an_unknown_option_suggests_the_closest_parameter_not_help(cairn_cli):
    result = cairn_cli("run", "cli_pipeline:Train", "--lrr", "0.1")
    assert result.returncode == 2
    line = result.stderr.strip()
    assert "No such option '--lrr'. Did you mean --lr?" in line
    assert "--help'" in line and "Did you mean one of" not in line
    assert "The parameters of cli_pipeline.Train are: --lr, --epochs" in line
    load = cairn_cli("run", "cli_pipeline:Load", "--pth", "x")
    assert "Did you mean --path?" in load.stderr


def test_a_missing_required_parameter_is_named_as_its_option(cairn_cli):
    result = cairn_cli("run", "cli_pipeline:Needs")
    assert result.returncode == 2
    assert "give --name VALUE after the task" in result.stderr
    assert '[tasks."cli_pipeline.Needs"]' in result.stderr
    assert "Needs(name=...)" not in result.stderr
    given = cairn_cli("run", "cli_pipeline:Needs", "--name", "x")
    assert given.returncode == 0, given.stderr


def test_an_import_error_names_the_file_and_line(cairn_cli, tmp_path):
    (tmp_path / "badimp.py").write_text("import cairn\n\n\nx = undefined_name\n")
    (tmp_path / "badsyn.py").write_text("def f(:\n")
    result = cairn_cli("run", "badimp:Task")
    assert result.returncode == 2
    assert "NameError: name 'undefined_name' is not defined at badimp.py:4" in result.stderr
    assert "run with --debug" in result.stderr
    debug = cairn_cli("--debug", "run", "badimp:Task")
    assert debug.returncode == 2 and "Traceback" in debug.stderr
    assert "run with --debug" not in debug.stderr
    syntax = cairn_cli("run", "badsyn:Task")
    assert "SyntaxError: invalid syntax at badsyn.py:1" in syntax.stderr


def test_set_gives_a_parameter_to_an_upstream_task(cairn_cli):
    result = cairn_cli("run", "cli_pipeline:Evaluate", "--set", "Train.lr=0.7")
    assert result.returncode == 0, result.stderr
    assert "✓ Train(lr=0.7, epochs=3" in result.stdout
    full = cairn_cli("plan", "cli_pipeline:Evaluate", "--set=cli_pipeline.Train.epochs=9")
    assert "Train(lr=0.1, epochs=9" in full.stdout


def test_luigi_spelling_of_an_upstream_parameter(cairn_cli):
    result = cairn_cli("run", "cli_pipeline:Evaluate", "--Train-lr", "0.8", "--Train-epochs=2")
    assert result.returncode == 0, result.stderr
    assert "✓ Train(lr=0.8, epochs=2" in result.stdout


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        (
            "Trian.lr=1",
            "no task 'Trian' is imported by the tasks on this command line. Did you mean 'Train'?",
        ),
        ("Train.lrr=1", "Train has no parameter 'lrr'. Did you mean 'lr'?"),
        ("Train.lr=x", "Train.lr expects float"),
        ("Train", "give Family.param=value"),
    ],
)
def test_a_bad_setting_is_bad_input_saying_what_is_wrong(cairn_cli, setting, message):
    result = cairn_cli("run", "cli_pipeline:Evaluate", "--set", setting)
    assert result.returncode == 2
    assert message in result.stderr


def test_a_task_parameter_is_given_as_module_task_or_json(cairn_cli):
    result = cairn_cli(
        "run",
        "cli_pipeline:Evaluate",
        "--model",
        '{"task": "cli_pipeline:Train", "params": {"lr": 0.3}}',
    )
    assert result.returncode == 0, result.stderr
    assert "✓ Train(lr=0.3" in result.stdout and "Evaluate(model=Train#" in result.stdout
    plain = cairn_cli("plan", "cli_pipeline:Evaluate", "--model", "cli_pipeline:Load")
    assert "Evaluate(model=Load#" in plain.stdout
    bad = cairn_cli("run", "cli_pipeline:Evaluate", "--model", "cli_pipeline:Nope")
    assert bad.returncode == 2 and "has no 'Nope'" in bad.stderr


def test_a_misspelled_family_in_the_config_file_is_reported_with_the_closest(cairn_cli, tmp_path):
    (tmp_path / "cairn.toml").write_text('[tasks."cli_pipeline.Trian"]\nlr = 0.5\n')
    result = cairn_cli("run", "cli_pipeline:Train")
    assert result.returncode == 0, result.stderr
    assert '[tasks."cli_pipeline.Trian"] matches no task' in result.stderr
    assert 'did you mean [tasks."cli_pipeline.Train"]?' in result.stderr


NESTED = """
import cairn


class Raw(cairn.Task):
    path = cairn.Parameter(default="a.csv")

    def run(self):
        return 1


class Clean(cairn.Task):
    raw = cairn.TaskParameter()

    def requires(self):
        return {"raw": self.raw}

    def run(self):
        return self.load("raw")


class Train(cairn.Task):
    clean = cairn.TaskParameter()
    depth = cairn.IntParameter(default=3)

    def requires(self):
        return {"clean": self.clean}

    def run(self):
        return self.load("clean")


class Score(cairn.Task):
    model = cairn.TaskParameter()

    def requires(self):
        return {"model": self.model}

    def run(self):
        return self.load("model")
"""


def _model(path: str) -> str:
    raw = {"task": "nested:Raw", "params": {"path": path}}
    clean = {"task": "nested:Clean", "params": {"raw": raw}}
    return json.dumps({"task": "nested:Train", "params": {"clean": clean}})


def test_a_plan_names_the_nested_value_that_changed(cairn_cli, tmp_path):
    (tmp_path / "nested.py").write_text(NESTED)
    first = cairn_cli("run", "nested:Score", "--model", _model("a.csv"))
    assert first.returncode == 0, first.stderr
    plan = cairn_cli("plan", "nested:Score", "--model", _model("b.csv"))
    assert plan.returncode == 0, plan.stderr
    assert "parameter model.clean.raw.path changed 'a.csv' -> 'b.csv'" in plan.stdout
    assert "parameter clean.raw.path changed 'a.csv' -> 'b.csv'" in plan.stdout
