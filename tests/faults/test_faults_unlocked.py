"""Four runners building one graph in one workspace at once, with no lock: each task may be
computed by several of them, with different bytes each time (the tasks are not
deterministic). Every run record left must describe exactly the bytes of its output, and
every root result a runner returns must be a valid one; with the workspace reached through
a symlink by some of them too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

import cairn

PIPELINE = textwrap.dedent(
    """
    import hashlib, json, os, random, sys, time
    import cairn

    def stamp(body):
        text = json.dumps(body, sort_keys=True)
        return {**body, "digest": hashlib.sha256(text.encode()).hexdigest()}

    class Leaf(cairn.Task):
        i = cairn.IntParameter()
        extension = cairn.Parameter(default=".json")

        def output(self):
            return self.make_target(f"leaf{self.extension}")

        def run(self):
            time.sleep(random.SystemRandom().random() * 0.02)
            return stamp({"i": self.i, "token": os.urandom(8).hex(), "pad": "x" * 2000})

    class Mid(cairn.Task):
        j = cairn.IntParameter()

        def requires(self):
            return [Leaf(i=self.j * 3 + k, extension=[".json", ".pkl"][k % 2]) for k in range(3)]

        def run(self):
            parts = self.load()
            time.sleep(random.SystemRandom().random() * 0.02)
            return stamp({"parts": parts, "token": os.urandom(8).hex()})

    class Root(cairn.Task):
        def requires(self):
            return [Mid(j=j) for j in range(4)]

        def output(self):
            return self.make_target("root.json")

        def run(self):
            return stamp({"mids": self.load(), "token": os.urandom(8).hex()})

    if __name__ == "__main__":
        workspace, executor = sys.argv[1], sys.argv[2]
        if executor == "plan":
            print(len(cairn.plan(Root(), workspace=workspace, strict_check=True).to_run))
            sys.exit(0)
        result = cairn.build(
            Root(), workspace=workspace, lock=False, executor=executor, workers=3,
            progress=False, summary=False,
        )
        print(json.dumps(result))
    """
)


def _valid(value: dict, shape: str) -> bool:
    """A value that one run of its task made, as a whole (its digest matches its body)."""
    import hashlib

    body = {k: v for k, v in value.items() if k != "digest"}
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    if digest != value.get("digest"):
        return False
    if shape == "root":
        return len(value["mids"]) == 4 and all(_valid(m, "mid") for m in value["mids"])
    if shape == "mid":
        return len(value["parts"]) == 3 and all(_valid(p, "leaf") for p in value["parts"])
    return True


@pytest.mark.parametrize("executor", ["inline", "threads"])
@pytest.mark.parametrize("symlinked", [False, True])
def test_four_unlocked_runners_leave_records_that_match_their_files(tmp_path, executor, symlinked):
    script = tmp_path / "unlocked.py"
    script.write_text(PIPELINE)
    real = tmp_path / "ws"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    paths = [real, link, real, link] if symlinked else [real] * 4
    for round_ in range(3):
        procs = [
            subprocess.Popen(
                [sys.executable, str(script), str(path), executor],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                cwd=tmp_path,
            )
            for path in paths
        ]
        outputs = [proc.communicate(timeout=180) for proc in procs]
        for proc, (out, err) in zip(procs, outputs, strict=True):
            assert proc.returncode == 0, err
            assert _valid(json.loads(out.strip().splitlines()[-1]), "root"), out
        checked = cairn.verify(workspace=str(real), stale_after=0)
        assert checked.broken == {}, f"round {round_}: {checked}"
        assert checked.stale == (), f"round {round_}: {checked}"
        assert checked.checked == 1 + 4 + 12
        # a later runner reads the stored results: all intact, nothing reruns
        done = subprocess.run(
            [sys.executable, str(script), str(real), "inline"],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=120,
            check=True,
        )
        stored = json.loads(done.stdout.strip().splitlines()[-1])
        assert _valid(stored, "root")
        planned = subprocess.run(
            [sys.executable, str(script), str(real), "plan"],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=120,
            check=True,
        )
        assert planned.stdout.strip() == "0", planned.stdout + planned.stderr
        for record in real.rglob("*.run.json"):
            data = json.loads(record.read_text())
            for entry in data["outputs"].values():
                file = real / entry["path"]
                assert file.stat().st_size == entry["size"], record
        # the next round starts from nothing again
        for entry in real.iterdir():
            if entry.name != ".cairn":
                subprocess.run(["rm", "-rf", str(entry)], check=True)
        assert os.listdir(real) == [".cairn"]
