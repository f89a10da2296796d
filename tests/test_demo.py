"""`dagplane demo` works end to end, as a new user runs it (smaller data, same path)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# The demos run DAGs through real Airflow 3: 12-25 s each.
pytestmark = [pytest.mark.airflow, pytest.mark.slow]


def run_demo(*args: str) -> str:
    """Run `dagplane demo ARGS` from the project root as a user would; its whole output."""
    proc = subprocess.run(
        [sys.executable, "-m", "dagplane.cli", "demo", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    return out


def test_salesforce_demo_runs_full_then_incremental() -> None:
    out = run_demo("--records", "3000")
    assert "first run (full load)" in out and "second run (incremental)" in out
    for name in ("Account", "Contact", "Opportunity", "Lead", "Case", "User"):
        assert f"│ {name}" in out
    flat = " ".join(out.split())
    assert (
        "incremental result: 250/250 updates merged, 40/40 deletes marked in _deleted_at, " in flat
    )
    assert "new column region__c filled for " in flat
    assert "demo finished in" in out


def test_examples_demo_runs_the_mapped_dag() -> None:
    out = run_demo("--examples")
    assert "secret masked in task logs: yes" in out
    for region in ("emea", "amer", "apac"):
        assert f"regional_report_{region}.json" in out
