"""cairn migrate on Python code: each rewriting, before and after, and what is marked."""

# ruff: noqa: E501 - the expected code holds lines as the migration writes them

from __future__ import annotations

import subprocess
import sys

from migrate_helpers import dedent, migrated, write

from cairn.migrate import migrate


def test_task_on_kart_becomes_cairn_task_and_the_imports_follow(tmp_path):
    text, report = migrated(
        tmp_path,
        """
        import gokart
        import luigi


        class Hello(gokart.TaskOnKart):
            name = luigi.Parameter(default="world")

            def run(self):
                self.dump(f"hello {self.name}")
        """,
    )
    assert text == dedent(
        """
        import cairn


        class Hello(cairn.Task):
            name = cairn.Parameter(default="world")

            def run(self):
                self.dump(f"hello {self.name}")
        """
    )
    assert [(c.line, c.what) for c in report.changes] == [
        (5, "gokart.TaskOnKart -> cairn.Task"),
        (6, "luigi.Parameter -> cairn.Parameter"),
    ]
    assert report.todos == [] and report.files == ["pkg/tasks.py"]


def test_names_are_found_by_what_they_refer_to_whatever_they_are_imported_as(tmp_path):
    text, _ = migrated(
        tmp_path,
        """
        from gokart import TaskOnKart as Base
        from gokart.parameter import TaskInstanceParameter
        from luigi import IntParameter as Int
        import luigi.parameter


        class A(Base):
            n = Int(default=1)
            up = TaskInstanceParameter()
            name = luigi.parameter.Parameter()
        """,
    )
    assert text == dedent(
        """
        import cairn


        class A(cairn.Task):
            n = cairn.IntParameter(default=1)
            up = cairn.TaskParameter()
            name = cairn.Parameter()
        """
    )


def test_parameter_types_become_cairns_and_their_keywords_are_kept_or_dropped(tmp_path):
    text, report = migrated(
        tmp_path,
        """
        import datetime
        import enum

        import gokart
        import luigi


        class Colour(enum.Enum):
            RED = 1


        class Everything(gokart.TaskOnKart):
            count = luigi.IntParameter(default=1, significant=False)
            ratio = luigi.FloatParameter(default=0.5, description="how much", positional=False)
            flag = luigi.BoolParameter(default=False, parsing=luigi.BoolParameter.EXPLICIT_PARSING)
            day = luigi.DateParameter(default=datetime.date(2024, 1, 1))
            at = luigi.DateSecondParameter(default=datetime.datetime(2024, 1, 1))
            items = luigi.ListParameter(default=[1, 2], schema={"type": "array"})
            pair = luigi.TupleParameter(default=(1, 2))
            options = luigi.DictParameter(default={})
            colour = luigi.EnumParameter(enum=Colour, default=Colour.RED)
            maybe = luigi.OptionalParameter(default=None)
            explicit = gokart.ExplicitBoolParameter(default=True)
            zoned = gokart.ZonedDateSecondParameter()
        """,
    )
    assert text == dedent(
        """
        import datetime
        import enum

        import cairn


        class Colour(enum.Enum):
            RED = 1


        class Everything(cairn.Task):
            count = cairn.IntParameter(default=1, significant=False)
            ratio = cairn.FloatParameter(default=0.5, description="how much")
            flag = cairn.BoolParameter(default=False)
            day = cairn.DateParameter(default=datetime.date(2024, 1, 1))
            at = cairn.DateTimeParameter(default=datetime.datetime(2024, 1, 1))
            items = cairn.ListParameter(default=[1, 2])
            pair = cairn.ListParameter(default=(1, 2))
            options = cairn.DictParameter(default={})
            colour = cairn.EnumParameter(enum=Colour, default=Colour.RED)
            maybe = cairn.Parameter(default=None)
            explicit = cairn.BoolParameter(default=True)
            zoned = cairn.DateTimeParameter()
        """
    )
    whats = {c.what for c in report.changes}
    assert "FloatParameter: positional= dropped (cairn has no such option)" in whats
    assert "luigi.TupleParameter -> cairn.ListParameter" in whats
    assert "gokart.ZonedDateSecondParameter -> cairn.DateTimeParameter" in whats
    assert report.todos == []


