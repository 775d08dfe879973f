"""The peer benchmark's quick mode runs and prints its tables (it times nothing here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_peers.py"


@pytest.mark.slow
def test_quick_peer_benchmark_prints_a_table_per_workload(tmp_path: Path) -> None:
    pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    options = ["--quick", "--workloads", "fanin,chain", "--tmpdir", str(tmp_path)]
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *options, "--tools", "cairn,nosuch"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 2, done.stderr  # an unknown tool is refused by name
    assert "unknown tool 'nosuch'" in done.stderr

    done = subprocess.run(
        [sys.executable, str(SCRIPT), *options, "--tools", "cairn,joblib"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "fan-in: 50 leaves -> 1 root" in out
    assert "chain: 50 tasks" in out
    cairn_rows = [line.split() for line in out.splitlines() if line.strip().startswith("cairn ")]
    assert len(cairn_rows) == 2, out
    for cells in cairn_rows:
        assert float(cells[1]) > 0 and float(cells[3]) > 0, out  # cold and warm seconds
    joblib_rows = [line for line in out.splitlines() if line.strip().startswith("joblib")]
    assert joblib_rows or "skipping joblib" in out, out
    assert list(tmp_path.iterdir()) == []  # every store is removed after its runs
