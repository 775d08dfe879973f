"""Code fingerprints: what they reach, what they ignore, settings, and warnings.

Each test writes a small package to a temporary directory and imports it (unique package
names, removed from ``sys.modules`` afterwards). Edits within one process are made the way a
notebook makes them: rewrite the file, then ``importlib.reload`` the module.
"""

from __future__ import annotations

import importlib
import itertools
import sys
import textwrap
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

import cairn
from cairn.identity import codegraph as _codegraph
from cairn.identity import fingerprint as _fingerprint
from cairn.identity import usercode as _usercode
from cairn.identity.fingerprint import function_fingerprint

_counter = itertools.count()


class Package:
    """A package written to disk: ``write`` files, ``load`` or ``reload`` modules."""

    def __init__(self, root: Path) -> None:
        self.name = f"fp_pkg_{next(_counter)}"
        self.dir = root / self.name
        self.dir.mkdir()
        (self.dir / "__init__.py").write_text("")

    def write(self, **files: str) -> None:
        for name, text in files.items():
            (self.dir / f"{name}.py").write_text(textwrap.dedent(text))

    def load(self, module: str) -> ModuleType:
        return importlib.import_module(f"{self.name}.{module}")

    def reload(self, module: str) -> ModuleType:
        return importlib.reload(sys.modules[f"{self.name}.{module}"])


