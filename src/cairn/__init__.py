"""cairn: reproducible machine-learning and data pipelines.

Tasks with typed parameters, whose outputs are stored under a hash of their parameters,
upstream ids and code; a run record beside every output; the same pipeline inline, on
threads, processes or Dask.
"""

import importlib
from typing import TYPE_CHECKING

from cairn import progress
from cairn._config import Config, load_config
from cairn._errors import (
    BuildError,
    CairnError,
    ConfigError,
    CorruptOutputError,
    CorruptRecordError,
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
    StoreUnreachableError,
    TargetError,
    WorkerLostError,
)
from cairn._version import __version__
from cairn.identity.fingerprint import FingerprintWarning
from cairn.model.external import ExternalFile
from cairn.model.groups import ParameterGroup, inherits
from cairn.model.targets import Target
from cairn.model.task import Task
from cairn.planning.plan import Change, Plan, PlanEntry
from cairn.running import build as _build
from cairn.running.build import build, plan
from cairn.running.loop import Outcome as BuildOutcome
from cairn.storage.records import RunRecord

if TYPE_CHECKING:
    from cairn.inspect.gc import GcResult, gc
    from cairn.inspect.graph import Graph, GraphNode, graph
    from cairn.inspect.results import results
    from cairn.inspect.show import Listing, StoredTask, ls, show
    from cairn.inspect.status import Status, TaskStatus, status
    from cairn.inspect.verify import VerifyResult, verify
    from cairn.pipeline import Pipeline, node

# The function style and the inspection functions are imported on first use, keeping
# `import cairn` light.
_LAZY = {
    "Pipeline": "cairn.pipeline",
    "node": "cairn.pipeline",
    "gc": "cairn.inspect.gc",
    "GcResult": "cairn.inspect.gc",
    "graph": "cairn.inspect.graph",
    "Graph": "cairn.inspect.graph",
    "GraphNode": "cairn.inspect.graph",
    "ls": "cairn.inspect.show",
    "results": "cairn.inspect.results",
    "Listing": "cairn.inspect.show",
    "StoredTask": "cairn.inspect.show",
    "show": "cairn.inspect.show",
    "status": "cairn.inspect.status",
    "verify": "cairn.inspect.verify",
    "VerifyResult": "cairn.inspect.verify",
    "Status": "cairn.inspect.status",
    "TaskStatus": "cairn.inspect.status",
}

if not TYPE_CHECKING:

    def __getattr__(name: str) -> object:
        module = _LAZY.get(name)
        if module is None:
            raise AttributeError(f"module 'cairn' has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value
        return value


if TYPE_CHECKING:  # typed like dataclass fields; see _param_specs
    from cairn.model.param_specs import (
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
    from cairn.model.params import (
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
]

# The build layer shows nothing itself: plug in the face that does (see cairn.running.build).
_build.set_reporter(progress.Reporter)
del _build
