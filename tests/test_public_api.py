"""The public face: names pinned, and `import cairn` stays light."""

from __future__ import annotations

import importlib
import subprocess
import sys
import typing

import pytest

import cairn

EXPECTED = {
    "BoolParameter",
    "BuildError",
    "BuildOutcome",
    "CairnError",
    "Change",
    "Config",
    "ConfigError",
    "CorruptOutputError",
    "CorruptRecordError",
    "DateParameter",
    "DateTimeParameter",
    "DependencyCycleError",
    "DictParameter",
    "EmptyDumpError",
    "EnumParameter",
    "ExternalFile",
    "FileParameter",
    "FingerprintWarning",
    "FloatParameter",
    "FormatError",
    "GcResult",
    "Graph",
    "GraphNode",
    "IntParameter",
    "KeyNotFoundError",
    "ListParameter",
    "Listing",
    "LockError",
    "MissingColumnsError",
    "MissingExtraError",
    "MissingInputError",
    "OutputNotFoundError",
    "Parameter",
    "ParameterError",
    "ParameterGroup",
    "Pipeline",
    "PipelineError",
    "Plan",
    "PlanEntry",
    "RequirementError",
    "RunRecord",
    "SchemaError",
    "SerializableParameter",
    "Status",
    "StoreError",
    "StoreUnreachableError",
    "StoredTask",
    "Target",
    "TargetError",
    "Task",
    "TaskListParameter",
    "TaskParameter",
    "TaskStatus",
    "VerifyResult",
    "WorkerLostError",
    "__version__",
    "build",
    "gc",
    "graph",
    "inherits",
    "load_config",
    "ls",
    "node",
    "plan",
    "results",
    "show",
    "status",
    "verify",
}


#: The other modules users import, and the names each makes public.
MODULES = {
    "cairn.formats": {
        *("BaseFormat", "Csv", "Feather", "Format", "Parquet"),
        *("extension_of", "get", "known_extensions", "register"),
    },
    "cairn.executors": {"BaseExecutor", "Executor", "get_executor", "register_executor"},
    "cairn.locks": {
        *("BaseLock", "FileLock", "Lease", "Lock", "NullLock", "RedisLock"),
        *("get_lock", "register_lock"),
    },
    "cairn.hooks": {"BuildHook", "BuildSummary", "SlackNotifier", "TaskView"},
    "cairn.testing": {"assert_frames_equal", "cairn_workspace", "run_task"},
    "cairn.progress": {"Reporter", "live_display_wanted"},
    "cairn.viz": {"DOT_HINT", "FORMATS", "Graph", "GraphNode", "graph"},
    "cairn.pipeline": {"Node", "NodeTask", "Pipeline", "node"},
    "cairn.cli": {"EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "cli", "main", "resolve_task"},
}


def test_public_names_are_pinned():
    assert set(cairn.__all__) == EXPECTED
    for name in cairn.__all__:
        assert hasattr(cairn, name), name


@pytest.mark.parametrize("module", sorted(MODULES))
def test_public_names_of_every_public_module_are_pinned(module):
    imported = importlib.import_module(module)
    assert set(imported.__all__) == MODULES[module]
    for name in imported.__all__:
        assert hasattr(imported, name), f"{module}.{name}"


def _public_objects() -> set[int]:
    found = {id(getattr(cairn, n)) for n in cairn.__all__}
    for module in MODULES:
        imported = importlib.import_module(module)
        found.update(id(getattr(imported, n)) for n in imported.__all__)
    return found


def _classes(annotation):
    if isinstance(annotation, type):
        yield annotation
    for arg in typing.get_args(annotation):
        yield from _classes(arg)
    origin = typing.get_origin(annotation)
    if isinstance(origin, type):
        yield origin


# cairn.show returns a run record: the record schema is public on its own (see the
# changelog), not through this list.
RETURNING = ["plan", "status", "ls", "gc", "graph", "verify", "load_config", "Task.from_id"]


@pytest.mark.parametrize("name", RETURNING)
def test_what_public_functions_return_is_importable_from_a_public_place(name):
    obj = cairn
    for part in name.split("."):
        obj = getattr(obj, part)
    returned = typing.get_type_hints(obj)["return"]
    public = _public_objects()
    for cls in _classes(returned):
        if cls.__module__.startswith("cairn"):
            assert id(cls) in public, f"{name} returns {cls.__qualname__}, which is not public"


def test_the_items_public_types_hold_are_public(workspace):
    class Leaf(cairn.Task):
        def run(self):
            return 1

    (entry,) = cairn.plan(Leaf())
    assert isinstance(entry, cairn.PlanEntry)
    assert all(isinstance(c, cairn.Change) for c in entry.changes) and entry.changes
    cairn.build(Leaf(), progress=False)
    assert isinstance(cairn.status(Leaf()), cairn.Status)
    assert all(isinstance(s, cairn.TaskStatus) for s in cairn.status(Leaf()))
    listing = cairn.ls()
    assert isinstance(listing, cairn.Listing) and isinstance(listing[0], cairn.StoredTask)
    assert isinstance(cairn.gc(Leaf(), dry_run=True), cairn.GcResult)
    assert isinstance(cairn.graph(Leaf()), cairn.Graph)
    assert cairn.Graph is cairn.viz.Graph


def test_every_error_is_a_cairn_error():
    for name in cairn.__all__:
        obj = getattr(cairn, name)
        if isinstance(obj, type) and issubclass(obj, Exception) and not issubclass(obj, Warning):
            assert issubclass(obj, cairn.CairnError), name


def test_import_cairn_imports_neither_pandas_nor_numpy():
    code = (
        "import sys, cairn\n"
        "heavy = [m for m in ('pandas', 'numpy', 'polars', 'pyarrow', 'dask', 'redis') "
        "if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