def test_gokart_parameter_types_take_their_arguments_the_cairn_way(tmp_path):
    text, report = migrated(
        tmp_path,
        """
        import gokart


        class Window:
            def gokart_serialize(self):
                return "w"

            @classmethod
            def gokart_deserialize(cls, text):
                return cls()


        class Source(gokart.TaskOnKart):
            pass


        class Use(gokart.TaskOnKart):
            first = gokart.TaskInstanceParameter(Source)
            second = gokart.TaskInstanceParameter(expected_type=Source, significant=False)
            many = gokart.ListTaskInstanceParameter(expected_elements_type=Source)
            window = gokart.SerializableParameter(object_type=Window)
        """,
    )
    assert text.endswith(
        dedent(
            """
            class Use(cairn.Task):
                first = cairn.TaskParameter(expected_type=Source)
                second = cairn.TaskParameter(expected_type=Source, significant=False)
                many = cairn.TaskListParameter()
                window = cairn.SerializableParameter(Window, serialize=Window.gokart_serialize, deserialize=Window.gokart_deserialize)
            """
        )
    )
    assert any("expected_elements_type dropped" in c.what for c in report.changes)


def test_parameters_cairn_cannot_express_are_marked(tmp_path):
    text, report = migrated(
        tmp_path,
        """
        import gokart
        import luigi


        class Odd(gokart.TaskOnKart):
            mode = luigi.ChoiceParameter(choices=["a", "b"], default="a")
            n = luigi.NumericalParameter(var_type=int, min_value=0, max_value=9, default=1)
            cls = luigi.TaskParameter()
            from_config = luigi.Parameter(config_path=dict(section="s", name="n"))
        """,
    )
    assert text == dedent(
        """
        import cairn
        import luigi


        class Odd(cairn.Task):
            # cairn migrate: cairn has no ChoiceParameter: values are not checked against choices=
            mode = cairn.Parameter(default="a")
            # cairn migrate: cairn does not check min_value/max_value: check the range in run()
            n = cairn.IntParameter(default=1)
            # cairn migrate: luigi.TaskParameter: it holds a task class, cairn's parameters hold
            #   values: pass a task instance with cairn.TaskParameter, or the class name with
            #   cairn.Parameter
            cls = luigi.TaskParameter()
            # cairn migrate: config_path= has no cairn equivalent: set the value in cairn.toml's
            #   [tasks."<family>"] section instead
            from_config = cairn.Parameter()
        """
    )
    assert [t.line for t in report.todos] == [6, 8, 10, 14]
    assert report.todos[2].what.startswith("luigi.TaskParameter: it holds a task class")


def test_task_namespace_and_class_level_settings(tmp_path):
    text, report = migrated(
        tmp_path,
        """
        import gokart
        import luigi


        class Base(gokart.TaskOnKart):
            task_namespace = "exp"
            fail_on_empty_dump = gokart.ExplicitBoolParameter(default=True)
            fix_random_seed_value = luigi.IntParameter(default=7)
            redis_host = luigi.Parameter(default="localhost")
        """,
    )
    assert text == dedent(
        """
        import cairn


        class Base(cairn.Task):
            namespace = "exp"
            fail_on_empty_dump = True
            random_seed = 7
            # cairn migrate: redis_host: it is a build setting in cairn: cairn.build(...,
            #   lock="redis://host:port/0") or lock = in cairn.toml
            redis_host = cairn.Parameter(default="localhost")
        """
    )
    assert "task_namespace -> namespace" in {c.what for c in report.changes}


