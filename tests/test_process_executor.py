"""The process executor: tasks from ``__main__``, dead workers, and what cannot travel."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import cairn
from cairn.executors import get_executor

MAIN_SCRIPT = """
import importlib.util
import os
import cairn

class Numbers(cairn.Task):
    n = cairn.IntParameter()

    def run(self):
        return [os.getpid(), list(range(self.n))]

class Sum(cairn.Task):
    def requires(self):
        return [Numbers(n=3), Numbers(n=4)]

    def run(self):
        pids = {pid for pid, _ in self.load()}
        return [sorted(pids), sum(sum(values) for _, values in self.load())]

{entry}
    pids, total = cairn.build(Sum(), executor="processes", workers=2)
    print("total", total, "in worker", os.getpid() not in pids)
"""


def _run(args: list[str], tmp_path: Path) -> str:
    env = {**os.environ, "CAIRN_WORKSPACE": str(tmp_path / "ws")}
    done = subprocess.run(
        [sys.executable, *args],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_tasks_defined_in_a_script_run_on_processes(tmp_path: Path) -> None:
    script = tmp_path / "pipeline.py"
    script.write_text(MAIN_SCRIPT.replace("{entry}", 'if __name__ == "__main__":'))
    assert "total 9 in worker True" in _run([str(script)], tmp_path)


def test_tasks_defined_without_a_source_file_run_on_processes(tmp_path: Path) -> None:
    """As in a notebook: ``__main__`` has no file, so classes travel by value."""
    code = MAIN_SCRIPT.replace("{entry}", "if True:")
    assert "total 9 in worker True" in _run(["-c", code], tmp_path)


class Sleeper(cairn.Task[int]):
    seconds = cairn.FloatParameter()

    def run(self) -> int:
        time.sleep(self.seconds)
        return os.getpid()


class KillsItsWorker(cairn.Task[int]):
    def run(self) -> int:
        time.sleep(0.3)  # the sleeper is running on the other worker by now
        os.kill(os.getpid(), signal.SIGKILL)
        return 0


class AfterKill(cairn.Task[int]):
    def requires(self) -> KillsItsWorker:
        return KillsItsWorker()

    def run(self) -> int:
        return self.load()


@pytest.mark.timeout(60)
def test_a_killed_worker_fails_only_its_task(workspace: str) -> None:
    sleeper = Sleeper(seconds=1.0)
    with pytest.raises(cairn.BuildError) as caught:
        cairn.build([AfterKill(), sleeper], executor="processes", workers=2)
    error = caught.value
    assert list(error.failures) == [KillsItsWorker()]
    lost = error.failures[KillsItsWorker()]
    assert isinstance(lost, cairn.WorkerLostError)
    assert "KillsItsWorker()" in str(lost) and "died" in str(lost)
    assert error.skipped == [AfterKill()]
    assert error.succeeded == [sleeper]  # broken pool or not, the sleeper finished
    assert cairn.build(sleeper) != os.getpid()


@pytest.mark.timeout(60)
def test_a_killed_worker_is_retried_when_retries_are_set(workspace: str, tmp_path: Path) -> None:
    marker = tmp_path / "killed-once"
    task = KillsOnce(marker=str(marker))
    assert cairn.build(task, executor="processes", workers=1, retries=1) == "survived"


class KillsOnce(cairn.Task[str]):
    marker = cairn.Parameter()

    def run(self) -> str:
        if not os.path.exists(self.marker):
            open(self.marker, "w").close()
            os.kill(os.getpid(), signal.SIGKILL)
        return "survived"


class HoldsALock(cairn.Task[int]):
    lock = cairn.Parameter(significant=False, default=None)

    def run(self) -> int:
        return 1


def test_a_task_that_cannot_be_pickled_fails_with_a_clear_error(workspace: str) -> None:
    task = HoldsALock()
    task.__dict__["guard"] = threading.Lock()  # something no pickler can send
    with pytest.raises(cairn.BuildError) as caught:
        cairn.build(task, executor="processes", workers=1)
    error = caught.value.failures[task]
    assert isinstance(error, cairn.CairnError)
    assert "cannot send HoldsALock" in str(error) and "picklable" in str(error)


def test_fork_is_refused_as_a_start_method() -> None:
    with pytest.raises(cairn.ConfigError, match="fork"):
        get_executor("processes", start_method="fork")


def test_an_unknown_option_is_a_config_error() -> None:
    with pytest.raises(cairn.ConfigError, match="colour"):
        get_executor("processes", colour="red")


def test_a_process_executor_is_reused_across_builds(workspace: str) -> None:
    with get_executor("processes", workers=1) as executor:
        first = cairn.build(Sleeper(seconds=0.0), executor=executor)
        second = cairn.build(Sleeper(seconds=0.01), executor=executor)
    assert first == second != os.getpid()


def test_a_worker_traceback_is_chained_to_the_error(workspace: str) -> None:
    script = textwrap.dedent(
        """
        import cairn

        class Fails(cairn.Task):
            def run(self):
                raise KeyError("missing key in the worker")

        if __name__ == "__main__":
            try:
                cairn.build(Fails(), executor="processes", workers=1)
            except cairn.BuildError as error:
                failure = error.failures[Fails()]
                print(type(failure).__name__, "|", "raise KeyError" in str(failure.__cause__))
        """
    )
    path = Path(workspace).parent / "fails.py"
    path.write_text(script)
    assert "KeyError | True" in _run([str(path)], path.parent)


def test_a_task_module_the_workers_cannot_import_is_named(workspace, tmp_path, monkeypatch):
    source = tmp_path / "elsewhere" / "private_tasks.py"
    source.parent.mkdir()
    source.write_text(
        "import cairn\n\nclass Hidden(cairn.Task):\n    def run(self):\n        return 1\n"
    )
    spec = importlib.util.spec_from_file_location("private_tasks", source)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "private_tasks", module)  # importable here only
    spec.loader.exec_module(module)
    with pytest.raises(cairn.BuildError) as caught:
        cairn.build(module.Hidden(), executor="processes", workers=1)
    error = caught.value.failures[module.Hidden()]
    assert isinstance(error, cairn.CairnError)
    assert "No module named 'private_tasks'" in str(error)
    assert "importable on the worker" in str(error)


class DeafOnce(cairn.Task[str]):
    """On its first run, ignores SIGTERM (as a task stuck in native code would) for 60 s."""

    marker = cairn.Parameter()

    def run(self) -> str:
        if not os.path.exists(self.marker):
            open(self.marker, "w").close()
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
            time.sleep(60)
        return "done"


class KillsItsWorkerAfter(cairn.Task[int]):
    """Kills its own worker once ``marker`` exists."""

    marker = cairn.Parameter()

    def run(self) -> int:
        deadline = time.monotonic() + 30
        while not os.path.exists(self.marker) and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(os.getpid(), signal.SIGKILL)
        return 0


@pytest.mark.timeout(60)
def test_a_worker_deaf_to_sigterm_does_not_hang_the_build(workspace, tmp_path) -> None:
    marker = str(tmp_path / "deaf")
    deaf, killer = DeafOnce(marker=marker), KillsItsWorkerAfter(marker=marker)
    with pytest.raises(cairn.BuildError) as caught:
        cairn.build([deaf, killer], executor="processes", workers=2)
    assert list(caught.value.failures) == [killer]
    assert caught.value.succeeded == [deaf]  # killed after the grace period, then run again
