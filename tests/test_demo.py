"""`dagplane demo` works end to end, as a new user runs it (smaller data, same path)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from dagplane.emulators.salesforce import SalesforceEmulator
from tests._org import fresh_database, salesforce_client

ROOT = Path(__file__).resolve().parents[1]

# The demos run DAGs through real Airflow 3: 12-25 s each.
pytestmark = [pytest.mark.airflow, pytest.mark.slow]


def run_demo(*args: str, expect: int = 0) -> str:
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
    assert proc.returncode == expect, out[-4000:]
    return out


RECORDS = 1_500  # the smallest org with the 250 Accounts the demo updates (Account: 20%)
OBJECTS = ("Account", "Contact", "Opportunity", "Lead", "Case", "User")
# What the demo's second run follows (README: "Try it", "The Salesforce → PostgreSQL pipeline").
UPDATED_ACCOUNTS, DELETED_CONTACTS = 250, 40
OVERLAP = timedelta(minutes=5)  # README: rows with SystemModstamp >= watermark - 5 min


@dataclass(frozen=True)
class Org:
    """What an org of ``RECORDS`` records holds, as its REST API answers over HTTPS."""

    counts: dict[str, int]
    newest: dict[str, datetime]  # the newest SystemModstamp of each object
    in_overlap: dict[str, int]  # records within OVERLAP of the newest one


def count_the_org() -> Org:
    """Serve an org like the demo's (same record count) and count it with simple-salesforce."""
    with SalesforceEmulator(records=RECORDS) as emu:
        sf = salesforce_client(emu.url, emu.ca_bundle)
        counts, newest, in_overlap = {}, {}, {}
        for name in OBJECTS:
            counts[name] = sf.query(f"SELECT Id FROM {name}")["totalSize"]
            [record] = sf.query(
                f"SELECT SystemModstamp FROM {name} ORDER BY SystemModstamp DESC LIMIT 1"
            )["records"]
            newest[name] = datetime.strptime(record["SystemModstamp"], "%Y-%m-%dT%H:%M:%S.%f%z")
            since = (newest[name] - OVERLAP).strftime("%Y-%m-%dT%H:%M:%SZ")
            in_overlap[name] = sf.query(f"SELECT Id FROM {name} WHERE SystemModstamp >= {since}")[
                "totalSize"
            ]
    return Org(counts, newest, in_overlap)


def test_salesforce_demo_loads_the_org_then_only_what_changed(
    postgres_url: str, tmp_path: Path
) -> None:
    org = count_the_org()
    assert org.counts["Account"] >= UPDATED_ACCOUNTS and org.counts["Contact"] >= DELETED_CONTACTS
    database = fresh_database(postgres_url, "demo")
    work = tmp_path / "work"

    out = run_demo("--records", str(RECORDS), "--postgres-url", database, "--workdir", str(work))
    # --workdir keeps AIRFLOW_HOME and the DAGs (a temporary folder is removed), and says so.
    assert (work / "airflow" / "airflow.cfg").is_file()
    assert (work / "airflow" / "airflow.db").is_file()
    assert (work / "dags" / "salesforce__salesforce_to_postgres.py").is_file()
    assert (work / "emulator" / "ca.pem").is_file()
    assert "kept in " in out  # (rich may wrap the long path)
    assert "uv run dagplane dev up" in out

    with psycopg.connect(database) as conn:
        rows = {
            name: conn.execute(f'SELECT count(*) FROM salesforce."{name.lower()}"').fetchone()[0]
            for name in OBJECTS
        }
        (deleted,) = conn.execute(
            "SELECT count(*) FROM salesforce.contact WHERE _deleted_at IS NOT NULL"
        ).fetchone()
        (regions,) = conn.execute("SELECT count(region__c) FROM salesforce.account").fetchone()
        loads = conn.execute(
            "SELECT run_id, object_name, rows_copied, rows_deleted, watermark, schema_changes"
            " FROM salesforce._dagplane_loads ORDER BY loaded_at"
        ).fetchall()
    # Deletes are marked, not removed: every record of the org is a row.
    assert rows == org.counts
    assert deleted == DELETED_CONTACTS
    assert regions > 0  # the new field's values arrived for the rows loaded before it existed

    runs = list(dict.fromkeys(run_id for run_id, *_ in loads))
    assert len(runs) == 2, runs
    first = {name: rest for run_id, name, *rest in loads if run_id == runs[0]}
    second = {name: rest for run_id, name, *rest in loads if run_id == runs[1]}
    assert sorted(first) == sorted(second) == sorted(OBJECTS)
    # First run: everything, up to each object's newest record.
    for name in OBJECTS:
        copied, deletes, watermark, _ = first[name]
        assert (name, copied, deletes, watermark) == (name, org.counts[name], 0, org.newest[name])
    # Second run: only what changed since the watermark (plus the overlap window), except
    # Account, read whole once more because it gained a column.
    expected = {name: (org.in_overlap[name], 0) for name in OBJECTS}
    expected["Account"] = (org.counts["Account"], 0)
    expected["Contact"] = (org.in_overlap["Contact"] + DELETED_CONTACTS, DELETED_CONTACTS)
    assert {name: tuple(load[:2]) for name, load in second.items()} == expected
    assert second["Account"][3] == ["salesforce.account: add column region__c text"]
    assert all(second[name][3] == [] for name in OBJECTS if name != "Account")