def test_inherits_config_params_becomes_cairn_inherits_with_the_aliases_turned_round(tmp_path):
    text, report = migrated(
        tmp_path,
        """
        import gokart
        import luigi
        from gokart.config_params import inherits_config_params


        class Shared(luigi.Config):
            date = luigi.DateParameter()


        @inherits_config_params(Shared, parameter_alias={"date": "day"})
        class Ingest(gokart.TaskOnKart):
            day = luigi.DateParameter()
        """,
    )
    assert text == dedent(
        """
        import cairn


        class Shared(cairn.ParameterGroup):
            date = cairn.DateParameter()


        @cairn.inherits(Shared, aliases={"day": "date"})
        class Ingest(cairn.Task):
            day = cairn.DateParameter()
        """
    )
    assert "luigi.Config -> cairn.ParameterGroup" in {c.what for c in report.changes}


def test_gokart_build_takes_the_settings_gokart_gave_each_task(tmp_path):
    text, report = migrated(
        tmp_path,
        """
        import gokart
        import luigi


        class A(gokart.TaskOnKart):
            pass


        def main():
            out = gokart.build(
                A(rerun=True, workspace_directory="/tmp/ws", redis_host="localhost", redis_port=6380),
                log_level=40,
                reset_register=False,
                workers=2,
            )
            gokart.build(A(), return_value=False)
            ok = luigi.build([A(), A()], local_scheduler=True)
            return out, ok
        """,
    )
    assert text.endswith(
        dedent(
            """
            def main():
                out = cairn.build(
                    A(),
                    workers=2,
                    executor="processes",
                    rerun=True,
                    workspace="/tmp/ws",
                    lock="redis://localhost:6380/0",
                )
                cairn.build(A())
                # cairn migrate: luigi.build returned True/False; cairn.build returns the outputs and
                #   raises cairn.BuildError when a task fails
                ok = cairn.build([A(), A()])
                return out, ok
            """
        )
    )
    whats = {c.what for c in report.changes}
    assert "rerun= moved from the task to the build: rerun=" in whats
    assert "redis_host/redis_port moved from the task to the build: lock=" in whats
    assert "gokart.build(log_level=...) dropped (cairn has no such option)" in whats


def test_settings_given_to_a_task_outside_a_build_are_marked(tmp_path):
    text, _ = migrated(
        tmp_path,
        """
        import gokart


        class A(gokart.TaskOnKart):
            pass


        task = A(rerun=True)
        """,
    )
    assert text.endswith(
        "# cairn migrate: rerun=: it is a build setting in cairn: cairn.build(task, rerun=True)\n"
        "#   or cairn run --rerun\ntask = A(rerun=True)\n"
    )


def test_gokart_methods_keep_their_names_and_take_cairns_keywords(tmp_path):
    text, report = migrated(
        tmp_path,
        """
        import gokart


        class Data(gokart.TaskOnKart):
            def output(self):
                return {
                    "small": self.make_target(relative_file_path="d/small.pkl"),
                    "big": self.make_large_data_frame_target("d/big.zip", max_byte=2**20),
                }

            def run(self):
                self.dump([1], target="small")


        class Use(gokart.TaskOnKart):
            data = gokart.TaskInstanceParameter()
            parts = gokart.ListTaskInstanceParameter()

            def output(self):
                return self.make_target()

            def run(self):
                frame = self.load_data_frame(self.data, required_columns={"a"})
                parts = list(self.load_generator(target="parts"))
                self.dump((frame, parts, self.make_unique_id()))
        """,
    )
    assert text == dedent(
        """
        import cairn


        class Data(cairn.Task):
            def output(self):
                return {
                    "small": self.make_target(path="d/small.pkl"),
                    "big": self.make_target("d/big.parquet"),
                }

            def run(self):
                self.dump([1], key="small")


        class Use(cairn.Task):
            data = cairn.TaskParameter()
            parts = cairn.TaskListParameter()

            def output(self):
                return self.make_target("pkg/tasks/Use.pkl")

            def run(self):
                frame = self.load_data_frame("data", required_columns={"a"})
                parts = list(self.load_generator(key="parts"))
                self.dump((frame, parts, self.task_id))
        """
    )
    assert "load(self.data) -> load('data')" in {c.what for c in report.changes}


