"""Custom objects (``Invoice__c``): describe, REST query/queryAll, Bulk 2.0, control ops."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
from simple_salesforce import Salesforce

from dagplane.emulators.salesforce import EmulatorUsageError, SalesforceEmulator
from dagplane.emulators.salesforce.customobj import parse_object_option

INVOICE = {
    "records": 700,
    "name_format": "INV-{0000}",
    "fields": [
        {"name": "Amount__c", "type": "currency", "precision": 16, "scale": 2},
        {"name": "Due__c", "type": "date"},
        {"name": "Status__c", "type": "picklist", "values": ["Draft", "Sent", "Paid"]},
    ],
}


@pytest.fixture
def invoices(make_client) -> Iterator[tuple[SalesforceEmulator, Salesforce]]:
    with SalesforceEmulator(records=1_000, seed=4, custom_objects={"Invoice__c": INVOICE}) as emu:
        yield emu, make_client(emu)


def test_describe_has_the_custom_object_standard_fields(invoices) -> None:
    _, sf = invoices
    listed = {o["name"]: o for o in sf.describe()["sobjects"]}
    assert listed["Invoice__c"]["custom"] is True and listed["Account"]["custom"] is False
    assert listed["Invoice__c"]["keyPrefix"] == "a00" and listed["Invoice__c"]["queryable"]
    described = sf.Invoice__c.describe()
    fields = {f["name"]: f for f in described["fields"]}
    assert list(fields) == [
        "Id",
        "OwnerId",
        "IsDeleted",
        "Name",
        "CreatedDate",
        "CreatedById",
        "LastModifiedDate",
        "LastModifiedById",
        "SystemModstamp",
        "LastViewedDate",
        "LastReferencedDate",
        "Amount__c",
        "Due__c",
        "Status__c",
    ]
    assert fields["Name"]["autoNumber"] and fields["Name"]["nameField"]
    assert not fields["Name"]["updateable"]
    assert (fields["Amount__c"]["type"], fields["Amount__c"]["custom"]) == ("currency", True)
    assert not fields["OwnerId"]["custom"] and fields["OwnerId"]["referenceTo"] == ["User"]


def test_rest_and_bulk_serve_the_same_deterministic_rows(invoices, make_client) -> None:
    _, sf = invoices
    soql = "SELECT Id, Name, Amount__c, Status__c FROM Invoice__c ORDER BY Id"
    rest = sf.query_all(soql)["records"]
    assert len(rest) == 700 and rest[0]["Id"].startswith("a00") and rest[0]["Name"] == "INV-0001"
    assert {r["Status__c"] for r in rest} == {"Draft", "Sent", "Paid", None}
    bulk = [
        row
        for page in sf.bulk2.Invoice__c.query(soql, max_records=300, wait=0)
        for row in csv.DictReader(io.StringIO(page))
    ]
    assert [r["Id"] for r in bulk] == [r["Id"] for r in rest]
    with SalesforceEmulator(records=1_000, seed=4, custom_objects={"Invoice__c": INVOICE}) as twin:
        assert make_client(twin).query_all(soql)["records"] == rest
    assert sf.query("SELECT COUNT() FROM Invoice__c")["totalSize"] == 700


def test_changes_and_deletes_work_on_custom_objects(invoices) -> None:
    emu, sf = invoices
    last_seeded = sf.query(
        "SELECT SystemModstamp FROM Invoice__c ORDER BY SystemModstamp DESC LIMIT 1"
    )["records"][0]["SystemModstamp"]
    changed = emu.update("Invoice__c", count=3, fields={"Amount__c": 12.5})
    since = last_seeded.replace("+0000", "Z")
    fresh = sf.query_all(f"SELECT Id, Amount__c FROM Invoice__c WHERE SystemModstamp > {since}")
    assert sorted(r["Id"] for r in fresh["records"]) == sorted(changed)
    assert {r["Amount__c"] for r in fresh["records"]} == {12.5}
    deleted = emu.delete("Invoice__c", count=2, last=True)
    assert sf.query("SELECT COUNT() FROM Invoice__c")["totalSize"] == 698
    every = sf.query_all("SELECT Id FROM Invoice__c WHERE IsDeleted = true", include_deleted=True)
    assert sorted(r["Id"] for r in every["records"]) == sorted(deleted)
    created = emu.create("Invoice__c", {"Amount__c": 1.0})
    [record] = sf.query(f"SELECT Name FROM Invoice__c WHERE Id = '{created}'")["records"]
    assert record["Name"] == "INV-0701" and record["attributes"]["type"] == "Invoice__c"


def test_add_object_over_http_and_bad_declarations(emu: SalesforceEmulator, make_session) -> None:
    session = make_session(emu)
    answer = session.post(
        f"{emu.url}/__emulator__/add_object",
        json={
            "name": "Shipment__c",
            "records": 40,
            "fields": [{"name": "Weight__c", "type": "number"}],
        },
    )
    assert answer.status_code == 200
    assert answer.json() == {"name": "Shipment__c", "keyPrefix": "a00", "records": 40}
    assert emu.add_object("Parcel__c", 5)["keyPrefix"] == "a01"
    assert emu.record_count("Shipment__c") == 40 and emu.record_counts["Parcel__c"] == 5
    assert "Weight__c" in emu.store.objects["Shipment__c"].fields
    again = session.post(f"{emu.url}/__emulator__/add_object", json={"name": "Shipment__c"})
    assert again.status_code == 400 and "already exists" in again.json()["error"]
    for bad in ("Invoice", "Bad__Name__c", "9Lives__c"):
        with pytest.raises(EmulatorUsageError, match="look like Invoice__c"):
            emu.add_object(bad)
    with pytest.raises(EmulatorUsageError, match="custom field names"):
        emu.add_object("Thing__c", fields=[{"name": "NoSuffix", "type": "int"}])


def test_the_cli_option_declares_objects() -> None:
    assert parse_object_option("Invoice__c=500:Amount__c=currency,Note__c") == (
        "Invoice__c",
        {
            "records": 500,
            "fields": [
                {"name": "Amount__c", "type": "currency"},
                {"name": "Note__c", "type": "string"},
            ],
        },
    )
    with pytest.raises(EmulatorUsageError):
        parse_object_option("Invoice__c=many")