def test_examples_demo_runs_the_mapped_dag() -> None:
    out = run_demo("--examples")
    assert "secret masked in task logs: yes" in out
    for region in ("emea", "amer", "apac"):
        assert f"regional_report_{region}.json" in out


# Installed by an event trigger as soon as the demo creates salesforce.account: a warehouse that
# silently keeps every Account's old rating, so the demo's incremental check must catch it.
KEEP_OLD_RATINGS = """
CREATE FUNCTION public.keep_old_rating() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.rating := OLD.rating; RETURN NEW; END $$;
CREATE FUNCTION public.arm_keep_old_rating() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT FROM pg_event_trigger_ddl_commands()
             WHERE object_identity = 'salesforce.account') THEN
    CREATE TRIGGER keep_old_rating BEFORE UPDATE ON salesforce.account
      FOR EACH ROW EXECUTE FUNCTION public.keep_old_rating();
  END IF;
END $$;
CREATE EVENT TRIGGER arm_keep_old_rating ON ddl_command_end WHEN TAG IN ('CREATE TABLE')
  EXECUTE FUNCTION public.arm_keep_old_rating();
"""


def test_salesforce_demo_loads_into_postgres_url_and_exits_1_when_a_check_fails(
    postgres_url: str,
) -> None:
    import urllib.parse

    import psycopg

    name = "demo_target"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    target = urllib.parse.urlunsplit(urllib.parse.urlsplit(postgres_url)._replace(path=f"/{name}"))
    with psycopg.connect(target, autocommit=True) as conn:
        conn.execute(KEEP_OLD_RATINGS)

    out = run_demo("--records", "3000", "--postgres-url", target, expect=1)

    flat = " ".join(out.split())
    assert "second run (incremental)" in out
    assert "250/250 updates merged" not in flat and "/250 updates merged" in flat
    assert "40/40 deletes marked in _deleted_at" in flat  # the other checks still pass
    assert "demo finished with problems" in out
    with psycopg.connect(target) as conn:
        loaded = dict(
            conn.execute(
                "SELECT object_name, sum(rows_copied) FROM salesforce._dagplane_loads"
                " GROUP BY object_name"
            ).fetchall()
        )
        (accounts,) = conn.execute("SELECT count(*) FROM salesforce.account").fetchone()
    assert sorted(loaded) == ["Account", "Case", "Contact", "Lead", "Opportunity", "User"]
    assert accounts == 600  # 20% of --records 3000, loaded into the database we named