def test_loading_a_task_parameter_is_marked_when_requires_is_written_by_hand(tmp_path):
    text, _ = migrated(
        tmp_path,
        """
        import gokart


        class Use(gokart.TaskOnKart):
            data = gokart.TaskInstanceParameter()

            def requires(self):
                return {"d": self.data}

            def run(self):
                return self.load(self.data)
        """,
    )
    assert (
        "        # cairn migrate: load(self.data): cairn's load() takes a key of requires(), "
        "not a task\n        return self.load(self.data)\n"
    ) in text


def test_what_cairn_has_no_equivalent_for_stays_and_is_marked_once(tmp_path):
    code = """
        import gokart


        class Use(gokart.TaskOnKart):
            def complete(self):
                return True

            def run(self):
                if self.rerun:
                    pass
                inputs = self.input()
                self.task_log["x"] = 1
                yield Use()
                self.dump(inputs, custom_labels={"a": 1})
        """
    text, report = migrated(tmp_path, code)
    assert text == dedent(
        """
        import cairn


        class Use(cairn.Task):
            # cairn migrate: complete(): cairn decides completeness from run records; complete() is
            #   not called
            def complete(self):
                return True

            def run(self):
                # cairn migrate: self.rerun: it is a build setting in cairn: cairn.build(task,
                #   rerun=True) or cairn run --rerun
                if self.rerun:
                    pass
                # cairn migrate: self.input(): luigi targets have no cairn equivalent: read inputs with
                #   self.load()
                inputs = self.input()
                # cairn migrate: self.task_log: log with self.logger instead (its records go into the
                #   run record)
                self.task_log["x"] = 1
                # cairn migrate: yield in run() (luigi's dynamic dependencies): use outputs =
                #   self.require(tasks), which returns their outputs
                yield Use()
                self.dump(inputs, custom_labels={"a": 1})
        """
    )
    assert len(report.todos) == 5
    again = migrate(tmp_path)
    assert (tmp_path / "pkg/tasks.py").read_text() == text
    assert again.files == [] and again.changes == []
    assert again.todos == report.todos


def test_other_gokart_and_luigi_names_are_marked(tmp_path):
    text, _ = migrated(
        tmp_path,
        """
        import gokart
        import luigi


        class Ext(luigi.ExternalTask):
            def output(self):
                return luigi.LocalTarget("data.csv")
        """,
    )
    assert "# cairn migrate: luigi.ExternalTask: use cairn.ExternalFile" in text
    assert "# cairn migrate: luigi.LocalTarget: luigi targets are not cairn targets" in text
    assert "import luigi\n" in text and "import gokart" not in text


def test_inspection_helpers_and_restore(tmp_path):
    text, _ = migrated(
        tmp_path,
        """
        import gokart


        class A(gokart.TaskOnKart):
            pass


        print(gokart.make_task_info_as_tree_str(A()))
        gokart.delete_local_unnecessary_outputs(A())
        again = A.restore("0123")
        """,
    )
    assert text.endswith(
        'print(str(cairn.status(A())))\ncairn.gc(A())\nagain = A.from_id("0123")\n'
    )


def test_parameter_annotations_become_value_types(tmp_path):
    text, _ = migrated(
        tmp_path,
        """
        import gokart
        import luigi


        class Source(gokart.TaskOnKart):
            pass


        class A(gokart.TaskOnKart):
            n: luigi.Parameter[int] = luigi.IntParameter(default=1)
            lr: luigi.FloatParameter = luigi.FloatParameter(default=0.1)
            up: gokart.TaskInstanceParameter[Source] = gokart.TaskInstanceParameter()
            when: luigi.DateParameter = luigi.DateParameter()
            kept: int = luigi.IntParameter(default=2)
        """,
    )
    assert text.endswith(
        dedent(
            """
            class A(cairn.Task):
                n: int = cairn.IntParameter(default=1)
                lr: float = cairn.FloatParameter(default=0.1)
                up: Source = cairn.TaskParameter()
                when = cairn.DateParameter()
                kept: int = cairn.IntParameter(default=2)
            """
        )
    )


