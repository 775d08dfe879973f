"""The `cairn` command line: commands, exit codes, help, and one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

import cairn
from cairn.cli import main

TESTS = Path(__file__).resolve().parent


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys, workspace, monkeypatch, tmp_path):
    """Run the command line in-process, in a fresh directory; returns (code, out, err)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("CAIRN_CONFIG", raising=False)

    def run(*args: str) -> Result:
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def one_line_error(result: Result) -> str:
    assert result.code == 2, result
    assert "Traceback" not in result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("error: ")
    return lines[0]


def test_run_builds_the_task_prints_each_task_and_a_summary_and_exits_0(cli, workspace):
    result = cli("run", "cli_pipeline:Train", "--lr", "0.5", "--epochs", "2")
    assert result.code == 0, result.err
    assert "✓ Load(path='data.csv')" in result.out
    assert "✓ Train(lr=0.5, epochs=2" in result.out
    assert "2 task(s): 2 ran, 0 reused, 0 failed, 0 skipped" in result.out
    from cli_pipeline import Train

    assert cairn.build(Train(lr=0.5, epochs=2)) == {
        "lr": 0.5,
        "epochs": 2,
        "n": 3,
        "shuffle": False,
    }
    again = cli("run", "cli_pipeline:Train", "--lr", "0.5", "--epochs", "2")
    assert "all 2 task(s) reused in " in again.out  # the whole graph, as the README says


def test_run_parses_bool_enum_and_underscore_names_by_parameter_type(cli):
    from cli_pipeline import Colour, Train

    result = cli("run", "cli_pipeline:Train", "--shuffle", "--colour", "BLUE", "--path", "x.csv")
    assert result.code == 0, result.err
    task = Train(shuffle=True, colour=Colour.BLUE, path="x.csv")
    assert cairn.plan(task).to_run == []


def test_run_exits_1_when_a_task_fails_and_names_it(cli):
    result = cli("run", "cli_pipeline:Fails")
    assert result.code == 1
    assert "✗ Fails()" in result.out
    assert "ValueError: deliberate failure" in result.out
    assert "1 task(s) failed" in result.err
    assert "Traceback" not in result.err + result.out
    assert "--debug" in result.err


def test_debug_shows_the_failed_task_traceback(cli):
    result = cli("run", "cli_pipeline:Fails", "--debug")
    assert result.code == 1
    assert "Traceback" in result.err
    assert 'raise ValueError("deliberate failure")' in result.err


def test_run_help_lists_parameters_with_types_defaults_and_descriptions(cli):
    result = cli("run", "cli_pipeline:Train", "--help")
    assert result.code == 0
    out = result.out
    assert "Fit a slope to the numbers." in out
    assert "Parameters of cli_pipeline.Train" in out
    assert "--lr FLOAT" in out and "Learning rate" in out and "default: 0.1" in out
    assert "--epochs INT" in out and "Passes over the data" in out and "default: 3" in out
    assert "--shuffle / --no-shuffle" in out
    assert "--colour [RED|BLUE]" in out
    assert "--workspace" in out  # the command's own options follow


def test_help_marks_required_parameters_and_task_parameters(cli):
    needs = cli("run", "cli_pipeline:Needs", "--help").out
    assert "A name; required" in needs and "required]" in needs
    evaluate = cli("run", "cli_pipeline:Evaluate", "--help").out
    assert "model" in evaluate and "set in Python code" in evaluate


def test_top_level_help_and_version(cli):
    result = cli("--help")
    assert result.code == 0
    for command in ("run", "plan", "status", "show", "ls", "gc", "graph"):
        assert command in result.out
    assert "Exit codes: 0 success, 1 tasks failed, 2 bad input" in result.out
    assert cli("--version").out.strip().endswith(cairn.__version__)
    run_help = cli("run", "--help")
    assert "MODULE:TASK" in run_help.out


def test_unknown_module_is_one_line_exit_2_with_a_close_name(cli, tmp_path):
    (tmp_path / "pipeline_mod.py").write_text("import cairn\n")
    line = one_line_error(cli("run", "pipeline_mdo:Train"))
    assert "no module named 'pipeline_mdo'" in line
    assert "Did you mean 'pipeline_mod'?" in line


def test_unknown_task_suggests_the_closest_task(cli):
    line = one_line_error(cli("run", "cli_pipeline:Trian"))
    assert "has no task 'Trian'" in line
    assert "Did you mean 'Train'?" in line
    assert "Tasks in cli_pipeline: Evaluate, Fails, Load, Needs, Train" in line


