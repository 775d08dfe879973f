"""Function pipelines across processes: real files edited between fresh interpreters, and
node tasks sent to other processes by cloudpickle."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

FLOW = """
import os

import cairn


def note(name):
    with open(os.environ["RUN_LOG"], "a") as log:
        log.write(name + "\\n")


def load(path):
    note("load")
    return list(range(10))


def clean(raw, min_count):
    note("clean")
    return [x for x in raw if x >= min_count]


def train(clean, lr):
    note("train")
    return sum(clean) * lr


def count(raw):
    note("count")
    return len(raw)


def publish(model, rows):
    note("publish")


def pipeline(lr):
    return cairn.Pipeline(
        [
            cairn.node(load, inputs=["config.path"], outputs="raw"),
            cairn.node(clean, inputs=["raw", "config.min_count"], outputs="clean"),
            cairn.node(train, inputs=["clean", "config.lr"], outputs="model"),
            cairn.node(count, inputs=["raw"], outputs="rows"),
            cairn.node(publish, inputs=["model", "rows"]),
        ],
        config={"path": "data.csv", "min_count": 2, "lr": lr},
    )
"""

MAIN = """
import json, sys
import flow

print(json.dumps(flow.pipeline(float(sys.argv[2])).run(workspace=sys.argv[1])))
"""


def run_fresh(tmp_path: Path, lr: float = 0.5) -> tuple[dict, list[str]]:
    """Run the pipeline in a new interpreter; return its outputs and the nodes that ran."""
    log = tmp_path / "runs.log"
    log.write_text("")
    out = subprocess.run(
        [sys.executable, str(tmp_path / "main.py"), str(tmp_path / "ws"), str(lr)],
        capture_output=True,
        check=False,
        text=True,
        timeout=120,
        env={**os.environ, "RUN_LOG": str(log)},
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.splitlines()[-1]), log.read_text().split()


def test_editing_one_function_reruns_it_and_downstream_across_fresh_processes(tmp_path):
    (tmp_path / "main.py").write_text(MAIN)
    flow = tmp_path / "flow.py"
    flow.write_text(FLOW)
    outputs, ran = run_fresh(tmp_path)
    assert sorted(ran) == ["clean", "count", "load", "publish", "train"]
    assert outputs == {
        "raw": list(range(10)),
        "clean": list(range(2, 10)),
        "model": 22.0,
        "rows": 10,
    }
    assert run_fresh(tmp_path)[1] == []  # a new process computes the same ids

    flow.write_text(FLOW.replace("x >= min_count", "x > min_count"))
    outputs, ran = run_fresh(tmp_path)
    assert sorted(ran) == ["clean", "publish", "train"]  # not load, not count
    assert outputs["model"] == 21.0

    cosmetic = FLOW.replace("x >= min_count", "x > min_count").replace(
        'def train(clean, lr):\n    note("train")',
        'def train(clean, lr):\n    """Fit."""\n    # a comment\n    note(  "train"  )',
    )
    flow.write_text(cosmetic)
    assert run_fresh(tmp_path)[1] == []  # comments, docstrings and layout rerun nothing

    assert run_fresh(tmp_path, lr=1.0)[1] == ["train", "publish"]  # only the reader of lr


SCRIPT = '''
import concurrent.futures as cf
import json
import os
import pickle
import subprocess
import sys

import cloudpickle

import cairn

CHILD = """
import pickle, sys, cloudpickle
fn, args = pickle.loads(sys.stdin.buffer.read())
try:
    out = ("ok", fn(*args))
except Exception as exc:
    out = ("error", repr(exc))
