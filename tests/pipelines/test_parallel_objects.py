"""Many objects loading at the same moment into a fresh database all succeed on their first try.

Airflow runs the Salesforce DAG's mapped tasks in parallel, one process each; on a fresh
warehouse they all create the schema and the shared bookkeeping tables at once. Each child
here logs in, imports everything, then waits for one "go" file, so the loads start within a
millisecond or so of each other; retries are off, so a failure on the first try fails it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from dagplane.emulators.salesforce import SalesforceEmulator

pytestmark = pytest.mark.slow

COUNTS = {"Account": 700, "Contact": 600, "Opportunity": 500, "Lead": 400, "Case": 300, "User": 90}

CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from dagplane.connectors.salesforce import RetryPolicy, SalesforceSource
    from dagplane.pipelines.salesforce import sync_object
    from dagplane.warehouse.postgres import PostgresDestination

    object_name, conninfo, folder = sys.argv[1:]
    source = SalesforceSource.from_env(
        retry=RetryPolicy(attempts=1, relogins=0), bulk_threshold=200, page_size=100
    )
    source.client.login()
    destination = PostgresDestination(conninfo)
    Path(folder, object_name + ".ready").touch()
    while not Path(folder, "go").exists():
        time.sleep(0.0005)
    result = sync_object(object_name, source=source, destination=destination, run_id="parallel")
    print(result.rows)
    """
)


@pytest.fixture
def fresh_database(postgres_url: str):
    name = f"fresh_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield make_conninfo(postgres_url, dbname=name)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def test_six_objects_loading_at_once_on_a_fresh_database_all_succeed_first_try(
    fresh_database: str, tmp_path: Path
) -> None:
    with SalesforceEmulator(records=0, records_per_object=COUNTS, seed=3) as emu:
        creds = emu.credentials
        env = {
            **os.environ,
            "SALESFORCE_LOGIN_URL": emu.url,
            "SALESFORCE_CA_BUNDLE": str(emu.ca_bundle),
            "SALESFORCE_USERNAME": creds["username"],
            "SALESFORCE_PASSWORD": creds["password"],
            "SALESFORCE_SECURITY_TOKEN": creds["security_token"],
        }
        children = {
            name: subprocess.Popen(
                [sys.executable, "-c", CHILD, name, fresh_database, str(tmp_path)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for name in COUNTS
        }
        deadline = time.monotonic() + 60
        while not all((tmp_path / f"{name}.ready").exists() for name in COUNTS):
            failed = {n: c.returncode for n, c in children.items() if c.poll() is not None}
            assert not failed, f"children exited before the start: {failed}"
            assert time.monotonic() < deadline, "the children never got ready"
            time.sleep(0.01)
        (tmp_path / "go").touch()
        outcomes = {}
        for name, child in children.items():
            out, err = child.communicate(timeout=120)
            outcomes[name] = (out, err, child.returncode)

    failures = {name: err[-2000:] for name, (_, err, code) in outcomes.items() if code != 0}
    print("\n\n".join(failures.values()))
    assert failures == {}
    assert {name: int(out.split()[-1]) for name, (out, _, _) in outcomes.items()} == COUNTS
    with psycopg.connect(fresh_database) as conn:
        loaded = {
            name: conn.execute(f"SELECT count(*) FROM salesforce.{name.lower()}").fetchone()[0]
            for name in COUNTS
        }
        loads = conn.execute(
            "SELECT object_name, rows_copied FROM salesforce._dagplane_loads ORDER BY 1"
        ).fetchall()
    assert loaded == COUNTS
    assert loads == sorted(COUNTS.items())
