"""Generated DAGs run end to end in real Airflow 3 (`airflow dags test`)."""

from __future__ import annotations

import json


def test_mapped_dag_runs_every_partition_and_masks_the_secret(local_airflow) -> None:
    local_airflow.extra_env["REPORTING_API_TOKEN"] = "tok-123456789"
    proc = local_airflow.test_dag("examples__regional_report", "2024-06-01")
    logs = proc.stdout + proc.stderr
    assert proc.returncode == 0, logs[-3000:]
    outputs = local_airflow.home / "outputs"
    reports = {p.name: json.loads(p.read_text()) for p in outputs.glob("regional_report_*.json")}
    assert sorted(reports) == [
        "regional_report_amer.json",
        "regional_report_apac.json",
        "regional_report_emea.json",
    ]
    for data in reports.values():
        assert data["logical_date"] == "2024-06-01T00:00:00+00:00"
        assert data["run_id"].startswith("manual__")
    assert "tok-123456789" not in logs
    assert "with token ***" in logs


def test_failing_job_fails_its_task_with_the_job_message(local_airflow) -> None:
    proc = local_airflow.test_dag("examples__always_fails")
    logs = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "JobFailedError: job 'always_fails' failed: RuntimeError: upstream export for" in logs
    assert "new_state=failed" in logs
    assert "state=failed" in logs


def test_legacy_dag_runs(local_airflow) -> None:
    proc = local_airflow.test_dag("examples__hello_legacy")
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert (local_airflow.home / "outputs" / "hello_legacy.txt").read_text() == "hello, world\n"