@pytest.fixture
def pkg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Package]]:
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    monkeypatch.setattr(_fingerprint, "RECHECK_SECONDS", 0.0)
    monkeypatch.setattr(_usercode, "RECHECK_SECONDS", 0.0)
    for name in ("CAIRN_FINGERPRINT", "CAIRN_FINGERPRINT_MODULES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    made: list[Package] = []

    def make(**files: str) -> Package:
        package = Package(tmp_path)
        package.write(**files)
        made.append(package)
        return package

    yield make
    for package in made:
        for name in [m for m in sys.modules if m.split(".")[0] == package.name]:
            del sys.modules[name]


HELPERS = """
    import json
    import cloudpickle
    from .util import scale

    THRESHOLD = 0.3
    UNUSED = 1
    square = lambda v: v * v

    def make_adder(k):
        def add(x):
            return x + k
        return add

    add3 = make_adder(3)

    def ping(n):
        return pong(n - 1) if n > 0 else 0

    def pong(n):
        return ping(n)

    def clean(values):
        out = [scale(square(v)) + add3(v) + ping(2) for v in values if v > THRESHOLD]
        return json.dumps(out), cloudpickle.dumps

    def unrelated():
        return 2
"""

UTIL = """
    from . import helpers  # a cycle between modules

    FACTOR = 2

    def scale(x):
        return x * FACTOR
"""

TASKS = """
    import cairn
    from {name} import helpers

    class Base(cairn.Task):
        def common(self):
            return 1

    class Train(Base):
        lr = cairn.FloatParameter(default=0.1, description="learning rate")

        def run(self):
            return helpers.clean([self.lr]), self.common()
"""


def make_pipeline(pkg: Callable[..., Package]) -> Package:
    package = pkg(helpers=HELPERS, util=UTIL)
    package.write(tasks=TASKS.format(name=package.name))
    return package


def test_fingerprint_reaches_helpers_lambdas_closures_constants_and_base_classes(pkg):
    package = make_pipeline(pkg)
    train = package.load("tasks").Train
    names = {k.removeprefix(package.name + ".") for k in train.code_fingerprint().components}
    assert names == {
        "tasks.Base",
        "tasks.Base.common",
        "tasks.Train",
        "tasks.Train.run",
        "helpers.clean",
        "helpers.THRESHOLD",
        "helpers.<lambda>",
        "helpers.make_adder.<locals>.add",
        "helpers.make_adder.<locals>.add.<closure>.k",
        "helpers.ping",
        "helpers.pong",
        "util.scale",
        "util.FACTOR",
    }


def test_editing_a_reloaded_helper_changes_the_fingerprint_of_a_cached_class(pkg):
    package = make_pipeline(pkg)
    train = package.load("tasks").Train
    before = train.code_fingerprint()
    package.write(util=UTIL.replace("FACTOR = 2", "FACTOR = 3"))
    package.reload("util")
    package.reload("helpers")
    after = train.code_fingerprint()
    changed = {k for k in after.components if after.components[k] != before.components.get(k)}
    assert changed == {f"{package.name}.util.FACTOR"}


def test_comments_docstrings_and_formatting_do_not_change_the_fingerprint(pkg):
    package = make_pipeline(pkg)
    train = package.load("tasks").Train
    before = train.code_fingerprint().digest
    package.write(
        helpers=HELPERS.replace("def clean(values):", 'def clean(values):\n        """Doc."""')
        .replace("square = lambda v: v * v", "square = lambda v: (v*v)  # squared")
        .replace("def unrelated():", "# a comment\n\n\n    def unrelated():")
    )
    package.reload("helpers")
    train = package.reload("tasks").Train
    assert train.code_fingerprint().digest == before


def test_unrelated_functions_and_unread_constants_do_not_count(pkg):
    package = make_pipeline(pkg)
    train = package.load("tasks").Train
    before = train.code_fingerprint().digest
    package.write(
        helpers=HELPERS.replace("UNUSED = 1", "UNUSED = 5").replace("return 2", "return 3")
    )
    package.reload("helpers")
    assert train.code_fingerprint().digest == before


def test_closure_values_and_lambdas_count_in_function_fingerprints(pkg):
    package = pkg(
        funcs="""
        def make(k):
            return lambda x: x + k

        def apply(f, x):
            return f(x)
        """
    )
    funcs = package.load("funcs")
    three, four = funcs.make(3), funcs.make(4)
    assert function_fingerprint(three).digest != function_fingerprint(four).digest
    before = function_fingerprint(three).digest
    assert before == function_fingerprint(funcs.make(3)).digest
    package.write(funcs="def make(k):\n    return lambda x: x * k\n")
    funcs = package.reload("funcs")
    assert function_fingerprint(funcs.make(3)).digest != before


def test_parameter_declarations_count_through_values_not_code(pkg):
    package = make_pipeline(pkg)
    tasks = package.load("tasks")
    before = tasks.Train.code_fingerprint().digest
    old_id = tasks.Train().task_id
    package.write(tasks=TASKS.format(name=package.name).replace("0.1", "0.2"))
    tasks = package.reload("tasks")
    assert tasks.Train.code_fingerprint().digest == before
    assert tasks.Train(lr=0.1).task_id == old_id
    assert tasks.Train().task_id != old_id


def test_stdlib_and_installed_packages_stop_the_walk(pkg):
    package = make_pipeline(pkg)
    components = package.load("tasks").Train.code_fingerprint().components
    assert not [k for k in components if k.startswith(("json.", "cloudpickle.", "cairn."))]


def test_fingerprinting_off_gives_parameter_only_ids(pkg, monkeypatch):
    package = make_pipeline(pkg)
    tasks = package.load("tasks")
    on = tasks.Train().task_id
    monkeypatch.setenv("CAIRN_FINGERPRINT", "off")
    off = tasks.Train().task_id
    package.write(util=UTIL.replace("FACTOR = 2", "FACTOR = 9"))
    package.reload("util")
    assert tasks.Train().task_id == off != on
    monkeypatch.setenv("CAIRN_FINGERPRINT", "on")
    assert tasks.Train().task_id not in (on, off)


def test_code_version_pins_the_code_even_with_fingerprinting_off(pkg, monkeypatch):
    package = pkg(
        tasks="""
        import cairn

        class Pinned(cairn.Task):
            code_version = "1"

            def run(self):
                return 1
        """
    )
    tasks = package.load("tasks")
    pinned = tasks.Pinned().task_id
    monkeypatch.setenv("CAIRN_FINGERPRINT", "0")
    assert tasks.Pinned().task_id == pinned


def test_fingerprint_modules_patterns_exclude_and_include_modules(pkg, monkeypatch):
    package = make_pipeline(pkg)
    train = package.load("tasks").Train
    monkeypatch.setenv("CAIRN_FINGERPRINT_MODULES", f"!{package.name}.util, json")
    components = train.code_fingerprint().components
    assert not [k for k in components if ".util." in k]
    assert "json.dumps" in components
    assert f"{package.name}.helpers.clean" in components


def test_fingerprint_settings_are_read_from_cairn_toml_and_pyproject(pkg, tmp_path):
    package = make_pipeline(pkg)
    train = package.load("tasks").Train
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.cairn]\nfingerprint_modules = ["!{package.name}.helpers"]\n'
    )
    assert not [k for k in train.code_fingerprint().components if ".helpers." in k]
    (tmp_path / "cairn.toml").write_text("fingerprint = false\n")
    assert train.code_fingerprint().components == {}


def test_bad_fingerprint_settings_are_config_errors_naming_the_source(pkg, monkeypatch):
    package = make_pipeline(pkg)
    monkeypatch.setenv("CAIRN_FINGERPRINT", "sometimes")
    with pytest.raises(cairn.ConfigError, match="CAIRN_FINGERPRINT"):
        package.load("tasks").Train().task_id


def test_objects_without_source_are_named_in_one_warning_and_counted_by_name(pkg):
    package = pkg(
        odd="""
        made = {}
        exec("def generated(x):\\n    return x + 1", made)
        generated = made["generated"]
        generated.__module__ = __name__
        Dynamic = type("Dynamic", (), {"__module__": __name__})
        """,
        tasks="""
        import cairn
        from .odd import generated, Dynamic

        class First(cairn.Task):
            def run(self):
                return generated(1), Dynamic()

        class Second(cairn.Task):
            def run(self):
                return generated(2), Dynamic()
        """,
    )
    tasks = package.load("tasks")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = tasks.First.code_fingerprint().components
        second = tasks.Second.code_fingerprint().components
    messages = [str(w.message) for w in caught if issubclass(w.category, cairn.FingerprintWarning)]
    assert len(messages) == 2
    assert any(f"{package.name}.odd.Dynamic" in m for m in messages)
    assert any("generated" in m for m in messages)
    assert f"{package.name}.odd.Dynamic" in first
    assert f"{package.name}.odd.Dynamic" in second


