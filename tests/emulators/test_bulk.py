"""Bulk API 2.0 query jobs through simple-salesforce's bulk2 module."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from dagplane.emulators.salesforce import SalesforceEmulator

FIELDS = "Id, Name, Description, AnnualRevenue, IsDeleted, CreatedDate, SystemModstamp"


def parse_pages(pages: list[str]) -> list[dict[str, str]]:
    return [row for page in pages for row in csv.DictReader(io.StringIO(page))]


@pytest.fixture
def shared_sf(shared_emu: SalesforceEmulator, make_client) -> Salesforce:
    return make_client(shared_emu)


def test_query_pages_add_up_and_are_deterministic(
    shared_emu: SalesforceEmulator, shared_sf: Salesforce
) -> None:
    soql = f"SELECT {FIELDS} FROM Account"
    jobs_before = shared_emu.stats["bulk_jobs"]
    first = list(shared_sf.bulk2.Account.query(soql, max_records=1_500, wait=0))
    second = list(shared_sf.bulk2.Account.query(soql, max_records=1_500, wait=0))
    assert len(first) == 3  # 4,000 accounts in pages of 1,500
    rows = parse_pages(first)
    assert len(rows) == 4_000 == shared_emu.record_count("Account")
    assert first == second
    assert shared_emu.stats["bulk_jobs"] - jobs_before == 2
    assert list(rows[0]) == [f.strip() for f in FIELDS.split(",")]
    assert rows[0]["IsDeleted"] == "false" and rows[0]["SystemModstamp"].endswith(".000Z")
    assert any("\n" in r["Description"] for r in rows)  # quoting survives a CSV round trip


def test_same_seed_gives_the_same_rows_in_another_emulator(
    shared_sf: Salesforce, make_client
) -> None:
    soql = "SELECT Id, Name, Amount, CloseDate, StageName, AccountId FROM Opportunity"
    ours = list(shared_sf.bulk2.Opportunity.query(soql, wait=0))
    with SalesforceEmulator(records=20_000, seed=7) as twin:
        theirs = list(make_client(twin).bulk2.Opportunity.query(soql, wait=0))
    with SalesforceEmulator(records=20_000, seed=8) as other:
        different = list(make_client(other).bulk2.Opportunity.query(soql, wait=0))
    assert ours == theirs
    assert ours != different


def test_bulk_rows_equal_rest_rows_for_a_window(shared_sf: Salesforce) -> None:
    soql = (
        "SELECT Id, Email, CreatedDate, SystemModstamp FROM Contact"
        " WHERE SystemModstamp >= 2025-03-01T00:00:00Z AND SystemModstamp < 2025-05-01T00:00:00Z"
    )
    bulk = parse_pages(list(shared_sf.bulk2.Contact.query(soql, max_records=200, wait=0)))
    rest = shared_sf.query_all(soql)["records"]
    assert 0 < len(bulk) == len(rest) < 6_000
    assert [r["Id"] for r in bulk] == [r["Id"] for r in rest]
    assert [r["CreatedDate"] for r in bulk] == [
        r["CreatedDate"].replace("+0000", "Z") for r in rest
    ]


def test_query_all_job_shows_deleted_rows(emu: SalesforceEmulator, sf: Salesforce) -> None:
    deleted = set(emu.delete("Lead", count=4))
    live = parse_pages(list(sf.bulk2.Lead.query("SELECT Id FROM Lead", wait=0)))
    every = parse_pages(list(sf.bulk2.Lead.query_all("SELECT Id, IsDeleted FROM Lead", wait=0)))
    assert len(every) == len(live) + 4
    assert {r["Id"] for r in every if r["IsDeleted"] == "true"} == deleted


def test_download_writes_csv_files(shared_sf: Salesforce, tmp_path: Path) -> None:
    results = shared_sf.bulk2.Case.download(
        "SELECT Id, Subject FROM Case", str(tmp_path), max_records=1_000, wait=0
    )
    assert [r["number_of_records"] for r in results] == [1_000, 1_000, 400]
    assert results[-1]["locator"] == ""
    text = "".join(Path(r["file"]).read_text() for r in results)
    assert text.count('"Id","Subject"\n') == 3


def test_job_lifecycle_over_raw_http(emu: SalesforceEmulator, sf: Salesforce) -> None:
    emu.bulk_in_progress_polls = 1
    base = f"{sf.base_url}jobs/query"
    created = sf.session.post(
        base, json={"operation": "query", "query": "SELECT Id FROM User"}, headers=sf.headers
    ).json()
    assert created["state"] == "UploadComplete" and created["id"].startswith("750")
    job_url = f"{base}/{created['id']}"
    assert sf.session.get(job_url, headers=sf.headers).json()["state"] == "InProgress"
    done = sf.session.get(job_url, headers=sf.headers).json()
    assert (done["state"], done["numberRecordsProcessed"]) == ("JobComplete", 150)
    page = sf.session.get(f"{job_url}/results", params={"maxRecords": 100}, headers=sf.headers)
    assert page.headers["Sforce-NumberOfRecords"] == "100"
    locator = page.headers["Sforce-Locator"]
    last = sf.session.get(
        f"{job_url}/results", params={"maxRecords": 100, "locator": locator}, headers=sf.headers
    )
    assert last.headers["Sforce-Locator"] == "null"
    assert last.headers["Sforce-NumberOfRecords"] == "50"
    listed = sf.session.get(base, headers=sf.headers).json()["records"]
    assert [job["id"] for job in listed] == [created["id"]]
    assert sf.session.delete(job_url, headers=sf.headers).status_code == 204
    assert sf.session.get(job_url, headers=sf.headers).status_code == 404


def test_abort_a_job(emu: SalesforceEmulator, sf: Salesforce) -> None:
    emu.bulk_in_progress_polls = 5
    client = sf.bulk2.Account._client
    job = client.create_job("query", "SELECT Id FROM Account")
    aborted = client.abort_job(job["id"], True)
    assert aborted["state"] == "Aborted"
    assert client.get_job(job["id"], True)["state"] == "Aborted"
    with pytest.raises(SalesforceMalformedRequest) as caught:
        client.get_query_results(job["id"])
    assert caught.value.content[0]["errorCode"] == "API_ERROR"


def test_bad_queries_fail_at_job_creation(shared_sf: Salesforce) -> None:
    cases = {
        "SELECT Id, Nope FROM Account": "INVALID_FIELD",
        "SELECT Id FROM Nope": "INVALID_TYPE",
        "SELECT Id FROM Account WHERE": "MALFORMED_QUERY",
        "SELECT BillingAddress FROM Account": "INVALID_FIELD",
        # "Understanding Bulk API 2.0 Query": aggregate functions such as COUNT() unsupported.
        "SELECT COUNT() FROM Account": "INVALIDJOB",
    }
    for soql, code in cases.items():
        with pytest.raises(SalesforceMalformedRequest) as caught:
            list(shared_sf.bulk2.Account.query(soql, wait=0))
        assert caught.value.content[0]["errorCode"] == code, soql


def test_other_delimiters_and_line_endings(shared_sf: Salesforce) -> None:
    [page] = shared_sf.bulk2.User.query(
        "SELECT Id, Name FROM User LIMIT 3", column_delimiter="PIPE", line_ending="CRLF", wait=0
    )
    assert page.splitlines()[0] == '"Id"|"Name"' and page.count("\r\n") == 4
