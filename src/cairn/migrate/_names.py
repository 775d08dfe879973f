"""What each gokart and luigi name becomes in cairn: the tables the rewriting reads.

One place knows the mapping (docs/migrating-from-gokart.md in table form): parameter types
and what happens to their keyword arguments, the names that are renamed as they are, the
gokart settings that became build settings, the gokart methods whose keywords changed, and
the luigi sections of a configuration file. :func:`canonical` folds the many import paths of
one gokart or luigi name (``gokart.task.TaskOnKart``, ``luigi.parameter.IntParameter``) into
the public one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "ADD_CONFIG",
    "INSPECT",
    "SELF_ATTRIBUTES",
    "TASK_METHODS",
    "BUILD_DROPPED_KEYWORDS",
    "GROUP_BASES",
    "LUIGI_SECTIONS",
    "METHOD_KEYWORDS",
    "PARAMETERS",
    "RENAMES",
    "SETTINGS",
    "TASK_BASES",
    "UNSUPPORTED_METHODS",
    "UNSUPPORTED_NAMES",
    "ParamSpec",
    "canonical",
]

#: Keyword arguments every cairn parameter takes.
COMMON_KEYWORDS = frozenset({"default", "significant", "description"})

#: luigi keyword arguments that mean nothing in cairn: dropped, and said so in the report.
DROPPED_KEYWORDS = frozenset(
    {"positional", "always_in_help", "visibility", "schema", "parsing", "interval", "start"}
)

#: luigi keyword arguments whose behaviour cairn does not have: kept out, marked by hand.
MARKED_KEYWORDS = {
    "config_path": "config_path= has no cairn equivalent: set the value in cairn.toml's "
    '[tasks."<family>"] section instead',
    "batch_method": "batch_method= (luigi batching) has no cairn equivalent: drop it",
}


@dataclass(frozen=True)
class ParamSpec:
    """How one gokart/luigi parameter type converts.

    ``target`` is the cairn class (None: not convertible, the declaration is marked);
    ``kind`` says how a configuration value for it is written in TOML; ``keeps`` the extra
    keywords cairn's class takes; ``todo`` a marker for what the conversion loses.
    """

    target: str | None
    kind: str
    keeps: frozenset[str] = field(default_factory=frozenset)
    todo: str = ""
    value_type: str | None = None


def _spec(
    target: str | None, kind: str, *keeps: str, todo: str = "", value: str | None = None
) -> ParamSpec:
    return ParamSpec(target, kind, frozenset(keeps), todo, value)


_CHOICES = "cairn has no ChoiceParameter: values are not checked against choices="
_RANGE = "cairn does not check min_value/max_value: check the range in run()"
_PATH = (
    "values are str in cairn (luigi gave a pathlib.Path); for input files use cairn.FileParameter"
)

PARAMETERS: dict[str, ParamSpec] = {
    "luigi.Parameter": _spec("Parameter", "str", value="str"),
    "luigi.StrParameter": _spec("Parameter", "str", value="str"),
    "luigi.OptionalParameter": _spec("Parameter", "str"),
    "luigi.OptionalStrParameter": _spec("Parameter", "str"),
    "luigi.IntParameter": _spec("IntParameter", "int", value="int"),
    "luigi.OptionalIntParameter": _spec("IntParameter", "int"),
    "luigi.FloatParameter": _spec("FloatParameter", "float", value="float"),
    "luigi.OptionalFloatParameter": _spec("FloatParameter", "float"),
    "luigi.BoolParameter": _spec("BoolParameter", "bool", value="bool"),
    "luigi.OptionalBoolParameter": _spec("BoolParameter", "bool"),
    "gokart.ExplicitBoolParameter": _spec("BoolParameter", "bool", value="bool"),
    "luigi.DateParameter": _spec("DateParameter", "date"),
    "luigi.DateHourParameter": _spec("DateTimeParameter", "datetime"),
    "luigi.DateMinuteParameter": _spec("DateTimeParameter", "datetime"),
    "luigi.DateSecondParameter": _spec("DateTimeParameter", "datetime"),
    "gokart.ZonedDateSecondParameter": _spec("DateTimeParameter", "datetime"),
    "luigi.ListParameter": _spec("ListParameter", "list"),
    "luigi.OptionalListParameter": _spec("ListParameter", "list"),
    "luigi.TupleParameter": _spec("ListParameter", "list"),
    "luigi.OptionalTupleParameter": _spec("ListParameter", "list"),
    "luigi.DictParameter": _spec("DictParameter", "dict"),
    "luigi.OptionalDictParameter": _spec("DictParameter", "dict"),
    "luigi.EnumParameter": _spec("EnumParameter", "enum", "enum"),
    "luigi.ChoiceParameter": _spec("Parameter", "str", todo=_CHOICES),
    "luigi.OptionalChoiceParameter": _spec("Parameter", "str", todo=_CHOICES),
    "luigi.NumericalParameter": _spec("FloatParameter", "float", todo=_RANGE),
    "luigi.OptionalNumericalParameter": _spec("FloatParameter", "float", todo=_RANGE),
    "luigi.PathParameter": _spec("Parameter", "str", todo=_PATH),
    "luigi.OptionalPathParameter": _spec("Parameter", "str", todo=_PATH),
    "gokart.TaskInstanceParameter": _spec("TaskParameter", "task", "expected_type"),
    "gokart.ListTaskInstanceParameter": _spec("TaskListParameter", "tasks"),
    "gokart.SerializableParameter": _spec("SerializableParameter", "str"),
    "luigi.TaskParameter": _spec(
        None,
        "other",
        todo="it holds a task class, cairn's parameters hold values: pass a task instance "
        "with cairn.TaskParameter, or the class name with cairn.Parameter",
    ),
    "luigi.TimeDeltaParameter": _spec(
        None, "other", todo="cairn has no TimeDeltaParameter: use a FloatParameter of seconds"
    ),
    "luigi.MonthParameter": _spec(
        None, "other", todo="cairn has no MonthParameter: use a DateParameter (first of month)"
    ),
    "luigi.YearParameter": _spec(
        None, "other", todo="cairn has no YearParameter: use an IntParameter"
    ),
    "luigi.DateIntervalParameter": _spec(
        None, "other", todo="cairn has no DateIntervalParameter: use two DateParameters"
    ),
    "luigi.EnumListParameter": _spec(
        None, "other", todo="cairn has no EnumListParameter: use a ListParameter of names"
    ),
}

#: cairn's own parameter types, for a second run and for projects half migrated by hand.
CAIRN_PARAMETERS = {
    "cairn.Parameter": "str",
    "cairn.IntParameter": "int",
    "cairn.FloatParameter": "float",
    "cairn.BoolParameter": "bool",
    "cairn.DateParameter": "date",
    "cairn.DateTimeParameter": "datetime",
    "cairn.ListParameter": "list",
    "cairn.DictParameter": "dict",
    "cairn.EnumParameter": "enum",
    "cairn.TaskParameter": "task",
    "cairn.TaskListParameter": "tasks",
    "cairn.SerializableParameter": "str",
    "cairn.FileParameter": "str",
}

#: Bases that make a class a task, and a parameter group, before and after migration.
TASK_BASES = frozenset(
    {"gokart.TaskOnKart", "luigi.Task", "luigi.WrapperTask", "luigi.ExternalTask", "cairn.Task"}
)
GROUP_BASES = frozenset({"luigi.Config", "cairn.ParameterGroup"})

#: Names renamed wherever they appear (not as a call with arguments to rewrite).
RENAMES = {
    "gokart.TaskOnKart": "Task",
    "luigi.Config": "ParameterGroup",
    "luigi.WrapperTask": "Task",
}

#: Every call of these adds a configuration file (``conf/param.ini``).
ADD_CONFIG = frozenset({"luigi.configuration.add_config_path", "gokart.add_config"})

#: gokart.build / luigi.build keywords with no meaning in cairn.
BUILD_DROPPED_KEYWORDS = frozenset(
    {
        "return_value",
        "reset_register",
        "log_level",
        "local_scheduler",
        "detailed_summary",
        "task_lock_exception_max_tries",
        "task_lock_exception_max_wait_seconds",
        "task_dump_config",
        "no_lock",
    }
)

_BUILD = "it is a build setting in cairn"
#: gokart's settings, declared on every task as parameters: what each one became.
SETTINGS = {
    "workspace_directory": f"{_BUILD}: cairn.build(..., workspace=...), $CAIRN_WORKSPACE, "
    "or workspace = in cairn.toml",
    "local_temporary_directory": "cairn keeps temporary files beside the outputs: drop it",
    "rerun": f"{_BUILD}: cairn.build(task, rerun=True) or cairn run --rerun",
    "strict_check": f"{_BUILD}: cairn.build(task, strict_check=True)",
    "modification_time_check": f"{_BUILD}: cairn.build(task, modification_time_check=True)",
    "serialized_task_definition_check": "cairn ids include the code: drop it",
    "delete_unnecessary_output_files": "use cairn gc module:Task (or cairn.gc(task))",
    "fix_random_seed_methods": "cairn seeds random and numpy from the task id: drop it, or "
    "use self.random / self.numpy_random",
    "fix_random_seed_value": "set random_seed = N on the class",
    "redis_host": f'{_BUILD}: cairn.build(..., lock="redis://host:port/0") or lock = in cairn.toml',
    "redis_port": f'{_BUILD}: cairn.build(..., lock="redis://host:port/0") or lock = in cairn.toml',
    "redis_timeout": "cairn's redis lock has its own timeouts: drop it",
    "should_lock_run": f'{_BUILD}: cairn.build(..., lock="redis://host:port/0")',
    "fail_on_empty_dump": "set fail_on_empty_dump = True on the class",
    "store_index_in_feather": "cairn's feather format keeps the index: drop it",
    "cache_unique_id": "cairn computes each id once: drop it",
    "should_dump_supplementary_log_files": "the run record holds the log: drop it",
    "complete_check_at_run": "cairn checks completeness again after taking a task's lock: drop it",
    "significant": "cairn has no task-level significant: mark parameters significant=False",
}

#: gokart method keywords renamed in cairn: method -> {gokart keyword: cairn keyword}.
METHOD_KEYWORDS = {
    "make_target": {"relative_file_path": "path"},
    "make_model_target": {"relative_file_path": "path"},
    "load": {"target": "key"},
    "load_generator": {"target": "key"},
    "load_data_frame": {"target": "key"},
    "dump": {"target": "key"},
}

#: ``self.<method>()`` calls cairn has no equivalent for, and what to do instead.
UNSUPPORTED_METHODS = {
    "input": "luigi targets have no cairn equivalent: read inputs with self.load()",
    "get_own_code": "cairn fingerprints the code itself (see docs/reuse.md): drop it",
    "get_info": "use cairn.show(task) for the run record",
    "get_task_log": "the log is in the run record: cairn.show(task)['log']",
    "get_processing_time": "the duration is in the run record: cairn.show(task)",
    "to_str_params": "use the parameter attributes, or cairn.show(task)['params']",
    "get_param_values": "construct the task with keyword arguments",
    "get_task_family": "use type(self).family (module and class name in cairn)",
    "complete": "cairn decides completeness from run records: use cairn.plan(task)",
    "make_task_instance_dictionary": "task parameters are required automatically in cairn",
}

#: gokart/luigi names (other than the ones rewritten) that cairn has no equivalent for.
UNSUPPORTED_NAMES = {
    "luigi.LocalTarget": "luigi targets are not cairn targets: return self.make_target(...) "
    "from output(), or read outside files with cairn.ExternalFile",
    "luigi.ExternalTask": "use cairn.ExternalFile for files made outside the pipeline",
    "luigi.Task": "a plain luigi task: derive it from cairn.Task, return its output from "
    "run() (or self.dump() it) and drop output()'s luigi targets",
    "luigi.namespace": "set namespace = ... on each task class instead",
    "luigi.auto_namespace": "set namespace = ... on each task class instead",
    "luigi.util.inherits": "use @cairn.inherits(Group) with a cairn.ParameterGroup, or "
    "task.clone(OtherTask)",
    "luigi.util.requires": "write requires() by hand, or use a cairn.TaskParameter",
    "luigi.Event": "use cairn.hooks (build hooks) instead of luigi events",
    "gokart.PandasTypeConfig": 'declare schema = {"column": "dtype", ...} on the task',
    "gokart.test_run": "use cairn plan module:Task, or cairn.testing.run_task",
    "luigi.configuration.get_config": "read settings from cairn.load_config() instead",
    "luigi.configuration.LuigiConfigParser": "read settings from cairn.load_config() instead",
}

#: gokart's inspection helpers and their cairn expressions (``{}`` is the task).
INSPECT = {
    "gokart.make_task_info_as_tree_str": "str(cairn.status({}))",
    "gokart.make_task_info_as_table": "cairn.status({}).to_frame()",
    "gokart.delete_local_unnecessary_outputs": "cairn.gc({})",
}

#: Methods of a task class that cairn does not call, and what to do instead.
TASK_METHODS = {
    "__init__": "cairn tasks are values: compute derived values in methods, not in __init__",
    "complete": "cairn decides completeness from run records; complete() is not called",
    "input": "cairn has no input(): read inputs with self.load()",
    "on_success": "luigi's event methods are not called: use cairn.hooks",
    "on_failure": "luigi's event methods are not called: use cairn.hooks",
}

#: ``self.<attribute>`` uses in a task that have no cairn equivalent.
SELF_ATTRIBUTES = {
    **{name: f"self.{name}: {what}" for name, what in SETTINGS.items()},
    "task_log": "self.task_log: log with self.logger instead (its records go into the run record)",
    "param_kwargs": "self.param_kwargs: read the parameter attributes",
}

#: Sections of a luigi configuration that configure luigi itself: dropped with a note.
LUIGI_SECTIONS = frozenset(
    {
        "core",
        "scheduler",
        "worker",
        "retcode",
        "logging",
        "email",
        "smtp",
        "sendgrid",
        "batch_email",
        "resources",
        "execution_summary",
        "task_history",
        "hdfs",
        "spark",
        "hadoop",
        "webhdfs",
        "elasticsearch",
        "cron",
        "tree_info",
        "gokart.tree_info",
        "S3Config",
        "GCSConfig",
    }
)

_GOKART_PUBLIC = frozenset(
    {
        "TaskOnKart",
        "TaskInstanceParameter",
        "ListTaskInstanceParameter",
        "ExplicitBoolParameter",
        "ZonedDateSecondParameter",
        "SerializableParameter",
        "PandasTypeConfig",
        "build",
        "run",
        "test_run",
        "add_config",
        "inherits_config_params",
        "make_task_info_as_tree_str",
        "make_task_info_as_table",
        "delete_local_unnecessary_outputs",
    }
)
_LUIGI_MODULES = ("luigi.parameter.", "luigi.task.", "luigi.interface.", "luigi.local_target.")


def canonical(name: str) -> str:
    """The public name of a gokart or luigi object, whichever module it was imported from."""
    if name.startswith("gokart."):
        last = name.rsplit(".", 1)[-1]
        if last in _GOKART_PUBLIC:
            return f"gokart.{last}"
        return name
    if name.startswith("luigi.configuration") and name.endswith(".add_config_path"):
        return "luigi.configuration.add_config_path"
    if name.startswith("luigi.configuration.") and name.rsplit(".", 1)[-1] == "get_config":
        return "luigi.configuration.get_config"
    for prefix in _LUIGI_MODULES:
        if name.startswith(prefix):
            return "luigi." + name[len(prefix) :]
    return name