sys.stdout.buffer.write(cloudpickle.dumps(out))
"""


class FreshProcessExecutor:
    """Runs every task in a new interpreter, sent there by cloudpickle."""

    capacity = 1

    def submit(self, fn, *args):
        future = cf.Future()
        proc = subprocess.run([sys.executable, "-c", CHILD], capture_output=True,
                              input=cloudpickle.dumps((fn, args)), check=True)
        status, value = pickle.loads(proc.stdout)
        if status == "ok":
            future.set_result(value)
        else:
            future.set_exception(RuntimeError(value))
        return future

    def wait(self, futures, timeout):
        return {f for f in futures if f.done()}

    def close(self, cancel=False):
        pass


class Client:
    """A runtime object: travels with the tasks that use it, never enters an id."""

    def __init__(self, prefix):
        self.prefix = prefix


def load(n):
    return list(range(n))


def label(client, xs):
    return [client.prefix + str(x) for x in xs], os.getpid()


def total(xs):
    return sum(xs)


def publish(labels, total):
    with open(os.environ["PUBLISHED"], "a") as out:
        out.write(f"{total}:{','.join(labels)}\\n")


if __name__ == "__main__":
    pipe = cairn.Pipeline(
        [
            cairn.node(load, inputs=["config.n"], outputs="xs"),
            cairn.node(label, inputs=["client", "xs"], outputs=["labels", "pid"]),
            cairn.node(total, inputs=["xs"], outputs="total"),
            cairn.node(publish, inputs=["labels", "total"]),
        ],
        config={"n": 3},
        runtime={"client": Client("row-")},
    )
    workspace, how = sys.argv[1], sys.argv[2]
    will_run = len(pipe.plan(workspace=workspace).to_run)
    out = pipe.run(workspace=workspace, executor=FreshProcessExecutor() if how == "fresh" else how)
    out["main_pid"] = os.getpid()
    out["will_run"] = will_run
    print(json.dumps(out))
'''


def test_node_tasks_travel_by_cloudpickle_and_keep_their_ids_in_other_processes(tmp_path):
    """Functions, runtime objects and fingerprints of a ``__main__`` script go by value."""
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    published = tmp_path / "published.txt"

    def run(workspace: str, how: str) -> dict:
        out = subprocess.run(
            [sys.executable, str(script), str(tmp_path / workspace), how],
            capture_output=True,
            check=False,
            text=True,
            timeout=300,
            env={**os.environ, "PUBLISHED": str(published)},
            cwd=tmp_path,
        )
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout.splitlines()[-1])

    fresh = run("remote", "fresh")
    assert fresh["labels"] == ["row-0", "row-1", "row-2"] and fresh["total"] == 3
    assert fresh["pid"] != fresh["main_pid"]  # really ran elsewhere
    assert fresh["will_run"] == 4
    assert published.read_text() == "3:row-0,row-1,row-2\n"

    local = run("local", "inline")
    assert local["pid"] == local["main_pid"]

    def records(workspace: str) -> dict[str, dict]:
        found = (tmp_path / workspace).rglob("*.run.json")
        return {p.name: json.loads(p.read_text()) for p in found}

    remote_records, local_records = records("remote"), records("local")
    assert sorted(remote_records) == sorted(local_records)  # same ids in every process
    for name, record in remote_records.items():
        assert record["code"] == local_records[name]["code"]
        assert "Client" not in json.dumps(record)

    again = run("remote", "inline")  # a new process reuses what the workers made
    assert again["will_run"] == 0 and again["pid"] == fresh["pid"]
    assert published.read_text().count("\n") == 2


def test_editing_a_script_function_reruns_it_on_other_processes(tmp_path):
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "PUBLISHED": str(tmp_path / "published.txt")}
    args = [sys.executable, str(script), str(tmp_path / "ws"), "threads"]
    subprocess.run(args, check=True, capture_output=True, env=env, timeout=120)
    script.write_text(SCRIPT.replace("return sum(xs)", "return sum(xs) * 2"))
    out = subprocess.run(args, check=True, capture_output=True, text=True, env=env, timeout=120)
    result = json.loads(out.stdout.splitlines()[-1])
    assert result["will_run"] == 2 and result["total"] == 6  # total and publish
    last = (tmp_path / "published.txt").read_text().splitlines()[-1]
    assert last == "6:row-0,row-1,row-2"


EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "linepipe_to_cairn.py"


def test_linepipe_example_runs_then_reuses_everything_and_reruns_only_what_c_reaches(tmp_path):
    def run(*args: str) -> str:
        out = subprocess.run(
            [sys.executable, str(EXAMPLE), "--workspace", str(tmp_path / "ws"), *args],
            capture_output=True,
            check=False,
            text=True,
            timeout=300,
            cwd=tmp_path,
        )
        assert out.returncode == 0, out.stderr
        return out.stdout

    assert "7 of 7 node(s) ran" in run()
    assert "0 of 7 node(s) ran" in run()
    changed = run("--c", "0.3", "--executor", "threads")
    assert "3 of 7 node(s) ran" in changed and "2 score row(s) published" in changed
