"""Configuration: files, interpolation, parameter values per family, and precedence."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import cairn
from cairn.cli import main


class Train(cairn.Task):
    lr = cairn.FloatParameter(default=0.1)
    epochs = cairn.IntParameter(default=3)

    def run(self):
        return {"lr": self.lr, "epochs": self.epochs}


class Report(cairn.Task):
    """Creates its Train inside requires(): the configuration must reach it too."""

    def requires(self):
        return Train()

    def run(self):
        return self.load()


FAMILY = f"{__name__}.Train"


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A fresh working directory without CAIRN_* settings."""
    for name in ("CAIRN_CONFIG", "CAIRN_WORKSPACE", "CAIRN_EXECUTOR", "CAIRN_WORKERS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("CAIRN_LOCK", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# --- files --------------------------------------------------------------------------------
def test_cairn_toml_in_the_working_directory_is_read(project):
    write(
        project / "cairn.toml",
        f'workspace = "ws"\nexecutor = "threads"\nworkers = 2\nlock = "file"\n'
        f'[storage_options]\nanon = true\n[tasks."{FAMILY}"]\nlr = 0.01\n',
    )
    config = cairn.load_config()
    assert (config.workspace, config.executor, config.workers, config.lock) == (
        "ws",
        "threads",
        2,
        "file",
    )
    assert config.storage_options == {"anon": True}
    assert config.tasks == {FAMILY: {"lr": 0.01}}
    assert config.source == "cairn.toml"


def test_tool_cairn_in_pyproject_is_read_when_there_is_no_cairn_toml(project):
    write(project / "pyproject.toml", '[project]\nname = "x"\n[tool.cairn]\nworkspace = "pw"\n')
    assert cairn.load_config().workspace == "pw"
    write(project / "cairn.toml", 'workspace = "cw"\n')
    assert cairn.load_config().workspace == "cw"


def test_no_configuration_file_gives_an_empty_config(project):
    write(project / "pyproject.toml", '[project]\nname = "x"\n')
    config = cairn.load_config()
    assert config.workspace is None and config.tasks == {}


def test_cairn_config_names_the_file_and_a_missing_named_file_is_an_error(project, monkeypatch):
    write(project / "other.toml", 'workspace = "o"\n')
    monkeypatch.setenv("CAIRN_CONFIG", "other.toml")
    assert cairn.load_config().workspace == "o"
    with pytest.raises(cairn.ConfigError, match=r"nope\.toml.*does not exist"):
        cairn.load_config("nope.toml")


def test_invalid_toml_and_unknown_settings_are_config_errors_naming_the_file(project):
    write(project / "cairn.toml", "workspace = \n")
    with pytest.raises(cairn.ConfigError, match=r"cairn\.toml: not valid TOML"):
        cairn.load_config()
    write(project / "cairn.toml", 'workspce = "x"\n')
    with pytest.raises(
        cairn.ConfigError, match=r"unknown setting 'workspce'\. Did you mean 'workspace'"
    ):
        cairn.load_config()
    write(project / "cairn.toml", "workers = 0\n")
    with pytest.raises(cairn.ConfigError, match="workers must be a positive integer"):
        cairn.load_config()


def test_an_unquoted_family_name_is_a_config_error_that_says_to_quote_it(project):
    write(project / "cairn.toml", "[tasks.mypkg.train.Train]\nlr = 0.1\n")
    with pytest.raises(cairn.ConfigError, match=r'\[tasks\."mypkg\.train\.Train"\]'):
        cairn.load_config()


# --- interpolation ------------------------------------------------------------------------
def test_variables_are_interpolated_with_defaults(project):
    write(
        project / "cairn.toml",
        'workspace = "s3://${BUCKET}/${PROJECT:-demo}/runs"\n'
        'executor = "${EXECUTOR:-inline}"\nworkers = "${N:-4}"\n'
        f'[tasks."{FAMILY}"]\nlr = "${{LR}}"\nnote = "costs $$5"\n',
    )
    config = cairn.load_config(environ={"BUCKET": "b", "LR": "0.5"})
    assert config.workspace == "s3://b/demo/runs"
    assert config.executor == "inline"
    assert config.workers == 4
    assert config.tasks[FAMILY] == {"lr": "0.5", "note": "costs $5"}


def test_an_undefined_variable_is_a_config_error_naming_it_and_the_file(project):
    write(project / "cairn.toml", '[notify.slack]\nwebhook_url = "${SLACK_URL}"\n')
    with pytest.raises(cairn.ConfigError) as info:
        cairn.load_config(environ={})
    message = str(info.value)
    assert "cairn.toml" in message and "SLACK_URL" in message
    assert "notify.slack.webhook_url" in message


def test_a_malformed_reference_is_a_config_error(project):
    write(project / "cairn.toml", 'workspace = "${unclosed"\n')
    with pytest.raises(cairn.ConfigError, match="malformed reference"):
        cairn.load_config(environ={})


# --- parameter values ---------------------------------------------------------------------
def test_config_values_apply_to_tasks_that_do_not_pass_the_parameter(project):
    config = cairn.Config(tasks={FAMILY: {"lr": 0.01}})
    with config.active():
        configured = Train()
        explicit = Train(lr=0.5)
    assert configured.lr == 0.01 and configured.epochs == 3
    assert explicit.lr == 0.5
    assert Train().lr == 0.1  # outside the block: the default again


def test_tasks_created_by_requires_take_the_values_of_their_parents_configuration(project):
    config = cairn.Config(tasks={FAMILY: {"epochs": 7}})
    with config.active():
        report = Report()
    # built after the block ends: Report still creates Train with the configured values
    assert cairn.build(report, workspace="ws") == {"lr": 0.1, "epochs": 7}
    assert cairn.build(Report(), workspace="ws") == {"lr": 0.1, "epochs": 3}


def test_strings_in_config_are_parsed_by_the_parameter_type(project):
    config = cairn.Config(tasks={FAMILY: {"lr": "0.25", "epochs": "5"}})
    with config.active():
        task = Train()
    assert (task.lr, task.epochs) == (0.25, 5)


def test_a_wrong_type_in_config_is_a_parameter_error_naming_file_task_and_parameter(project):
    write(project / "cairn.toml", f'[tasks."{FAMILY}"]\nepochs = "many"\n')
    config = cairn.load_config()
    with config.active(), pytest.raises(cairn.ParameterError) as info:
        Train()
    message = str(info.value)
    assert "cairn.toml" in message and FAMILY in message and "epochs" in message
    assert "'many'" in message


def test_an_unknown_parameter_in_config_is_a_parameter_error_with_a_suggestion(project):
    config = cairn.Config(tasks={FAMILY: {"lrr": 1}}, source="cairn.toml")
    with config.active(), pytest.raises(cairn.ParameterError, match="Did you mean 'lr'"):
        Train()


def test_the_active_configuration_is_per_context_not_global(project):
    config = cairn.Config(tasks={FAMILY: {"lr": 0.9}})
    seen = {}

    def other_thread():
        seen["lr"] = Train().lr

    with config.active():
        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
        assert Train().lr == 0.9
    assert seen["lr"] == 0.1


# --- precedence ---------------------------------------------------------------------------
def test_settings_precedence_explicit_over_environment_over_config_over_default(
    project, monkeypatch
):
    config = cairn.Config(workspace="from_config")
    task = Train()
    cairn.build(task, config=config)
    assert (project / "from_config").is_dir()
    monkeypatch.setenv("CAIRN_WORKSPACE", str(project / "from_env"))
    cairn.build(task, config=config)
    assert (project / "from_env").is_dir()
    cairn.build(task, config=config, workspace=str(project / "explicit"))
    assert (project / "explicit").is_dir()
    monkeypatch.delenv("CAIRN_WORKSPACE")
    cairn.build(task)
    assert (project / "workspace").is_dir()


def test_build_takes_executor_workers_and_lock_from_config_or_environment(project, monkeypatch):
    config = cairn.Config(executor="nonexistent")
    with pytest.raises(cairn.CairnError, match="unknown executor 'nonexistent'"):
        cairn.build(Train(), config=config, workspace="ws")
    monkeypatch.setenv("CAIRN_EXECUTOR", "threads")
    monkeypatch.setenv("CAIRN_WORKERS", "2")
    assert cairn.build(Train(), config=config, workspace="ws")["lr"] == 0.1
    monkeypatch.setenv("CAIRN_WORKERS", "two")
    with pytest.raises(cairn.ConfigError, match="CAIRN_WORKERS must be a positive integer"):
        cairn.build(Train(), config=config, workspace="ws")


def test_build_reads_a_config_file_path(project):
    write(project / "conf.toml", 'workspace = "from_file"\n')
    cairn.build(Train(), config="conf.toml")
    assert (project / "from_file").is_dir()


def cli(*args):
    return main(["run", f"{__name__}:Train", *args])


def test_cli_precedence_command_line_over_environment_over_config_over_default(
    project, monkeypatch, capsys
):
    write(project / "cairn.toml", 'workspace = "cfg_ws"\n')
    assert cli() == 0
    assert "cfg_ws" in capsys.readouterr().out
    monkeypatch.setenv("CAIRN_WORKSPACE", str(project / "env_ws"))
    assert cli() == 0
    assert "env_ws" in capsys.readouterr().out
    assert cli("--workspace", str(project / "cmd_ws")) == 0
    assert "cmd_ws" in capsys.readouterr().out


def test_cli_parameter_precedence_command_line_over_config_over_default(project, capsys):
    write(project / "cairn.toml", f'workspace = "ws"\n[tasks."{FAMILY}"]\nlr = 0.01\n')
    assert cli() == 0
    assert "Train(lr=0.01, epochs=3)" in capsys.readouterr().out
    assert cli("--lr", "0.7") == 0
    assert "Train(lr=0.7, epochs=3)" in capsys.readouterr().out
    help_text = (main(["run", f"{__name__}:Train", "--help"]), capsys.readouterr().out)[1]
    assert "cairn.toml: 0.01" in help_text and "default: 0.1" in help_text


def test_cli_reports_a_wrong_config_value_in_one_line(project, capsys):
    write(project / "cairn.toml", f'[tasks."{FAMILY}"]\nepochs = "many"\n')
    assert cli() == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "cairn.toml" in err and "epochs" in err and "Train" in err


def test_cli_reports_an_undefined_variable_in_one_line(project, capsys):
    write(project / "cairn.toml", 'workspace = "${NOT_SET_ANYWHERE_42}"\n')
    assert cli() == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "NOT_SET_ANYWHERE_42" in err and "cairn.toml" in err


def test_cli_config_option_chooses_the_file(project, capsys):
    write(project / "special.toml", 'workspace = "special_ws"\n')
    assert main(["--config", "special.toml", "run", f"{__name__}:Train"]) == 0
    assert "special_ws" in capsys.readouterr().out
