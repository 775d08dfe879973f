"""Reuse you can trust, through real files and fresh interpreters.

Each scenario is a small package written to a temporary directory. Every build step runs in a
new Python process that plans and builds every scenario's pipeline (one process per step
keeps the suite fast); between steps the test edits the packages' source or input files. Each
task appends its class name to a side file when it runs, so the test sees exactly what ran,
and compares it with what the plan printed before the build said, and why.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

RUNLOG = """
import os

def mark(task):
    mark_name(type(task).__module__.split(".")[0], type(task).__qualname__)

def mark_name(scenario, name):
    with open(os.path.join(os.environ["RUNLOG"], scenario + ".log"), "a") as log:
        log.write(name + "\\n")
"""

DRIVER = """
import json, os, sys, warnings, importlib
import cairn

warnings.simplefilter("error", cairn.FingerprintWarning)
step, out, names = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
results = {}
for name in names:
    tasks = importlib.import_module(name + ".tasks")
    roots = tasks.roots()
    workspace = os.path.join(os.environ["WORKSPACES"], name)
    plan = cairn.plan(roots, workspace=workspace)
    results[name] = {"plan": plan.to_dicts(), "table": str(plan)}
    cairn.build(roots, workspace=workspace)
with open(out, "w") as f:
    json.dump(results, f)
"""

# A chain Load -> Clean -> Train, the shape most scenarios start from.
CHAIN = """
import cairn
from runlog import mark
{imports}

class Load(cairn.Task):
    def run(self):
        mark(self)
        return [1, 2, 3]


class Clean({clean_base}):
{clean_body}

class Train(cairn.Task):
{train_body}

def roots():
    return {roots}
"""

CLEAN_BODY = """
    def requires(self):
        return Load()

    def run(self):
        mark(self)
        return {expr}
"""

TRAIN_BODY = """
    def requires(self):
        return {upstream}()

    def run(self):
        mark(self)
        return sum(self.load())
"""


def chain(
    *,
    imports: str = "",
    expr: str = "[x * 2 for x in self.load()]",
    clean_base: str = "cairn.Task",
    clean_extra: str = "",
    clean_name: str = "Clean",
    train_body: str | None = None,
    roots: str = "[Train()]",
) -> str:
    body = textwrap.indent(textwrap.dedent(clean_extra), "    ") + CLEAN_BODY.format(expr=expr)
    text = CHAIN.format(
        imports=imports,
        clean_base=clean_base,
        clean_body=body,
        train_body=train_body or TRAIN_BODY.format(upstream=clean_name),
        roots=roots,
    )
    return text.replace("class Clean(", f"class {clean_name}(")


FORMATTED = '''
"""The same pipeline as before, with comments, docstrings and different formatting."""
import cairn
from runlog import mark   # counts runs


class Load( cairn.Task ):
    """Loads numbers."""

    def run(self):
        # a comment
        mark(self)

        return [1,
                2,
                3,]


class Clean(cairn.Task):
    def requires(self):
        """Needs Load."""
        return Load( )

    def run(self):
        mark(self)   # trailing comment
        return [x*2
                for x in self.load()]


class Train(cairn.Task):
    """Trains."""
    def requires(self):
        return Clean()
    def run(self):
        mark(self)
        return sum(
            self.load(),
        )

def roots():
    return [Train()]
'''

HELPERS = """
square = lambda v: v * v

def clean(values):
    return [{expr} for v in values]

def unrelated():
    return {unrelated}
"""

DEEP_HELPERS = """
from . import deep

def clean(values):
    return [deep.normalize(v) for v in values]
"""

DEEP = """
def normalize(v):
    return v * {factor} if v >= 0 else flip(v)

def flip(v):
    return normalize(-v)
"""

BASE = """
import cairn

class Step(cairn.Task):
    def scale(self, v):
        return v * {factor}
"""

TRAIN_WITH_PARAMS = """
    lr = cairn.FloatParameter(default={default})
    verbose = cairn.BoolParameter(default={verbose}, significant=False, description="{desc}")

    def requires(self):
        return Clean()

    def run(self):
        mark(self)
        return sum(self.load()) * self.lr
"""

FILES = """
import os
import cairn
from runlog import mark

HERE = os.path.dirname(os.path.abspath(__file__))


class Load(cairn.Task):
    def requires(self):
        return cairn.ExternalFile(os.path.join(HERE, "data.txt"))

    def run(self):
        mark(self)
        return self.load().split()


class Clean(cairn.Task):
    def requires(self):
        return Load()

    def run(self):
        mark(self)
        return [int(x) * 2 for x in self.load()]


