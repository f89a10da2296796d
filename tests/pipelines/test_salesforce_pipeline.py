"""End to end: the HTTPS emulator → the connector → the loader → a real PostgreSQL."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from dagplane.connectors.salesforce import (
    ApiUsageLimitError,
    MalformedPageError,
    RetryPolicy,
    SalesforceClient,
    SalesforceSource,
)
from dagplane.emulators.salesforce import SalesforceEmulator
from dagplane.jobs.context import JobContext
from dagplane.pipelines.salesforce import main, sync_object, sync_objects
from dagplane.warehouse.postgres import PostgresDestination

_schemas = itertools.count()


@pytest.fixture
def emu() -> Iterator[Any]:
    with SalesforceEmulator(records=2_000, seed=1, port=0) as emulator:
        yield emulator


@pytest.fixture
def source(emu: Any, credentials_for: Any) -> Iterator[SalesforceSource]:
    client = SalesforceClient(credentials_for(emu), retry=RetryPolicy(base_delay=0.001))
    with SalesforceSource(client, bulk_threshold=300, page_size=150, poll_interval=0.001) as s:
        yield s


@pytest.fixture
def destination(postgres_url: str) -> PostgresDestination:
    return PostgresDestination(postgres_url, schema=f"sf_pipeline_{next(_schemas)}")


def rows(dest: PostgresDestination, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(dest._conninfo) as conn:
        return conn.execute(sql.replace("{schema}", dest.schema)).fetchall()


def test_full_then_incremental_load(emu: Any, source: SalesforceSource, destination) -> None:
    first = sync_objects(
        ["Account", "User"],
        source=source,
        destination=destination,
        run_id="run-1",
    )
    assert [r.object_name for r in first] == ["Account", "User"]
    assert [r.rows for r in first] == [400, 60]  # Account via Bulk (3 pages), User via REST
    assert first[0].watermark == max(
        r[0] for r in rows(destination, "SELECT systemmodstamp FROM {schema}.account")
    )
    # The sync's time covers extraction and the load _dagplane_loads timed, and nothing else.
    [(load_seconds,)] = rows(
        destination,
        "SELECT seconds FROM {schema}._dagplane_loads"
        " WHERE run_id = 'run-1' AND object_name = 'Account'",
    )
    assert isinstance(first[0].seconds, float) and load_seconds <= first[0].seconds < 120
    assert first[0].rows_per_second == pytest.approx(400 / first[0].seconds)
    assert rows(destination, "SELECT count(*) FROM {schema}.account") == [(400,)]

    changed = emu.update("Account", count=3, fields={"Name": "Renamed Inc"})
    deleted = emu.delete("Account", count=2, last=True)
    second = sync_object("Account", source=source, destination=destination, run_id="run-2")
    assert second.rows == 5  # only what changed since the watermark (minus the overlap)
    assert second.watermark > first[0].watermark
    assert sorted(
        rows(destination, "SELECT id FROM {schema}.account WHERE name = 'Renamed Inc'")
    ) == [(i,) for i in sorted(changed)]
    marked = rows(destination, "SELECT id FROM {schema}.account WHERE _deleted_at IS NOT NULL")
    assert sorted(marked) == [(i,) for i in sorted(deleted)]

    again = sync_object("Account", source=source, destination=destination, run_id="run-3")
    assert again.rows == 5  # the overlap window re-reads them ...
    assert rows(destination, "SELECT count(*), count(DISTINCT id) FROM {schema}.account") == [
        (400, 400)  # ... and the merge never duplicates
    ]


def test_a_new_field_is_backfilled_for_rows_loaded_before(
    emu: Any, source: SalesforceSource, destination
) -> None:
    sync_object("Account", source=source, destination=destination, run_id="run-1")
    emu.add_field("Account", "Tier__c", type="string")
    with_values = source.client.query("SELECT Id FROM Account WHERE Tier__c != null")["totalSize"]
    assert with_values > 300  # seeded values for existing records
    backfill = sync_object("Account", source=source, destination=destination, run_id="run-2")
    assert backfill.rows == 400  # every row is read once more, to fill the new column
    filled = "SELECT count(tier__c), count(*) FROM {schema}.account"
    assert rows(destination, filled) == [(with_values, 400)]
    after = sync_object("Account", source=source, destination=destination, run_id="run-3")
    assert after.rows < 10  # and then incremental again


def test_field_selection_and_mode_override(source: SalesforceSource, destination) -> None:
    result = sync_objects(
        ["Lead"],
        source=source,
        destination=destination,
        run_id="run-1",
        field_selection={"Lead": ["LastName"]},
        mode="rest",
    )
    assert result[0].rows == 300
    columns = rows(
        destination,
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = '{schema}' AND table_name = 'lead' AND column_name NOT LIKE '\\_%'",
    )
    assert sorted(c for (c,) in columns) == ["id", "isdeleted", "lastname", "systemmodstamp"]


@pytest.mark.parametrize("fault", ["truncated_page", "api_usage"])
def test_a_failure_loads_nothing(
    emu: Any, source: SalesforceSource, destination, fault: str
) -> None:
    sync_object("Account", source=source, destination=destination, run_id="run-1")
    watermark = destination.read_watermark("Account")
    emu.update("Account", count=200, fields={"Name": "Half Done"})
    if fault == "api_usage":
        emu.set_api_usage(900, max=1000)
        expected: type[Exception] = ApiUsageLimitError
    else:
        emu.inject_fault("truncated_page")
        expected = MalformedPageError
    with pytest.raises(expected):
        sync_object(
            "Account",
            source=source,
            destination=destination,
            run_id="run-2",
            mode="bulk",
        )
    assert rows(destination, "SELECT count(*) FROM {schema}.account WHERE name = 'Half Done'") == [
        (0,)
    ]
    assert destination.read_watermark("Account") == watermark
    assert rows(destination, "SELECT DISTINCT _run_id FROM {schema}.account") == [("run-1",)]


def test_main_reads_env_and_secret_files(
    emu: Any, postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    values = emu.credentials
    monkeypatch.setenv("SALESFORCE_CLIENT_ID", values["client_id"])
    (tmp_path / "sf-creds").mkdir()
    (tmp_path / "sf-creds" / "SALESFORCE_CLIENT_SECRET").write_text(values["client_secret"])
    monkeypatch.setenv("DAGPLANE__SECRETS_DIR", str(tmp_path))
    monkeypatch.setenv("SALESFORCE_LOGIN_URL", emu.url)
    monkeypatch.setenv("SALESFORCE_CA_BUNDLE", str(emu.ca_bundle))
    monkeypatch.setenv("POSTGRES_URL", postgres_url)
    secrets = {"sf-creds": ("SALESFORCE_CLIENT_ID", "SALESFORCE_CLIENT_SECRET")}
    ctx = JobContext(job_id="sf", run_id="r1", partition="Case", secret_names=secrets)
    assert main(ctx) == 0
    assert "Case: 240 rows" in capsys.readouterr().out


@pytest.mark.parametrize("mode", ["bulk", "rest"])
def test_nul_bytes_in_text_values_are_removed_and_counted(
    emu: Any, source: SalesforceSource, destination, mode: str
) -> None:
    emu.inject_fault("nul_bytes", count=100)

    result = sync_object("Account", source=source, destination=destination, run_id="nul", mode=mode)

    assert result.rows == 400
    assert emu.stats["fault.nul_bytes"] >= 1
    (removed,) = rows(destination, "SELECT nul_bytes_removed FROM {schema}._dagplane_loads")[0]
    assert removed >= 1
    emu.clear_faults()
    clean = source.client.query("SELECT Id, Name, Description FROM Account")
    records = list(clean["records"])
    while not clean["done"]:
        clean = source.client.query_more(clean["nextRecordsUrl"])
        records += clean["records"]
    loaded = rows(destination, "SELECT id, name, description FROM {schema}.account")
    assert sorted(loaded) == sorted((r["Id"], r["Name"], r["Description"]) for r in records)
