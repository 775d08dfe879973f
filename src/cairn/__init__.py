"""cairn: reproducible machine-learning and data pipelines.

Tasks with typed parameters, whose outputs are stored under a hash of their parameters,
upstream ids and code; a run record beside every output; the same pipeline inline, on
threads, processes or Dask.
"""

from typing import TYPE_CHECKING

from cairn._build import build, plan
from cairn._errors import (
    BuildError,
    CairnError,
    ConfigError,
    DependencyCycleError,
    EmptyDumpError,
    FormatError,
    KeyNotFoundError,
    LockError,
    MissingColumnsError,
    MissingExtraError,
    MissingInputError,
    OutputNotFoundError,
    ParameterError,
    PipelineError,
    RequirementError,
    SchemaError,
    StoreError,
    TargetError,
)
from cairn._external import ExternalFile
from cairn._fingerprint import FingerprintWarning
from cairn._graph import Plan, PlanEntry
from cairn._targets import Target
from cairn._task import Task
from cairn._version import __version__

if TYPE_CHECKING:
    from cairn.pipeline import Pipeline, node
else:

    def __getattr__(name: str) -> object:
        # The function style is imported on first use, so `import cairn` stays light.
        if name in ("Pipeline", "node"):
            from cairn import pipeline

            return getattr(pipeline, name)
        raise AttributeError(f"module 'cairn' has no attribute {name!r}")


if TYPE_CHECKING:  # typed like dataclass fields; see _param_specs
    from cairn._param_specs import (
        BoolParameter,
        DateParameter,
        DateTimeParameter,
        DictParameter,
        EnumParameter,
        FileParameter,
        FloatParameter,
        IntParameter,
        ListParameter,
        Parameter,
        SerializableParameter,
        TaskListParameter,
        TaskParameter,
    )
else:
    from cairn._params import (
        BoolParameter,
        DateParameter,
        DateTimeParameter,
        DictParameter,
        EnumParameter,
        FileParameter,
        FloatParameter,
        IntParameter,
        ListParameter,
        Parameter,
        SerializableParameter,
        TaskListParameter,
        TaskParameter,
    )

__all__ = [
    "BoolParameter",
    "BuildError",
    "CairnError",
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
    "__version__",
    "build",
    "node",
    "plan",
]
