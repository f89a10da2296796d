"""Many objects loading at the same moment into a fresh database all succeed on their first try.

Airflow runs the Salesforce DAG's mapped tasks in parallel, one process each; on a fresh
warehouse they all create the schema and the shared bookkeeping tables at once. Each child
here logs in, describes its object, then waits for one "go" file, so the loads start within
a millisecond or so of each other; retries are off, so a failure on the first try fails it.
Three rounds, each on a fresh database.
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
    from dagplane.pipelines._read_ahead import read_ahead
    from dagplane.warehouse.postgres import PostgresDestination

    object_name, conninfo, folder = sys.argv[1:]
    source = SalesforceSource.from_env(
        retry=RetryPolicy(attempts=1, relogins=0), bulk_threshold=200, page_size=100
    )
    fields = source.fields(object_name)
    pages = source.pages(object_name, fields)  # lazy: nothing is requested yet
    destination = PostgresDestination(conninfo)
    Path(folder, object_name + ".ready").touch()
    while not Path(folder, "go").exists():
        time.sleep(0.0005)
    # What sync_object does once it has described the object: the load, from a fresh start.
    result = destination.load_object(
        object_name=object_name, fields=fields, pages=read_ahead(pages), run_id="parallel"
    )
    print(result.rows_copied)
    """
)
ROUNDS = 3  # each on a fresh database: the race is a matter of timing, so give it chances


def fresh_database(postgres_url: str) -> str:
    name = f"fresh_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_conninfo(postgres_url, dbname=name)


def load_all_at_once(emu: SalesforceEmulator, conninfo: str, folder: Path) -> dict[str, tuple]:
    """Start one child per object, release them together; (stdout, stderr, exit code) each."""
    folder.mkdir()
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
            [sys.executable, "-c", CHILD, name, conninfo, str(folder)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in COUNTS
    }
    deadline = time.monotonic() + 60
    while not all((folder / f"{name}.ready").exists() for name in COUNTS):
        failed = {n: c.returncode for n, c in children.items() if c.poll() is not None}
        assert not failed, f"children exited before the start: {failed}"
        assert time.monotonic() < deadline, "the children never got ready"
        time.sleep(0.01)
    (folder / "go").touch()
    outcomes = {}
    for name, child in children.items():
        out, err = child.communicate(timeout=120)
        outcomes[name] = (out, err, child.returncode)
    return outcomes


def test_six_objects_loading_at_once_on_a_fresh_database_all_succeed_first_try(
    postgres_url: str, tmp_path: Path
) -> None:
    with SalesforceEmulator(records=0, records_per_object=COUNTS, seed=3) as emu:
        for round_number in range(ROUNDS):
            conninfo = fresh_database(postgres_url)
            outcomes = load_all_at_once(emu, conninfo, tmp_path / f"round-{round_number}")

            failures = {n: err[-2000:] for n, (_, err, code) in outcomes.items() if code != 0}
            assert failures == {}
            assert {n: int(out.split()[-1]) for n, (out, _, _) in outcomes.items()} == COUNTS
            with psycopg.connect(conninfo) as conn:
                loaded = {
                    name: conn.execute(f"SELECT count(*) FROM salesforce.{name}").fetchone()[0]
                    for name in COUNTS
                }
                loads = conn.execute(
                    "SELECT object_name, rows_copied FROM salesforce._dagplane_loads ORDER BY 1"
                ).fetchall()
            assert loaded == COUNTS
            assert loads == sorted(COUNTS.items())
