"""Schema evolution through the whole job: the org changes via the emulator's HTTP control API,
and `dagplane run salesforce_to_postgres` (a real subprocess) loads into a fresh database.

A new custom field becomes a filled column and a recorded schema change; a type change that
is not a widening fails the run with one line naming table, column, both types and the fix,
and leaves the table, its rows and the watermark exactly as they were.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests

from dagplane.emulators.salesforce import SalesforceEmulator
from tests._org import fresh_database, salesforce_client

ROOT = Path(__file__).resolve().parents[2]

# `dagplane run` subprocesses against an HTTPS emulator and PostgreSQL: a few seconds each.
pytestmark = pytest.mark.slow


@pytest.fixture
def emu() -> Iterator[SalesforceEmulator]:
    with SalesforceEmulator(records=2_000, seed=3, port=0) as emulator:
        yield emulator


@pytest.fixture
def warehouse(postgres_url: str) -> str:
    """A fresh database: the job always loads into the ``salesforce`` schema."""
    return fresh_database(postgres_url, "evolve")


def control(emu: SalesforceEmulator, op: str, **payload: Any) -> dict[str, Any]:
    """``POST /__emulator__/<op>``, as a test driving a separate emulator process would."""
    session = requests.Session()
    session.trust_env = False
    answer = session.post(
        f"{emu.url}/__emulator__/{op}", json=payload, verify=str(emu.ca_bundle), timeout=30
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def run_job(emu: SalesforceEmulator, warehouse: str) -> subprocess.CompletedProcess[str]:
    """`dagplane run salesforce_to_postgres --partition Account` with the README's settings."""
    creds = emu.credentials
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGPLANE", "SALESFORCE_"))}
    env.update(
        SALESFORCE_LOGIN_URL=emu.url,
        SALESFORCE_CA_BUNDLE=str(emu.ca_bundle),
        SALESFORCE_USERNAME=creds["username"],
        SALESFORCE_PASSWORD=creds["password"],
        SALESFORCE_SECURITY_TOKEN=creds["security_token"],
        POSTGRES_URL=warehouse,
    )
    command = [sys.executable, "-m", "dagplane.cli", "run", "salesforce_to_postgres"]
    return subprocess.run(
        [*command, "--partition", "Account"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def soql_total(emu: SalesforceEmulator, soql: str) -> int:
    """``totalSize`` of a SOQL query through an unmodified simple-salesforce client."""
    return int(salesforce_client(emu.url, emu.ca_bundle).query(soql)["totalSize"])


def one(warehouse: str, statement: str) -> Any:
    with psycopg.connect(warehouse) as conn:
        return conn.execute(statement).fetchone()


def column_types(warehouse: str) -> dict[str, str]:
    with psycopg.connect(warehouse) as conn:
        rows = conn.execute(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute"
            " WHERE attrelid = 'salesforce.account'::regclass AND attnum > 0"
            " AND NOT attisdropped"
        ).fetchall()
    return dict(rows)


def test_a_new_custom_field_becomes_a_filled_column_and_a_recorded_change(
    emu: SalesforceEmulator, warehouse: str
) -> None:
    first = run_job(emu, warehouse)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "region__c" not in column_types(warehouse)

    control(emu, "add_field", object="Account", name="Region__c", type="picklist")
    accounts = soql_total(emu, "SELECT Id FROM Account")
    with_region = soql_total(emu, "SELECT Id FROM Account WHERE Region__c != null")
    second = run_job(emu, warehouse)
    assert second.returncode == 0, second.stderr[-3000:]
    assert f"Account: {accounts} rows" in second.stdout  # every row is read again to fill it

    assert column_types(warehouse)["region__c"] == "text"
    filled, total = one(warehouse, "SELECT count(region__c), count(*) FROM salesforce.account")
    assert total == accounts == 400
    assert filled == with_region and 300 < filled < total  # seeded values, about 10% null
    (changes,) = one(
        warehouse,
        "SELECT schema_changes FROM salesforce._dagplane_loads"
        " WHERE object_name = 'Account' ORDER BY loaded_at DESC LIMIT 1",
    )
    assert changes == ["salesforce.account: add column region__c text"]


def table_state(warehouse: str) -> tuple[Any, ...]:
    """Row count, a checksum of every row, the columns and the watermark row."""
    (count, checksum) = one(
        warehouse,
        "SELECT count(*), md5(string_agg(t::text, '|' ORDER BY t.id)) FROM salesforce.account t",
    )
    watermark = one(warehouse, "SELECT * FROM salesforce._dagplane_watermarks")
    (loads,) = one(warehouse, "SELECT count(*) FROM salesforce._dagplane_loads")
    return count, checksum, column_types(warehouse), watermark, loads


def test_an_incompatible_type_change_fails_in_one_line_and_changes_nothing(
    emu: SalesforceEmulator, warehouse: str
) -> None:
    control(emu, "add_field", object="Account", name="Score__c", type="number")
    first = run_job(emu, warehouse)
    assert first.returncode == 0, first.stderr[-3000:]
    assert column_types(warehouse)["score__c"] == "numeric(18,2)"
    before = table_state(warehouse)

    control(emu, "update", object="Account", count=25, fields={"Name": "Changed Since"})
    control(emu, "change_field", object="Account", name="Score__c", type="text")
    second = run_job(emu, warehouse)

    assert second.returncode == 1, second.stdout + second.stderr
    last = second.stderr.strip().splitlines()[-1]
    assert last == (
        "error: job 'salesforce_to_postgres' failed: SchemaChangeError: "
        "Account.Score__c (salesforce.account.score__c): cannot change column type from "
        "numeric(18,2) to text: "
        "it is not a widening and could lose or reject data (fix: convert it yourself, e.g. "
        "ALTER TABLE salesforce.account ALTER COLUMN score__c TYPE text USING score__c::text, "
        "or rename or drop the column so the next load creates it again)"
    )
    assert table_state(warehouse) == before
    assert one(
        warehouse, "SELECT count(*) FROM salesforce.account WHERE name = 'Changed Since'"
    ) == (0,)
