"""The benchmarks run and print their tables (no timing is asserted: machines are noisy)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.slow
def test_run_all_quick_prints_both_tables():
    pytest.importorskip("torch")
    out = subprocess.run(
        [sys.executable, os.path.join(ROOT, "benchmarks", "run_all.py"), "--quick"],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "## Optimizer step time" in out.stdout
    assert "| optimizer | layout |" in out.stdout
    assert "## MLP training throughput" in out.stdout
    assert "| model | batch |" in out.stdout
    for name in ("SGD", "Adam", "AdamW", "Lion", "Amos"):
        assert f"| {name}" in out.stdout