def test_comments_docstrings_and_formatting_survive(tmp_path):
    code = '''
        """The module's docstring."""

        import gokart  # the pipeline library
        import luigi


        # A comment above the class.
        class Train(  gokart.TaskOnKart  ):   # odd spacing kept
            """Train a model."""

            lr = luigi.FloatParameter(
                default=0.1,  # the learning rate
                description="step size",
            )

            def run(self):
                # compute
                self.dump( {"lr": self.lr} )   # trailing comment
        '''
    text, _ = migrated(tmp_path, code)
    assert text == dedent(
        '''
        """The module's docstring."""

        import cairn


        # A comment above the class.
        class Train(  cairn.Task  ):   # odd spacing kept
            """Train a model."""

            lr = cairn.FloatParameter(
                default=0.1,  # the learning rate
                description="step size",
            )

            def run(self):
                # compute
                self.dump( {"lr": self.lr} )   # trailing comment
        '''
    )


def test_project_base_classes_in_other_modules_make_tasks(tmp_path):
    text, _ = migrated(
        tmp_path,
        """
        from .base import Base


        class Child(Base):
            task_namespace = "kids"

            def run(self):
                return self.workspace_directory
        """,
        files={
            "pkg/base.py": """
                import gokart


                class Base(gokart.TaskOnKart):
                    pass
            """
        },
    )
    assert 'namespace = "kids"' in text
    assert "# cairn migrate: self.workspace_directory: it is a build setting" in text


def test_code_without_gokart_or_luigi_is_left_as_it_is(tmp_path):
    code = """
        class Plain:
            task_namespace = "not a task"

            def load(self, target=None):
                return self.rerun
        """
    text, report = migrated(tmp_path, code)
    assert text == dedent(code)
    assert report.files == [] and report.changes == [] and report.todos == []


def test_a_file_that_does_not_parse_is_listed_and_left_untouched(tmp_path):
    write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/broken.py": "import gokart\nclass A(gokart.TaskOnKart:\n",
            "pkg/good.py": "import gokart\n\n\nclass B(gokart.TaskOnKart):\n    pass\n",
        },
    )
    report = migrate(tmp_path)
    assert (tmp_path / "pkg/broken.py").read_text() == "import gokart\nclass A(gokart.TaskOnKart:\n"
    assert "class B(cairn.Task):" in (tmp_path / "pkg/good.py").read_text()
    assert [e.file for e in report.errors] == ["pkg/broken.py"]
    assert "does not parse, left untouched" in report.errors[0].what
    assert not report.ok and "not migrated (left untouched):" in str(report)


def test_dry_run_changes_nothing_and_returns_the_diff(tmp_path):
    code = "import gokart\n\n\nclass B(gokart.TaskOnKart):\n    pass\n"
    write(tmp_path, {"pkg/__init__.py": "", "pkg/b.py": code})
    report = migrate(tmp_path, dry_run=True)
    assert (tmp_path / "pkg/b.py").read_text() == code
    assert report.dry_run and report.files == ["pkg/b.py"]
    assert "-class B(gokart.TaskOnKart):\n+class B(cairn.Task):\n" in report.diff
    assert str(report).startswith(f"cairn migrate {tmp_path}: would change 1 file(s)")