def test_one_class_is_fingerprinted_once_for_many_tasks(pkg, monkeypatch):
    package = pkg(
        tasks="""
        import cairn

        def helper(i):
            return i

        class Leaf(cairn.Task):
            i = cairn.IntParameter()

            def run(self):
                return helper(self.i)
        """
    )
    calls: list[object] = []
    real = _codegraph._function_info

    def counting(func):
        calls.append(func)
        return real(func)

    monkeypatch.setattr(_codegraph, "_function_info", counting)
    leaf = package.load("tasks").Leaf
    ids = {leaf(i=i).task_id for i in range(2000)}
    assert len(ids) == 2000
    assert len(calls) == 1


def test_function_fingerprints_follow_partials_methods_and_wrappers(pkg):
    package = pkg(
        funcs="""
        import functools

        RATE = 2

        def base(x, y):
            return x * y * RATE

        double = functools.partial(base, 2)

        @functools.lru_cache
        def cached(x):
            return base(x, x)

        class Model:
            def predict(self, x):
                return base(x, 1)
        """
    )
    funcs = package.load("funcs")
    name = package.name
    assert f"{name}.funcs.base" in function_fingerprint(funcs.double).components
    assert f"{name}.funcs.RATE" in function_fingerprint(funcs.cached).components
    bound = function_fingerprint(funcs.Model().predict).components
    assert {f"{name}.funcs.Model.predict", f"{name}.funcs.base"} <= set(bound)


def test_a_parameter_named_like_a_function_is_not_a_use_of_that_function(pkg):
    package = pkg(
        funcs="""
        def clean(raw):
            return raw

        def scale(x):
            return x * 2

        def total(clean):
            def inner():
                scale = 3  # a local of inner: total still uses the global scale below
                return scale
            return sum(clean) + scale(inner())
        """
    )
    funcs = package.load("funcs")
    names = {k.rpartition(".")[2] for k in function_fingerprint(funcs.total).components}
    assert names == {"total", "scale"}


def test_the_configuration_file_accepts_and_checks_the_fingerprint_settings(tmp_path):
    (tmp_path / "cairn.toml").write_text(
        'workspace = "ws"\nfingerprint = false\nfingerprint_modules = ["mycorp_*", "!x.gen"]\n'
    )
    config = cairn.load_config(directory=tmp_path)
    assert (config.fingerprint, config.fingerprint_modules) == (False, ["mycorp_*", "!x.gen"])
    (tmp_path / "cairn.toml").write_text('fingerprint_modules = "mycorp_*"\n')
    with pytest.raises(cairn.ConfigError, match="fingerprint_modules"):
        cairn.load_config(directory=tmp_path)


def test_fingerprint_settings_come_from_the_file_named_by_cairn_config(pkg, tmp_path, monkeypatch):
    package = make_pipeline(pkg)
    train = package.load("tasks").Train
    elsewhere = tmp_path / "conf" / "settings.toml"
    elsewhere.parent.mkdir()
    elsewhere.write_text('lock = "${UNSET_VARIABLE}"\nfingerprint = false\n')
    monkeypatch.setenv("CAIRN_CONFIG", str(elsewhere))
    assert train.code_fingerprint().components == {}  # an unset ${VAR} elsewhere is no matter


LAZY_IMPORTS = """
import sys
import cairn


class Fit(cairn.Task):
    def run(self):
        from sklearn.linear_model import LinearRegression
        import pandas as pd

        return LinearRegression.__name__ + pd.__name__


if __name__ == "__main__":
    cairn.build(Fit(), workspace=sys.argv[1], summary=False)
    print("imported:", sorted(m for m in ("sklearn", "pandas") if m in sys.modules))
"""


def test_a_warm_build_does_not_import_the_libraries_run_imports(tmp_path):
    """Fingerprinting tells library code from the user's without importing it: a library
    imported inside run() counts by its version, so a build that runs nothing imports it not."""
    import subprocess

    script = tmp_path / "lazy.py"
    script.write_text(LAZY_IMPORTS)
    workspace = str(tmp_path / "ws")

    def build() -> str:
        return subprocess.run(
            [sys.executable, str(script), workspace],
            capture_output=True,
            text=True,
            check=True,
            cwd=tmp_path,
        ).stdout

    assert "imported: ['pandas', 'sklearn']" in build()  # the cold build ran run()
    assert "imported: []" in build()  # the warm one reused it without importing either
