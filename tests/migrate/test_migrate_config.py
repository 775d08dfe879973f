"""cairn migrate on luigi configuration files: luigi.cfg and param.ini as cairn.toml."""

from __future__ import annotations

import sys
import tomllib

import pytest
from migrate_helpers import dedent, write

import cairn
from cairn.migrate import MigrationError, migrate

TASKS = {
    "pkg/__init__.py": "",
    "pkg/base.py": """
        import gokart


        class Base(gokart.TaskOnKart):
            task_namespace = "exp"
    """,
    "pkg/tasks.py": """
        import gokart
        import luigi

        from pkg.base import Base


        class Train(Base):
            lr = luigi.FloatParameter(default=0.1)
            epochs = luigi.IntParameter(default=1)
            shuffle = luigi.BoolParameter(default=False)
            columns = luigi.ListParameter(default=[])
            pair = luigi.TupleParameter(default=())
            options = luigi.DictParameter(default={})
            name = luigi.Parameter(default="")
            up = gokart.TaskInstanceParameter(default=None)


        class Plain(gokart.TaskOnKart):
            path = luigi.Parameter()


        class Shared(luigi.Config):
            day = luigi.DateParameter()
    """,
}


def converted(tmp_path, ini, *, name="luigi.cfg", config=None):
    write(tmp_path, {**TASKS, name: ini})
    report = migrate(tmp_path, config=config)
    return (tmp_path / "cairn.toml").read_text(), report


def test_task_on_kart_settings_become_the_workspace_and_the_lock(tmp_path):
    text, report = converted(
        tmp_path,
        """
        [TaskOnKart]
        workspace_directory = s3://bucket/%(PROJECT)s
        redis_host = localhost
        redis_port = 6380
        local_temporary_directory = ./tmp
        """,
    )
    assert text == dedent(
        """
        # cairn's configuration, converted by cairn migrate from luigi.cfg.
        # cairn reads this file, not the ini files: delete them once the values are right.

        workspace = "s3://bucket/${PROJECT}"
        lock = "redis://localhost:6380/0"

        # [TaskOnKart] local_temporary_directory = ./tmp dropped: cairn keeps temporary files
        #   beside the outputs
        """
    )
    assert {(c.file, c.what) for c in report.changes} >= {
        ("luigi.cfg", "[TaskOnKart] workspace_directory -> workspace"),
        ("luigi.cfg", "[TaskOnKart] redis_host/redis_port -> lock"),
        ("luigi.cfg", "[TaskOnKart] %(PROJECT)s -> ${PROJECT} (an environment variable)"),
    }
    config = cairn.load_config(tmp_path / "cairn.toml", environ={"PROJECT": "shop"})
    assert config.workspace == "s3://bucket/shop" and config.lock == "redis://localhost:6380/0"


def test_sections_name_luigi_families_and_become_cairn_families(tmp_path):
    text, report = converted(
        tmp_path,
        """
        [exp.Train]
        lr = 0.01
        epochs = 20
        shuffle = true
        columns = ["user_id", "item_id", "timestamp", "rating", "category", "price",
            "discount", "region", "device"]
        pair = (1, 2)
        options = {"sep": ",", "nested": {"a": [1, 2]}}

        [Plain]
        path = in.csv

        [Shared]
        day = 2024-01-01
        """,
    )
    assert text.split("\n\n", 1)[1] == dedent(
        """
        [tasks."exp.pkg.tasks.Train"]
        lr = 0.01
        epochs = 20
        shuffle = true
        columns = [
            "user_id",
            "item_id",
            "timestamp",
            "rating",
            "category",
            "price",
            "discount",
            "region",
            "device",
        ]
        pair = [1, 2]
        options = { sep = ",", nested = { a = [1, 2] } }

        [tasks."pkg.tasks.Plain"]
        path = "in.csv"

        [tasks."pkg.tasks.Shared"]
        day = "2024-01-01"
        """
    )
    assert '[exp.Train] -> [tasks."exp.pkg.tasks.Train"]' in {c.what for c in report.changes}
    table = tomllib.loads(text)["tasks"]
    assert table["exp.pkg.tasks.Train"]["columns"][-1] == "device"


def test_references_become_cairns_interpolation(tmp_path):
    text, _ = converted(
        tmp_path,
        """
        [DEFAULT]
        root = /data

        [exp.Train]
        name = 100%% sure, $5 at %(root)s for ${USER} in %(REGION)s
        epochs = ${EPOCHS}

        [Plain]
        path = %(base)s/in.csv
        base = %(root)s/raw
        """,
    )
    table = tomllib.loads(text)["tasks"]
    assert table["exp.pkg.tasks.Train"] == {
        "name": "100% sure, $$5 at /data for ${USER} in ${REGION}",
        "epochs": "${EPOCHS}",
    }
    assert table["pkg.tasks.Plain"]["path"] == "/data/raw/in.csv"
    config = cairn.load_config(
        tmp_path / "cairn.toml", environ={"USER": "ann", "REGION": "eu", "EPOCHS": "3"}
    )
    assert config.tasks["exp.pkg.tasks.Train"]["name"] == "100% sure, $5 at /data for ann in eu"