def test_not_a_task_and_malformed_names_are_usage_errors(cli):
    assert "is a function, not a cairn.Task" in one_line_error(cli("run", "cli_pipeline:helper"))
    assert "module:Task" in one_line_error(cli("run", "Train"))
    assert "give at least one task" in one_line_error(cli("run"))


def test_a_module_that_fails_to_import_is_reported_in_one_line(cli, tmp_path):
    (tmp_path / "broken_mod.py").write_text("raise RuntimeError('oops at import')\n")
    line = one_line_error(cli("run", "broken_mod:Task"))
    assert "importing broken_mod failed: RuntimeError: oops at import" in line
    debug = cli("--debug", "run", "broken_mod:Task")
    assert debug.code == 2 and "Traceback" in debug.err


def test_a_parameter_that_does_not_parse_is_one_line_exit_2(cli):
    line = one_line_error(cli("run", "cli_pipeline:Train", "--epochs", "1.5"))
    assert "'--epochs'" in line and "Train.epochs expects int" in line
    line = one_line_error(cli("run", "cli_pipeline:Train", "--colour", "GREEN"))
    assert "--colour" in line


def test_an_unknown_option_is_one_line_exit_2_with_suggestion(cli):
    line = one_line_error(cli("run", "cli_pipeline:Train", "--lrr", "0.1"))
    assert "No such option '--lrr'" in line and "--lr" in line
    line = one_line_error(cli("ls", "--bogus"))
    assert "--bogus" in line


def test_a_missing_required_parameter_is_one_line_exit_2(cli):
    line = one_line_error(cli("run", "cli_pipeline:Needs"))
    assert "Needs needs a value for 'name'" in line


def test_an_unreadable_config_is_one_line_exit_2(cli, tmp_path):
    (tmp_path / "cairn.toml").write_text("workspace = [unclosed\n")
    line = one_line_error(cli("run", "cli_pipeline:Train"))
    assert "cairn.toml" in line and "not valid TOML" in line


def test_plan_lists_each_task_with_the_reason(cli):
    result = cli("plan", "cli_pipeline:Train")
    assert result.code == 0
    assert "will run  Load(path='data.csv')" in result.out
    assert "no earlier output" in result.out
    cli("run", "cli_pipeline:Train")
    after = cli("plan", "cli_pipeline:Train", "--rerun")
    assert "forced by rerun" in after.out


def test_status_shows_the_tree_with_states(cli):
    cli("run", "cli_pipeline:Train")
    result = cli("status", "cli_pipeline:Evaluate")
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0].startswith("will run  Evaluate(model=None)")
    assert "complete  Train(" in lines[1]
    assert "complete  Load(" in lines[2]
    assert "3 task(s): 2 complete, 1 will run" in result.out


def test_several_tasks_each_with_parameters_in_one_command(cli):
    result = cli("run", "cli_pipeline:Train", "--lr", "0.2", "cli_pipeline:Train", "--lr", "0.3")
    assert result.code == 0, result.err
    assert "3 task(s): 3 ran" in result.out


def test_options_after_the_task_apply_to_the_command(cli, tmp_path):
    target = tmp_path / "elsewhere"
    result = cli("run", "cli_pipeline:Load", "--workspace", str(target), "--executor", "threads")
    assert result.code == 0, result.err
    assert str(target) in result.out
    assert len(cairn.ls(workspace=str(target))) == 1


def test_show_prints_a_record_by_id_prefix_and_by_output_path(cli, workspace):
    from cli_pipeline import Load

    cli("run", "cli_pipeline:Load")
    tid = Load().task_id
    by_id = cli("show", tid[:10])
    assert by_id.code == 0
    for text in ("cli_pipeline.Load", tid, "path", "fingerprint", "loading data.csv", "python"):
        assert text in by_id.out
    output = Path(workspace) / f"cli_pipeline/Load_{tid}.pkl"
    by_path = cli("show", str(output))
    assert tid in by_path.out
    as_json = json.loads(cli("show", tid, "--json").out)
    assert as_json["task_id"] == tid
    assert "no run record" in one_line_error(cli("show", "0000aaaa"))


def test_ls_lists_family_id_size_finished_and_duration(cli):
    cli("run", "cli_pipeline:Train")
    result = cli("ls")
    assert result.code == 0
    for header in ("family", "id", "size", "finished at", "duration"):
        assert header in result.out
    assert "cli_pipeline.Train" in result.out and "cli_pipeline.Load" in result.out
    assert "2 task(s)" in result.out
    rows = [json.loads(line) for line in cli("ls", "--json", "--family", "Load").out.splitlines()]
    assert [r["family"] for r in rows] == ["cli_pipeline.Load"]


