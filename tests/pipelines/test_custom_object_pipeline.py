"""A custom object (``Invoice__c``) through the job's entrypoint, as ``dagplane run
salesforce_to_postgres --partition Invoice__c`` runs it: emulator → connector → PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from dagplane.connectors.salesforce import SalesforceClient
from dagplane.connectors.salesforce.incremental import DEFAULT_OVERLAP
from dagplane.emulators.salesforce import SalesforceEmulator
from dagplane.jobs.context import JobContext
from dagplane.pipelines.salesforce import main

INVOICE = {
    "records": 900,
    "name_format": "INV-{0000}",
    "fields": [
        {"name": "Amount__c", "type": "currency", "precision": 16, "scale": 2},
        {"name": "Due__c", "type": "date"},
        {"name": "Status__c", "type": "picklist", "values": ["Draft", "Sent", "Paid"]},
        {"name": "Lines__c", "type": "int", "precision": 4},
        {"name": "Paid__c", "type": "boolean"},
    ],
}


@pytest.fixture
def emu() -> Iterator[SalesforceEmulator]:
    with SalesforceEmulator(records=1_000, seed=9, custom_objects={"Invoice__c": INVOICE}) as e:
        yield e


def sql(url: str, query: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchall()


def test_custom_object_loads_fully_then_incrementally(
    emu: SalesforceEmulator,
    postgres_url: str,
    credentials_for: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    creds = emu.credentials
    monkeypatch.setenv("SALESFORCE_USERNAME", creds["username"])
    monkeypatch.setenv("SALESFORCE_PASSWORD", creds["password"])
    monkeypatch.setenv("SALESFORCE_SECURITY_TOKEN", creds["security_token"])
    monkeypatch.setenv("SALESFORCE_LOGIN_URL", emu.url)
    monkeypatch.setenv("SALESFORCE_CA_BUNDLE", str(emu.ca_bundle))
    monkeypatch.setenv("POSTGRES_URL", postgres_url)

    assert (
        main(JobContext(job_id="salesforce_to_postgres", run_id="inv-1", partition="Invoice__c"))
        == 0
    )
    assert "Invoice__c: 900 rows" in capsys.readouterr().out
    client = SalesforceClient(credentials_for(emu))
    try:  # the connector's client is simple-salesforce underneath
        counted = client.query("SELECT COUNT() FROM Invoice__c")["totalSize"]
    finally:
        client.close()
    assert sql(postgres_url, "SELECT count(*) FROM salesforce.invoice__c") == [(counted,)]
    assert counted == 900
    types = dict(
        sql(
            postgres_url,
            "SELECT column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = 'salesforce' AND table_name = 'invoice__c'",
        )
    )
    assert {k: types[k] for k in ("amount__c", "due__c", "status__c", "lines__c", "paid__c")} == {
        "amount__c": "numeric",
        "due__c": "date",
        "status__c": "text",
        "lines__c": "integer",
        "paid__c": "boolean",
    }
    assert types["name"] == "text" and types["systemmodstamp"] == "timestamp with time zone"
    assert sql(postgres_url, "SELECT name FROM salesforce.invoice__c ORDER BY id LIMIT 1") == [
        ("INV-0001",)
    ]

    [(watermark,)] = sql(postgres_url, "SELECT max(systemmodstamp) FROM salesforce.invoice__c")
    since = (watermark - DEFAULT_OVERLAP).strftime("%Y-%m-%dT%H:%M:%SZ")
    client = SalesforceClient(credentials_for(emu))
    try:  # seeded rows in the overlap window are read again (the last one at least)
        overlap = client.query(f"SELECT COUNT() FROM Invoice__c WHERE SystemModstamp >= {since}")
    finally:
        client.close()
    assert overlap["totalSize"] >= 1
    changed = emu.update("Invoice__c", count=4, fields={"Status__c": "Paid", "Amount__c": 99.5})
    assert (
        main(JobContext(job_id="salesforce_to_postgres", run_id="inv-2", partition="Invoice__c"))
        == 0
    )
    assert sql(
        postgres_url,
        "SELECT rows_copied FROM salesforce._dagplane_loads"
        " WHERE object_name = 'Invoice__c' AND run_id = 'inv-2'",
    ) == [(4 + overlap["totalSize"],)]
    updated = sql(
        postgres_url,
        "SELECT id FROM salesforce.invoice__c WHERE _run_id = 'inv-2' AND amount__c = 99.5",
    )
    assert sorted(i for (i,) in updated) == sorted(changed)
    assert sql(postgres_url, "SELECT count(*) FROM salesforce.invoice__c") == [(900,)]
