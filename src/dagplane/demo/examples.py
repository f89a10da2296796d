"""The example-jobs demo: sync ``packages/`` into a temporary Airflow and run one DAG."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from dagplane.demo._steps import prepare_airflow
from dagplane.errors import JobFailedError

__all__ = ["run_examples_demo"]

DEMO_DAG = "examples__regional_report"
DEMO_TOKEN = "demo-token-4f1c9a"


def run_examples_demo(workdir: Path | None = None, console: Console | None = None) -> int:
    """Run the demo; return 0 when the DAG run succeeded and its outputs are there."""
    console = console or Console(stderr=True, highlight=False)
    work = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="dagplane-demo-"))
    try:
        return _run(work, console)
    finally:
        if workdir is None:
            shutil.rmtree(work, ignore_errors=True)


def _run(work: Path, console: Console) -> int:
    outputs = work / "outputs"
    env = {"DAGPLANE_EXAMPLES_OUTPUT": str(outputs), "REPORTING_API_TOKEN": DEMO_TOKEN}
    started = time.monotonic()
    airflow, _ = prepare_airflow(work, env, console)
    with console.status(f"running {DEMO_DAG} with `airflow dags test`"):
        run_started = time.monotonic()
        proc = airflow.test_dag(DEMO_DAG, "2024-06-01")
        seconds = time.monotonic() - run_started
    logs = proc.stdout + proc.stderr
    if proc.returncode != 0:
        console.print(logs[-4000:])
        raise JobFailedError(DEMO_DAG, f"`airflow dags test` exited with {proc.returncode}")
    reports = sorted(outputs.glob("regional_report_*.json"))
    table = Table(title=f"{DEMO_DAG}: one mapped task per region", title_justify="left")
    for column in ("partition", "orders", "run id", "output file"):
        table.add_column(column)
    for file in reports:
        data = json.loads(file.read_text(encoding="utf-8"))
        table.add_row(data["region"], str(data["orders"]), data["run_id"], file.name)
    console.print(table)
    masked = DEMO_TOKEN not in logs and "***" in logs
    console.print(
        f"DAG run succeeded in {seconds:.1f}s ({time.monotonic() - started:.1f}s in all); "
        f"secret masked in task logs: {'yes' if masked else 'NO'}"
    )
    return 0 if len(reports) == 3 and masked else 1