def test_gc_deletes_what_the_roots_do_not_reach_and_dry_run_deletes_nothing(cli, workspace):
    cli("run", "cli_pipeline:Train", "--lr", "0.1")
    cli("run", "cli_pipeline:Train", "--lr", "0.2")
    dry = cli("gc", "cli_pipeline:Train", "--lr", "0.2", "--dry-run")
    assert dry.code == 0
    assert "would delete 2 file(s)" in dry.out and "dry run" in dry.out
    assert len(cairn.ls()) == 3
    done = cli("gc", "cli_pipeline:Train", "--lr", "0.2")
    assert "deleted 2 file(s)" in done.out and "bytes" in done.out
    assert sorted(e.family for e in cairn.ls()) == ["cli_pipeline.Load", "cli_pipeline.Train"]


def test_graph_writes_dot_and_mermaid_to_stdout_and_html_to_a_file(cli, tmp_path):
    dot = cli("graph", "cli_pipeline:Train")
    assert dot.code == 0 and dot.out.startswith("digraph cairn {")
    mermaid = cli("graph", "cli_pipeline:Train", "--format", "mermaid")
    assert mermaid.out.startswith("flowchart LR")
    result = cli("graph", "cli_pipeline:Train", "-o", str(tmp_path / "g.html"))
    assert result.code == 0
    assert "<svg" in (tmp_path / "g.html").read_text()
    line = one_line_error(cli("graph", "cli_pipeline:Train", "--format", "svg"))
    assert "-o FILE" in line


def test_graph_svg_without_graphviz_says_how_to_install_it(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    line = one_line_error(cli("graph", "cli_pipeline:Train", "-o", str(tmp_path / "g.svg")))
    assert "apt-get install graphviz" in line and "html" in line


def test_python_dash_m_cairn_and_the_console_script_run_the_same_cli(workspace, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(TESTS), "CAIRN_WORKSPACE": workspace}
    module = subprocess.run(
        [sys.executable, "-m", "cairn", "run", "cli_pipeline:Load"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert module.returncode == 0, module.stderr
    assert "1 ran" in module.stdout
    script = Path(sys.executable).with_name("cairn")
    assert script.exists(), "pip install -e . installs the `cairn` console script"
    bad = subprocess.run(
        [str(script), "run", "cli_pipeline:Nope"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert bad.returncode == 2
    assert bad.stderr.strip().startswith("error: module cli_pipeline has no task 'Nope'")


# --- build options: retries, lock wait, strict checks -------------------------------------
def test_run_retries_a_failed_task_as_often_as_retries_says(cli, tmp_path):
    counter = str(tmp_path / "counter")
    failed = cli("run", "_parity_tasks:FailsUntil", "--counter", counter, "--retries", "1")
    assert failed.code == 1 and "failing on purpose, start 2" in failed.err
    Path(counter).unlink()
    result = cli(
        *("run", "_parity_tasks:FailsUntil", "--counter", counter),
        *("--retries", "2", "--retry-delay", "0.01"),
    )
    assert result.code == 0, result.err
    assert Path(counter).read_text() == "3"
    bad = one_line_error(cli("run", "_parity_tasks:Where", "--retries", "-1"))
    assert "--retries" in bad


def test_run_strict_rebuilds_a_deleted_upstream_output(cli, workspace):
    from _parity_tasks import Where

    assert cli("run", "_parity_tasks:Top").code == 0
    for path in Path(workspace).rglob(f"Where_{Where().task_id}*"):
        path.unlink()
    assert "nothing will run" in cli("plan", "_parity_tasks:Top").out
    assert "2 of 2 task(s) will run" in cli("plan", "_parity_tasks:Top", "--strict").out
    assert "all 2 task(s) reused" in cli("run", "_parity_tasks:Top").out
    assert "2 ran, 0 reused" in cli("run", "_parity_tasks:Top", "--strict").out


def test_run_lock_wait_fails_a_task_another_runner_holds(cli, workspace, tmp_path):
    flags = tmp_path / "flags"
    flags.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-m", "cairn", "run", "_parity_tasks:Holds", "--flags", str(flags)],
        env={**os.environ, "PYTHONPATH": str(TESTS), "CAIRN_LOCK": "file"},
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while not (flags / "started").exists():
            assert holder.poll() is None, "the holding build ended early"
            time.sleep(0.02)
        result = cli(
            *("run", "_parity_tasks:Holds", "--flags", str(flags)),
            *("--lock", "file", "--lock-wait", "0.2"),
        )
        assert result.code == 1
        assert "stayed locked for more than 0.2s" in result.out + result.err
    finally:
        (flags / "release").touch()
        assert holder.wait(timeout=60) == 0