class Lookup(cairn.Task):
    table = cairn.FileParameter()

    def run(self):
        mark(self)
        with open(self.table) as f:
            return f.read()


class Report(cairn.Task):
    def requires(self):
        return Lookup(table=os.path.join(HERE, "lookup.txt"))

    def run(self):
        mark(self)
        return self.load().upper()


def roots():
    return [Clean(), Report()]
"""

PIPELINE = """
import cairn
from runlog import mark_name
from . import helpers


def load():
    mark_name("s13_pipeline", "load")
    return [1, 2, 3]


def clean(raw):
    mark_name("s13_pipeline", "clean")
    return helpers.scale(raw)


def total(clean):
    mark_name("s13_pipeline", "total")
    return sum(clean)


def roots():
    return cairn.Pipeline(
        [
            cairn.node(load, outputs="raw"),
            cairn.node(clean, inputs=["raw"], outputs="clean"),
            cairn.node(total, inputs=["clean"], outputs="total"),
        ]
    ).tasks()
"""

PIPELINE_HELPERS = """
def scale(values):
    return [v * {factor} for v in values]
"""

# scenario -> step -> {relative path: file text}; step 0 is the first build.
SCENARIOS: dict[str, dict[int, dict[str, str]]] = {
    "s01_run_body": {
        0: {"tasks.py": chain()},
        1: {"tasks.py": chain(expr="[x * 3 for x in self.load()]")},
    },
    "s02_cosmetic": {
        0: {"tasks.py": chain()},
        1: {"tasks.py": FORMATTED},
    },
    "s03_helper": {
        0: {
            "tasks.py": chain(
                imports="from s03_helper import helpers", expr="helpers.clean(self.load())"
            ),
            "helpers.py": HELPERS.format(expr="square(v) + 1", unrelated=1),
        },
        1: {"helpers.py": HELPERS.format(expr="square(v) + 2", unrelated=1)},
    },
    "s04_two_hops": {
        0: {
            "tasks.py": chain(imports="from .helpers import clean", expr="clean(self.load())"),
            "helpers.py": DEEP_HELPERS,
            "deep.py": DEEP.format(factor=2),
        },
        1: {"deep.py": DEEP.format(factor=5)},
    },
    "s05_constants": {
        0: {
            "tasks.py": chain(
                imports="from .config import THRESHOLD",
                expr="[x for x in self.load() if x >= THRESHOLD]",
            ),
            "config.py": "THRESHOLD = 2\nUNUSED = 10\n",
        },
        1: {"config.py": "THRESHOLD = 3\nUNUSED = 10\n"},
        2: {"config.py": "THRESHOLD = 3\nUNUSED = 11\n"},
    },
    "s06_unrelated": {
        0: {
            "tasks.py": chain(
                imports="from s06_unrelated import helpers", expr="helpers.clean(self.load())"
            )
            + "\ndef unused_here():\n    return 1\n",
            "helpers.py": HELPERS.format(expr="v + 1", unrelated=1),
        },
        1: {
            "tasks.py": chain(
                imports="from s06_unrelated import helpers", expr="helpers.clean(self.load())"
            )
            + "\ndef unused_here():\n    return 2\n",
            "helpers.py": HELPERS.format(expr="v + 1", unrelated=2),
        },
    },
    "s07_default": {
        0: {
            "tasks.py": chain(
                train_body=TRAIN_WITH_PARAMS.format(default=0.1, verbose=False, desc="a"),
                roots="[Train(), Train(lr=0.5)]",
            )
        },
        1: {
            "tasks.py": chain(
                train_body=TRAIN_WITH_PARAMS.format(default=0.2, verbose=False, desc="a"),
                roots="[Train(), Train(lr=0.5)]",
            )
        },
    },
    "s08_insignificant": {
        0: {
            "tasks.py": chain(
                train_body=TRAIN_WITH_PARAMS.format(default=0.1, verbose=False, desc="a"),
                roots="[Train(verbose=False)]",
            )
        },
        1: {
            "tasks.py": chain(
                train_body=TRAIN_WITH_PARAMS.format(default=0.1, verbose=True, desc="b"),
                roots="[Train(verbose=True)]",
            )
        },
    },
    "s09_code_version": {
        0: {"tasks.py": chain(clean_extra='code_version = "1"\n')},
        1: {
            "tasks.py": chain(
                clean_extra='code_version = "1"\n', expr="[x * 7 for x in self.load()]"
            )
        },
        2: {
            "tasks.py": chain(
                clean_extra='code_version = "2"\n', expr="[x * 7 for x in self.load()]"
            )
        },
    },
    "s10_rename": {
        0: {"tasks.py": chain()},
        1: {"tasks.py": chain(clean_name="Tidy")},
    },
    "s11_base_class": {
        0: {
            "tasks.py": chain(
                imports="from .base import Step",
                clean_base="Step",
                expr="[self.scale(x) for x in self.load()]",
            ),
            "base.py": BASE.format(factor=2),
        },
        1: {"base.py": BASE.format(factor=3)},
    },
    "s12_external_files": {
        0: {"tasks.py": FILES, "data.txt": "1 2 3\n", "lookup.txt": "abc\n"},
        1: {"data.txt": "1 2 3 4\n"},
        2: {"lookup.txt": "abcd\n"},
        3: {},  # touch both files without changing them
    },
    "s13_pipeline": {
        0: {"tasks.py": PIPELINE, "helpers.py": PIPELINE_HELPERS.format(factor=2)},
        1: {"helpers.py": PIPELINE_HELPERS.format(factor=3)},
    },
}
STEPS = 4


def _write(root: Path, scenario: str, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / scenario / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _runs(logs: Path, scenario: str) -> list[str]:
    path = logs / f"{scenario}.log"
    return sorted(path.read_text().split()) if path.exists() else []


@pytest.fixture(scope="module")
def steps(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, dict[str, Any]]]:
    """Build every scenario once per step; return, per step, what ran and what was planned."""
    root = tmp_path_factory.mktemp("scenarios")
    (root / "runlog.py").write_text(RUNLOG)
    (root / "driver.py").write_text(DRIVER)
    env = {
        **os.environ,
        "PYTHONPATH": str(root),
        "PYTHONDONTWRITEBYTECODE": "1",
        "WORKSPACES": str(root / "workspaces"),
        "CAIRN_CACHE_DIR": str(root / "cache"),
    }
    for name in ("CAIRN_FINGERPRINT", "CAIRN_FINGERPRINT_MODULES", "CAIRN_WORKSPACE"):
        env.pop(name, None)
    results = []
    for step in range(STEPS):
        for scenario, edits in SCENARIOS.items():
            if step == 0:
                (root / scenario).mkdir()
                (root / scenario / "__init__.py").write_text("")
            _write(root, scenario, edits.get(step, {}))
        if step == 3:
            later = time.time() + 5
            for name in ("data.txt", "lookup.txt"):
                os.utime(root / "s12_external_files" / name, (later, later))
        logs = root / f"logs{step}"
        logs.mkdir()
        out = root / f"step{step}.json"
        proc = subprocess.run(
            [sys.executable, "driver.py", str(step), str(out), ",".join(SCENARIOS)],
            check=False,
            cwd=root,
            env={**env, "RUNLOG": str(logs)},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stderr
        planned = json.loads(out.read_text())
        results.append(
            {
                scenario: {
                    "ran": _runs(logs, scenario),
                    "planned": planned[scenario]["plan"],
                    "table": planned[scenario]["table"],
                }
                for scenario in SCENARIOS
            }
        )
    return results


def ran(steps: list[dict[str, Any]], scenario: str, step: int) -> list[str]:
    return steps[step][scenario]["ran"]


def reasons(steps: list[dict[str, Any]], scenario: str, step: int) -> dict[str, str]:
    """Task repr -> reason, for the tasks the plan said will run."""
    return {
        e["label"]: e["reason"]
        for e in steps[step][scenario]["planned"]
        if e["state"] == "will run"
    }


def test_first_build_runs_every_task_because_there_is_no_earlier_output(steps):
    assert ran(steps, "s01_run_body", 0) == ["Clean", "Load", "Train"]
    assert set(reasons(steps, "s01_run_body", 0).values()) == {"no earlier output"}


def test_editing_run_reruns_the_task_and_downstream_not_upstream(steps):
    assert ran(steps, "s01_run_body", 1) == ["Clean", "Train"]
    assert reasons(steps, "s01_run_body", 1) == {
        "Clean()": "code changed in s01_run_body.tasks.Clean.run",
        "Train()": "upstream Clean will run",
    }


def test_comments_docstrings_blank_lines_and_formatting_rerun_nothing(steps):
    assert ran(steps, "s02_cosmetic", 1) == []
    assert reasons(steps, "s02_cosmetic", 1) == {}


def test_editing_a_helper_in_another_module_reruns_its_callers(steps):
    assert ran(steps, "s03_helper", 1) == ["Clean", "Train"]
    assert reasons(steps, "s03_helper", 1)["Clean()"] == (
        "code changed in s03_helper.helpers.clean"
    )


def test_editing_a_helper_two_calls_away_reruns_the_caller(steps):
    assert ran(steps, "s04_two_hops", 1) == ["Clean", "Train"]
    assert reasons(steps, "s04_two_hops", 1)["Clean()"] == (
        "code changed in s04_two_hops.deep.normalize"
    )


def test_editing_a_constant_the_task_reads_reruns_it(steps):
    assert ran(steps, "s05_constants", 1) == ["Clean", "Train"]
    assert reasons(steps, "s05_constants", 1)["Clean()"] == (
        "code changed in s05_constants.config.THRESHOLD"
    )


def test_editing_a_constant_nobody_reads_reruns_nothing(steps):
    assert ran(steps, "s05_constants", 2) == []


def test_editing_an_unrelated_function_in_the_same_module_reruns_nothing(steps):
    assert ran(steps, "s06_unrelated", 1) == []


def test_changing_a_default_reruns_only_tasks_built_with_the_default(steps):
    assert ran(steps, "s07_default", 1) == ["Train"]
    assert reasons(steps, "s07_default", 1) == {
        "Train(lr=0.2, verbose=False)": "parameter lr changed 0.1 -> 0.2 (its default)"
    }


def test_changing_an_insignificant_parameter_reruns_nothing(steps):
    assert ran(steps, "s08_insignificant", 1) == []


def test_code_version_pin_holds_until_the_pin_changes(steps):
    assert ran(steps, "s09_code_version", 1) == []
    assert ran(steps, "s09_code_version", 2) == ["Clean", "Train"]
    assert reasons(steps, "s09_code_version", 2) == {
        "Clean()": "code_version changed '1' -> '2'",
        "Train()": "upstream Clean will run",
    }


def test_renaming_a_task_class_reruns_it_as_a_new_family(steps):
    assert ran(steps, "s10_rename", 1) == ["Tidy", "Train"]
    assert reasons(steps, "s10_rename", 1) == {
        "Tidy()": "no earlier output",
        "Train()": "code changed in s10_rename.tasks.Train.requires; upstream Tidy will run",
    }


def test_editing_an_inherited_base_class_method_reruns_the_subclass(steps):
    assert ran(steps, "s11_base_class", 1) == ["Clean", "Train"]
    assert reasons(steps, "s11_base_class", 1)["Clean()"] == (
        "code changed in s11_base_class.base.Step.scale"
    )


def test_replacing_an_external_file_reruns_its_readers_and_downstream(steps):
    assert ran(steps, "s12_external_files", 1) == ["Clean", "Load"]
    planned = reasons(steps, "s12_external_files", 1)
    assert planned["Load()"].startswith("input file ")
    assert planned["Load()"].endswith("data.txt changed")
    assert planned["Clean()"] == "upstream Load will run"


def test_replacing_a_file_parameter_reruns_its_task_and_downstream(steps):
    assert ran(steps, "s12_external_files", 2) == ["Lookup", "Report"]
    planned = reasons(steps, "s12_external_files", 2)
    (lookup,) = [reason for task, reason in planned.items() if task.startswith("Lookup(")]
    assert lookup.startswith("input file ") and lookup.endswith("lookup.txt changed")
    assert planned["Report()"] == "upstream Lookup will run"


def test_touching_input_files_without_changing_them_reruns_nothing(steps):
    assert ran(steps, "s12_external_files", 3) == []


def test_editing_a_helper_of_a_pipeline_node_reruns_that_node_and_downstream(steps):
    assert ran(steps, "s13_pipeline", 1) == ["clean", "total"]
    assert reasons(steps, "s13_pipeline", 1) == {
        "clean(raw) -> clean": "code changed in s13_pipeline.helpers.scale",
        "total(clean) -> total": "upstream clean will run",
    }


def test_each_plan_names_exactly_the_tasks_that_then_ran(steps):
    for step, results in enumerate(steps):
        for scenario, result in results.items():
            planned = sorted(
                e["label"].partition("(")[0] for e in result["planned"] if e["state"] == "will run"
            )
            assert planned == result["ran"], (scenario, step, result["table"])


def test_unchanged_scenarios_rerun_nothing_in_later_steps(steps):
    for step in range(1, STEPS):
        for scenario, edits in SCENARIOS.items():
            if step not in edits:
                assert ran(steps, scenario, step) == [], (scenario, step)


def test_the_plan_prints_as_a_table_with_state_task_and_reason(steps):
    table = steps[1]["s01_run_body"]["table"]
    lines = table.splitlines()
    assert lines[0].split() == ["state", "task", "reason"]
    assert any(
        line.startswith("will run") and "Clean()" in line and "Clean.run" in line for line in lines
    )
    assert any(line.startswith("complete") and "Load()" in line for line in lines)
    assert lines[-1] == "2 of 3 task(s) will run"