def test_what_cairn_cannot_take_is_commented_out_and_marked(tmp_path):
    text, report = converted(
        tmp_path,
        """
        [TaskOnKart]
        rerun = True

        [core]
        logging_conf_file = conf/logging.ini

        [scheduler]
        retry_delay = 10

        [exp.Train]
        lr = 0.5
        up = x
        unknown = 3

        [Missing]
        x = 1
        """,
    )
    assert "# [core] dropped, it configures luigi: logging_conf_file = conf/logging.ini" in text
    assert "# [scheduler] dropped, it configures luigi: retry_delay = 10" in text
    assert [t.what for t in report.todos] == [
        "[TaskOnKart] rerun = True: it is a build setting in cairn: "
        "cairn.build(task, rerun=True) or cairn run --rerun",
        "[Missing] (x = 1): no task or luigi.Config named Missing found in the code; move the "
        'values to its [tasks."module.Class"] table',
        "up = x: a task parameter cannot be set in cairn.toml; set it in code",
        "unknown = 3: Train has no parameter unknown",
    ]
    assert all(t.file == "cairn.toml" for t in report.todos)
    assert tomllib.loads(text)["tasks"] == {"exp.pkg.tasks.Train": {"lr": 0.5}}


def test_configuration_values_reach_the_migrated_tasks(tmp_path, monkeypatch):
    converted(
        tmp_path,
        """
        [exp.Train]
        lr = 0.01
        columns = ["a",
                   "b"]

        [Shared]
        day = 2024-02-03
        """,
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [m for m in sys.modules if m == "pkg" or m.startswith("pkg.")]:
        monkeypatch.delitem(sys.modules, name)
    from pkg import tasks

    for name in ("pkg", "pkg.base", "pkg.tasks"):
        monkeypatch.setitem(sys.modules, name, sys.modules[name])  # removed again afterwards

    with cairn.load_config(tmp_path / "cairn.toml").active():
        train = tasks.Train()
        assert (train.lr, train.columns) == (0.01, ("a", "b"))
        assert str(tasks.Shared().day) == "2024-02-03"


def test_files_given_with_config_are_read_in_order_later_ones_winning(tmp_path):
    write(tmp_path, {"conf/base.ini": "[exp.Train]\nlr = 0.1\nepochs = 2\n"})
    text, _ = converted(
        tmp_path,
        "[exp.Train]\nlr = 0.3\n",
        name="conf/override.ini",
        config=["conf/base.ini", "conf/override.ini"],
    )
    assert tomllib.loads(text)["tasks"]["exp.pkg.tasks.Train"] == {"lr": 0.3, "epochs": 2}
    assert text.startswith(
        "# cairn's configuration, converted by cairn migrate from conf/base.ini,\n"
        "#   conf/override.ini.\n"
    )
    with pytest.raises(MigrationError, match=r"configuration file 'nope\.ini' does not exist"):
        migrate(tmp_path, config=["nope.ini"])


def test_the_files_add_config_path_names_are_found(tmp_path):
    write(
        tmp_path,
        {
            **TASKS,
            "conf/settings.ini": "[Plain]\npath = x.csv\n",
            "run.py": """
                import luigi

                luigi.configuration.LuigiConfigParser.add_config_path("conf/settings.ini")
            """,
        },
    )
    migrate(tmp_path)
    assert tomllib.loads((tmp_path / "cairn.toml").read_text())["tasks"] == {
        "pkg.tasks.Plain": {"path": "x.csv"}
    }


def test_an_existing_cairn_toml_is_not_overwritten(tmp_path):
    write(tmp_path, {"cairn.toml": 'workspace = "mine"\n'})
    _, report = converted(tmp_path, "[Plain]\npath = x.csv\n")
    assert (tmp_path / "cairn.toml").read_text() == 'workspace = "mine"\n'
    assert '[tasks."pkg.tasks.Plain"]' in (tmp_path / "cairn.migrated.toml").read_text()
    assert any("merge the two by hand" in c.what for c in report.changes)


def test_a_configuration_that_does_not_parse_is_listed(tmp_path):
    write(tmp_path, TASKS)
    (tmp_path / "luigi.cfg").write_text("no section header\n")
    report = migrate(tmp_path)
    assert [e.file for e in report.errors] == ["luigi.cfg"]
    assert not (tmp_path / "cairn.toml").exists()


def test_converting_twice_changes_nothing(tmp_path):
    ini = "[TaskOnKart]\nworkspace_directory = ws\n\n[exp.Train]\nlr = 0.2\n"
    text, first = converted(tmp_path, ini)
    second = migrate(tmp_path)
    assert (tmp_path / "cairn.toml").read_text() == text
    assert second.files == [] and second.changes == []
    assert first.files == ["cairn.toml", "pkg/base.py", "pkg/tasks.py"]
