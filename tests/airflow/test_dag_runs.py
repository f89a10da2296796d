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


CONTEXT_JOB = """\
import json, logging, os, subprocess, sys, urllib.parse
from dagplane import Job, Secret

log = logging.getLogger("context_job")
NAMES = ["DAGPLANE_JOB_ID", "DAGPLANE_RUN_ID", "DAGPLANE_PARTITION", "DAGPLANE_TRY_NUMBER",
         "DAGPLANE_LOGICAL_DATE", "DAGPLANE_DATA_INTERVAL_START", "DAGPLANE_DATA_INTERVAL_END"]
CHILD = "import json, os, sys; print(json.dumps({n: os.environ.get(n) for n in sys.argv[1:]}))"

def run(ctx):
    pw = ctx.secret("DB_PASSWORD")
    for name, form in [("raw", pw), ("quote", urllib.parse.quote(pw)),
                       ("quote_nosafe", urllib.parse.quote(pw, safe="")),
                       ("quote_plus", urllib.parse.quote_plus(pw))]:
        print(f"printed {name}={form}")
        log.warning("logged %s=%s", name, form)
    print("url=postgresql://user:" + urllib.parse.quote(pw) + "@db.example/dw")
    child = subprocess.run([sys.executable, "-c", CHILD, *NAMES],
                           capture_output=True, text=True, check=True)
    seen = {"child": json.loads(child.stdout), "run_id": ctx.run_id,
            "logical_date": ctx.logical_date.isoformat(), "try_number": ctx.try_number}
    with open(os.path.join(os.environ["OUT_DIR"], f"{ctx.partition}.json"), "w") as fh:
        json.dump(seen, fh)
    return 0

JOB = Job(entrypoint=run, partitions=["north", "south"], retries=0,
          secrets=[Secret(name="db", keys=["DB_PASSWORD"])])
"""
URL_SECRET = "p@ss/w:rd&=+ 9x"  # pragma: allowlist secret


def test_child_processes_see_the_context_and_url_quoted_secrets_are_masked(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    import urllib.parse

    root = tmp_path_factory.mktemp("context")
    job = root / "packages" / "ctx" / "jobs" / "context_job.py"
    job.parent.mkdir(parents=True)
    job.write_text(CONTEXT_JOB)
    sync_dags(discover(root / "packages", root=root), root / "dags")
    out_dir = root / "out"
    out_dir.mkdir()
    airflow = LocalAirflow(
        home=root / "airflow",
        dags_dir=root / "dags",
        packages_dir=root / "packages",
        extra_env={"DB_PASSWORD": URL_SECRET, "OUT_DIR": str(out_dir)},
    )
    airflow.migrate()
    proc = airflow.test_dag("ctx__context_job", "2024-06-01")
    logs = proc.stdout + proc.stderr
    assert proc.returncode == 0, logs[-3000:]

    for partition in ("north", "south"):
        seen = json.loads((out_dir / f"{partition}.json").read_text())
        child = seen["child"]
        assert child["DAGPLANE_JOB_ID"] == "context_job"
        assert child["DAGPLANE_RUN_ID"] == seen["run_id"] and seen["run_id"].startswith("manual__")
        assert child["DAGPLANE_PARTITION"] == partition
        assert child["DAGPLANE_TRY_NUMBER"] == str(seen["try_number"]) == "1"
        assert child["DAGPLANE_LOGICAL_DATE"] == seen["logical_date"] == "2024-06-01T00:00:00+00:00"
        assert child["DAGPLANE_DATA_INTERVAL_START"] and child["DAGPLANE_DATA_INTERVAL_END"]

    forms = {
        URL_SECRET,
        urllib.parse.quote(URL_SECRET),
        urllib.parse.quote(URL_SECRET, safe=""),
        urllib.parse.quote_plus(URL_SECRET),
    }
    for form in forms:
        assert form not in logs
    for name in ("raw", "quote", "quote_nosafe", "quote_plus"):
        assert f"printed {name}=***" in logs
        assert f"logged {name}=***" in logs
    assert "url=postgresql://user:***@db.example/dw" in logs
