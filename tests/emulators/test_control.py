"""Control operations, as Python methods and over HTTP (``POST /__emulator__/<op>``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from simple_salesforce import Salesforce

from dagplane.emulators.salesforce import EmulatorUsageError, SalesforceEmulator

NEWEST = "SELECT Id, Name, SystemModstamp FROM Account ORDER BY SystemModstamp DESC LIMIT 5"
# Seeded counts the tests below state themselves: every count they expect is one of these,
# changed by what the test did, never read back from the emulator's own counting.
SEEDED = {"Account": 123, "Contact": 77, "Case": 45, "Lead": 60}


@pytest.fixture
def counted() -> Iterator[SalesforceEmulator]:
    """An emulator seeded with the ``SEEDED`` record counts."""
    with SalesforceEmulator(records=1_000, seed=3, records_per_object=SEEDED) as emu:
        yield emu


def soql_count(sf: Salesforce, obj: str, *, include_deleted: bool = False) -> int:
    """Records of ``obj`` as the REST query API counts them (``totalSize``), over HTTPS."""
    return sf.query_all(f"SELECT Id FROM {obj}", include_deleted=include_deleted)["totalSize"]


def test_update_by_count_touches_the_first_records(emu: SalesforceEmulator, sf: Salesforce) -> None:
    before = sf.query("SELECT Id, SystemModstamp FROM Account ORDER BY Id LIMIT 2")["records"]
    changed = emu.update("Account", count=2, fields={"Name": "Renamed Ltd"})
    assert changed == [r["Id"] for r in before]
    after = sf.query(f"SELECT Id, Name, SystemModstamp FROM Account WHERE Id IN ('{changed[0]}')")
    [record] = after["records"]
    assert record["Name"] == "Renamed Ltd"
    newest_seeded = sf.query(
        "SELECT SystemModstamp FROM Account WHERE Name != 'Renamed Ltd'"
        " ORDER BY SystemModstamp DESC LIMIT 1"
    )["records"][0]["SystemModstamp"]
    assert record["SystemModstamp"] > newest_seeded > before[0]["SystemModstamp"]


def test_changed_records_come_last_in_stamp_order(counted: SalesforceEmulator, make_client) -> None:
    emu, sf = counted, make_client(counted)
    last = emu.update("Account", count=3, last=True)
    first = emu.update("Account", ids=["001Dn0000000005IAA"], fields={"Rating": "Hot"})
    ordered = sf.query_all("SELECT Id FROM Account ORDER BY SystemModstamp")["records"]
    assert [r["Id"] for r in ordered[-4:]] == sorted(last) + first
    assert len(ordered) == SEEDED["Account"]  # updates add no record
    window = sf.query_all("SELECT Id FROM Account WHERE SystemModstamp > 2026-01-01T00:00:00Z")[
        "records"
    ]
    assert sorted(r["Id"] for r in window) == sorted(last + first)
    by_id = [r["Id"] for r in sf.query_all("SELECT Id FROM Account")["records"]]
    assert by_id == sorted(by_id) and set(last + first) <= set(by_id)


def test_delete_undelete_and_counts(counted: SalesforceEmulator, make_client) -> None:
    emu, sf = counted, make_client(counted)
    seeded = SEEDED["Contact"]
    assert emu.record_count("Contact") == seeded == soql_count(sf, "Contact")
    gone = emu.delete("Contact", count=5, last=True)
    assert emu.record_count("Contact") == seeded - 5 == soql_count(sf, "Contact")
    assert emu.record_count("Contact", include_deleted=True) == seeded
    assert soql_count(sf, "Contact", include_deleted=True) == seeded  # queryAll: recycle bin too
    assert emu.undelete("Contact", gone[:2]) == gone[:2]
    assert emu.record_count("Contact") == seeded - 3 == soql_count(sf, "Contact")
    assert emu.undelete("Contact", count=10) == sorted(gone[2:])
    assert emu.record_count("Contact") == seeded == soql_count(sf, "Contact")


def test_create_adds_a_record_with_the_next_id(counted: SalesforceEmulator, make_client) -> None:
    emu, sf = counted, make_client(counted)
    new_id = emu.create("Case", {"Subject": "Printer on fire", "Priority": "High"})
    assert new_id.startswith("500")
    assert emu.record_count("Case") == SEEDED["Case"] + 1 == soql_count(sf, "Case")
    [record] = sf.query(
        f"SELECT Id, Subject, Priority, CreatedDate FROM Case WHERE Id = '{new_id}'"
    )["records"]
    assert (record["Subject"], record["Priority"]) == ("Printer on fire", "High")
    ids = [r["Id"] for r in sf.query_all("SELECT Id FROM Case ORDER BY Id")["records"]]
    assert ids[-1] == new_id


def test_add_field_appears_in_describe_query_and_bulk(
    emu: SalesforceEmulator, sf: Salesforce
) -> None:
    emu.add_field("Account", "Region__c", "picklist", values=["EMEA", "AMER", "APAC"])
    emu.add_field("Account", "Score__c", "number", precision=5, scale=1)
    emu.add_field("Account", "Note__c", "string", fill="null")
    fields = {f["name"]: f for f in sf.Account.describe()["fields"]}
    assert fields["Region__c"]["type"] == "picklist" and fields["Region__c"]["custom"] is True
    assert [v["value"] for v in fields["Region__c"]["picklistValues"]] == ["EMEA", "AMER", "APAC"]
    assert (fields["Score__c"]["type"], fields["Score__c"]["scale"]) == ("double", 1)
    rows = sf.query_all("SELECT Region__c, Score__c, Note__c FROM Account")["records"]
    assert {r["Region__c"] for r in rows} == {"EMEA", "AMER", "APAC", None}
    assert all(r["Note__c"] is None for r in rows)
    assert any(isinstance(r["Score__c"], float) for r in rows)
    [page] = sf.bulk2.Account.query("SELECT Id, Region__c FROM Account LIMIT 5", wait=0)
    assert page.splitlines()[0] == '"Id","Region__c"'
    again = sf.query_all("SELECT Region__c FROM Account")["records"]
    assert [r["Region__c"] for r in again] == [r["Region__c"] for r in rows]
    with pytest.raises(EmulatorUsageError):
        emu.add_field("Account", "Region__c")
    with pytest.raises(EmulatorUsageError):
        emu.add_field("Account", "NoSuffix")


def test_bad_control_calls_raise_usage_errors(emu: SalesforceEmulator) -> None:
    with pytest.raises(EmulatorUsageError, match="unknown object"):
        emu.update("Widget", count=1)
    with pytest.raises(EmulatorUsageError, match="no Account record"):
        emu.update("Account", ids=["001Dn00000zzzzzIAA"])
    with pytest.raises(EmulatorUsageError, match="unknown fault kind"):
        emu.inject_fault("meteor")
    with pytest.raises(EmulatorUsageError, match="no option"):
        emu.inject_fault("http_429", retry_afterwards=3)
    with pytest.raises(EmulatorUsageError, match="User records cannot be deleted"):
        emu.delete("User", count=1)


def test_http_control_routes(counted: SalesforceEmulator, make_session) -> None:
    emu = counted
    session = make_session(emu)

    def call(op: str, **payload):
        answer = session.post(f"{emu.url}/__emulator__/{op}", json=payload)
        return answer.status_code, answer.json()

    assert call("update", object="Lead", count=2, fields={"Company": "Acme"})[1]["ids"][
        0
    ].startswith("00Q")
    deleted = call("delete", object="Lead", count=1)[1]["ids"]
    assert call("undelete", object="Lead", ids=deleted)[1]["ids"] == deleted
    created = call("create", object="Lead", fields={"LastName": "Nguyen"})[1]["id"]
    assert created.startswith("00Q")
    assert call("add_field", object="Lead", name="Tier__c", type="int")[0] == 200
    assert "Tier__c" in emu.store.objects["Lead"].fields
    # Seeded, one deleted and undeleted, one created.
    assert call("record_count", object="Lead")[1] == {"count": SEEDED["Lead"] + 1}
    call("delete", object="Lead", count=2)
    assert call("record_count", object="Lead")[1] == {"count": SEEDED["Lead"] + 1 - 2}
    answer = call("record_count", object="Lead", include_deleted=True)[1]
    assert answer == {"count": SEEDED["Lead"] + 1}
    status, armed = call("inject_fault", kind="rate_limit", count=2)
    assert status == 200 and armed["faults"] == {"rate_limit": 2}
    assert call("clear_faults")[1]["faults"] == {}
    assert call("set_api_usage", used=10, max=20)[1]["api_usage"] == [10, 20]
    stats = session.get(f"{emu.url}/__emulator__/stats").json()
    assert stats["logins"] == 0 and "bulk_jobs" in stats
    info = session.get(f"{emu.url}/__emulator__/info").json()
    assert info == {
        "url": emu.url,
        "ca_bundle": str(emu.ca_bundle),
        "username": emu.credentials["username"],
    }
    assert call("explode")[0] == 400
    assert call("update", object="Nope", count=1)[1]["error"].startswith("unknown object")
    logged = session.get(f"{emu.url}/__emulator__/requests").json()["requests"]
    assert logged[0] == {"method": "POST", "path": "/__emulator__/update", "status": 200}


def test_stats_count_logins_queries_jobs_and_pages(emu: SalesforceEmulator, sf: Salesforce) -> None:
    sf.query_all("SELECT Id FROM Contact")
    list(sf.bulk2.Contact.query("SELECT Id FROM Contact", max_records=500, wait=0))
    stats = emu.stats
    assert stats["logins"] == 1
    assert stats["queries"] == 1 and stats["query_pages"] == 1 and stats["query_rows"] == 1_500
    assert stats["bulk_jobs"] == 1 and stats["bulk_pages"] == 3 and stats["bulk_rows"] == 1_500
    assert stats["api_calls"] == 1 + 1 + 1 + 3  # query, create job, poll, three pages
    paths = [r["path"] for r in emu.requests]
    assert paths[0] == "/services/Soap/u/59.0" and any("/jobs/query/750" in p for p in paths)
