"""Generated DAGs run end to end in real Airflow 3 (`airflow dags test`)."""

from __future__ import annotations

import json

import pytest

from dagplane.dags.local_airflow import LocalAirflow
from dagplane.dags.sync import sync_dags
from dagplane.jobs.discovery import discover

# Real `airflow dags test` runs: 8-13 s each.
pytestmark = [pytest.mark.airflow, pytest.mark.slow]


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
    # The UI names each mapped task instance by its partition, not 0, 1, 2.
    import sqlite3

    with sqlite3.connect(local_airflow.home / "airflow.db") as db:
        names = db.execute(
            "SELECT map_index, rendered_map_index FROM task_instance "
            "WHERE dag_id = 'examples__regional_report' ORDER BY map_index"
        ).fetchall()
    assert names == [(0, "emea"), (1, "amer"), (2, "apac")]


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


LEAKY_JOB = """\
import logging
from dagplane import Job, Secret

log = logging.getLogger("leaky")

def run(ctx):
    token = ctx.secret("LEAKY_TOKEN")
    try:
        raise ConnectionError("could not connect with " + token)
    except ConnectionError:
        log.exception("first attempt failed")
    raise RuntimeError("gave up with " + token + " after " + ",".join(ctx.args))

JOB = Job(entrypoint=run, retries=0, secrets=[Secret(name="leaky", keys=["LEAKY_TOKEN"])])
"""


def test_secrets_in_exceptions_stay_masked_and_conf_args_reach_the_job(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    root = tmp_path_factory.mktemp("leaky")
    job = root / "packages" / "secure" / "jobs" / "leaky.py"
    job.parent.mkdir(parents=True)
    job.write_text(LEAKY_JOB)
    result = discover(root / "packages", root=root)
    sync_dags(result, root / "dags")
    airflow = LocalAirflow(
        home=root / "airflow",
        dags_dir=root / "dags",
        packages_dir=root / "packages",
        extra_env={"LEAKY_TOKEN": "tok-5d1e8a7c-secret"},
    )
    airflow.migrate()
    proc = airflow.test_dag("secure__leaky", conf={"args": ["--since", "2024"]})
    logs = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "tok-5d1e8a7c-secret" not in logs
    assert "ConnectionError: could not connect with ***" in logs
    assert (
        "JobFailedError: job 'leaky' failed: RuntimeError: gave up with *** after --since,2024"
        in (logs)
    )
