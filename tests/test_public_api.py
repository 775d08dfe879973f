"""The public face: names pinned, and `import cairn` stays light."""

from __future__ import annotations

import subprocess
import sys

import cairn

EXPECTED = {
    "BoolParameter",
    "BuildError",
    "CairnError",
    "Config",
    "ConfigError",
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
    "IntParameter",
    "KeyNotFoundError",
    "ListParameter",
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
    "SchemaError",
    "SerializableParameter",
    "StoreError",
    "Target",
    "TargetError",
    "Task",
    "TaskListParameter",
    "TaskParameter",
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
    "show",
    "status",
}


def test_public_names_are_pinned():
    assert set(cairn.__all__) == EXPECTED
    for name in cairn.__all__:
        assert hasattr(cairn, name), name


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