def test_importing_cairn_or_its_migrate_package_does_not_import_libcst():
    code = "import sys, cairn, cairn.migrate; print('libcst' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_luigi_run_and_other_bases_in_a_script(tmp_path):
    text, report = migrated(
        tmp_path,
        """
        import sys
        import gokart as gk
        import luigi


        class Frame(gk.TaskOnKart[dict]):
            pass


        class All(luigi.WrapperTask):
            def requires(self):
                return [Frame()]


        class Raw(luigi.Task):
            pass


        if __name__ == "__main__":
            ok = luigi.run(["All", "--local-scheduler"])
            luigi.run(main_task_cls=All)
            luigi.run()
        """,
        name="main.py",
    )
    assert text == dedent(
        """
        import sys
        import cairn
        import cairn.cli
        import cairn.migrate
        import luigi

        # luigi's task names and cairn's, so `python main.py Name --param v` keeps working
        LUIGI_TASKS = {
            "All": "main:All",
            "Frame": "main:Frame",
            "Raw": "main:Raw",
        }


        class Frame(cairn.Task[dict]):
            pass


        class All(cairn.Task):
            def requires(self):
                return [Frame()]


        # cairn migrate: luigi.Task: a plain luigi task: derive it from cairn.Task, return its
        #   output from run() (or self.dump() it) and drop output()'s luigi targets
        class Raw(luigi.Task):
            pass


        if __name__ == "__main__":
            ok = cairn.cli.main(cairn.migrate.luigi_argv(["All", "--local-scheduler"], LUIGI_TASKS)) == 0
            # cairn migrate: luigi.run(...) with these arguments: call cairn.cli.main([...]) instead
            luigi.run(main_task_cls=All)
            cairn.cli.main(cairn.migrate.luigi_argv(sys.argv[1:], LUIGI_TASKS))
        """
    )
    assert "luigi.WrapperTask -> cairn.Task" in {c.what for c in report.changes}


def test_gokart_run_without_tasks_still_defines_the_task_names(tmp_path):
    text, _ = migrated(tmp_path, "import gokart\n\ngokart.run()\n", name="main.py")
    assert text == dedent(
        """
        import sys

        import cairn.cli
        import cairn.migrate

        # luigi's task names and cairn's, so `python main.py Name --param v` keeps working
        LUIGI_TASKS: dict[str, str] = {}

        sys.exit(cairn.cli.main(cairn.migrate.luigi_argv(sys.argv[1:], LUIGI_TASKS)))
        """
    )


def test_add_config_path_before_a_build_moves_the_block_inside_the_configuration(tmp_path):
    write(tmp_path, {"conf/param.ini": "[Hello]\nname = cairn\n"})
    text, report = migrated(
        tmp_path,
        """
        import gokart
        import luigi


        class Hello(gokart.TaskOnKart):
            name = luigi.Parameter(default="world")


        def main():
            # settings first
            luigi.configuration.LuigiConfigParser.add_config_path("conf/param.ini")

            task = Hello()
            return gokart.build(task)


        def elsewhere(path):
            luigi.configuration.add_config_path(path)
        """,
    )
    assert text.split("\n\n\ndef ", 1)[1] == dedent(
        """
        main():
            # settings first
            cairn_config = cairn.load_config("cairn.toml")
            with cairn_config.active():
                task = Hello()
                return cairn.build(task, config=cairn_config)


        def elsewhere(path):
            # cairn migrate: luigi read this configuration file for the whole process; cairn reads
            #   cairn.toml when asked: construct tasks inside `with
            #   cairn.load_config("cairn.toml").active():` and pass config= to cairn.build
            luigi.configuration.add_config_path(path)
        """
    )
    assert (tmp_path / "cairn.toml").exists() and report.ok


def test_dump_keeps_custom_labels_and_renames_target_to_key(tmp_path):
    code = """
        import gokart


        class Use(gokart.TaskOnKart):
            def run(self):
                self.dump(1, target="x", custom_labels={"team": "ml"})
        """
    text, report = migrated(tmp_path, code)
    assert 'self.dump(1, key="x", custom_labels={"team": "ml"})' in text
    assert "# cairn migrate" not in text
    assert not [todo for todo in report.todos if "custom_labels" in str(todo)]
