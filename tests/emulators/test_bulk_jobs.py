"""Bulk API 2.0 query job info and lifecycle errors, as the Bulk 2.0 guide documents them."""

from __future__ import annotations

import re

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from dagplane.emulators.salesforce import SalesforceEmulator

CREATE_KEYS = {
    "id",
    "operation",
    "object",
    "createdById",
    "createdDate",
    "systemModstamp",
    "state",
    "concurrencyMode",
    "contentType",
    "apiVersion",
    "lineEnding",
    "columnDelimiter",
}
INFO_KEYS = CREATE_KEYS | {
    "jobType",
    "numberRecordsProcessed",
    "retries",
    "totalProcessingTime",
    "isPkChunkingSupported",
}


def _post_job(sf: Salesforce, soql: str, **extra: str):
    body = {"operation": "query", "query": soql, **extra}
    return sf.session.post(f"{sf.base_url}jobs/query", json=body, headers=sf.headers)


def test_create_and_info_responses_have_the_documented_keys(
    emu: SalesforceEmulator, sf: Salesforce
) -> None:
    emu.bulk_in_progress_polls = 1
    created = _post_job(sf, "SELECT Id FROM User", lineEnding="CRLF", columnDelimiter="TAB").json()
    assert set(created) == CREATE_KEYS
    assert created["apiVersion"] == 59.0 and isinstance(created["apiVersion"], float)
    assert (created["operation"], created["object"], created["state"]) == (
        "query",
        "User",
        "UploadComplete",
    )
    assert (created["concurrencyMode"], created["contentType"]) == ("Parallel", "CSV")
    assert (created["lineEnding"], created["columnDelimiter"]) == ("CRLF", "TAB")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000", created["createdDate"])
    url = f"{sf.base_url}jobs/query/{created['id']}"
    running = sf.session.get(url, headers=sf.headers).json()
    assert set(running) == INFO_KEYS and running["state"] == "InProgress"
    assert running["numberRecordsProcessed"] == 0
    done = sf.session.get(url, headers=sf.headers).json()
    assert set(done) == INFO_KEYS
    assert (done["state"], done["jobType"], done["numberRecordsProcessed"]) == (
        "JobComplete",
        "V2Query",
        150,
    )
    assert (done["retries"], done["isPkChunkingSupported"]) == (0, True)
    assert isinstance(done["totalProcessingTime"], int) and done["totalProcessingTime"] >= 0
    listed = sf.session.get(f"{sf.base_url}jobs/query", headers=sf.headers).json()["records"]
    assert set(listed[0]) == CREATE_KEYS | {"jobType"}


def test_failed_job_info_carries_the_error_message(emu: SalesforceEmulator, sf: Salesforce) -> None:
    emu.inject_fault("bulk_job_failed", message="InvalidBatch : disk full")
    created = _post_job(sf, "SELECT Id FROM Account").json()
    info = sf.session.get(f"{sf.base_url}jobs/query/{created['id']}", headers=sf.headers).json()
    assert set(info) == INFO_KEYS | {"errorMessage"}
    assert (info["state"], info["errorMessage"]) == ("Failed", "InvalidBatch : disk full")


def test_results_before_the_job_is_complete_are_refused(
    emu: SalesforceEmulator, sf: Salesforce
) -> None:
    emu.bulk_in_progress_polls = 3
    created = _post_job(sf, "SELECT Id FROM Account").json()
    url = f"{sf.base_url}jobs/query/{created['id']}"
    early = sf.session.get(f"{url}/results", headers=sf.headers)
    assert early.status_code == 400
    assert early.json() == [
        {
            "message": f"Job {created['id']} is in state UploadComplete: results need state "
            "JobComplete",
            "errorCode": "API_ERROR",
        }
    ]
    assert sf.session.get(url, headers=sf.headers).json()["state"] == "InProgress"
    running = sf.session.get(f"{url}/results", headers=sf.headers)
    assert running.status_code == 400 and "state InProgress" in running.json()[0]["message"]


def test_a_job_in_progress_cannot_be_deleted(emu: SalesforceEmulator, sf: Salesforce) -> None:
    emu.bulk_in_progress_polls = 1
    created = _post_job(sf, "SELECT Id FROM Account").json()
    url = f"{sf.base_url}jobs/query/{created['id']}"
    for _ in range(2):  # UploadComplete, then InProgress
        refused = sf.session.delete(url, headers=sf.headers)
        assert refused.status_code == 400
        assert refused.json() == [
            {
                "message": "Error encountered when deleting the job because the job is not "
                "terminated",
                "errorCode": "API_ERROR",
            }
        ]
        sf.session.get(url, headers=sf.headers)
    assert sf.session.get(url, headers=sf.headers).json()["state"] == "JobComplete"
    assert sf.session.delete(url, headers=sf.headers).status_code == 204
    assert sf.session.get(url, headers=sf.headers).status_code == 404


def test_an_aborted_job_can_be_deleted(emu: SalesforceEmulator, sf: Salesforce) -> None:
    emu.bulk_in_progress_polls = 5
    created = _post_job(sf, "SELECT Id FROM Account").json()
    url = f"{sf.base_url}jobs/query/{created['id']}"
    aborted = sf.session.patch(url, json={"state": "Aborted"}, headers=sf.headers).json()
    assert aborted["state"] == "Aborted"
    assert sf.session.delete(url, headers=sf.headers).status_code == 204


@pytest.mark.parametrize(
    ("soql", "code", "message"),
    [
        (
            "SELECT Id, Logo__c FROM Account",
            "FEATURENOTENABLED",
            "FeatureNotEnabled : Binary field not supported",
        ),
        (
            "SELECT Id, BillingAddress FROM Account",
            "INVALID_FIELD",
            "Selecting compound data not supported in Bulk Query",
        ),
        (
            "SELECT Headquarters__c FROM Account",
            "INVALID_FIELD",
            "Selecting compound data not supported in Bulk Query",
        ),
    ],
)
def test_bulk_rejects_binary_and_compound_fields(
    shared_emu: SalesforceEmulator, make_client, soql: str, code: str, message: str
) -> None:
    sf = make_client(shared_emu)
    answer = _post_job(sf, soql)
    assert answer.status_code == 400
    assert answer.json() == [{"message": message, "errorCode": code}]
    with pytest.raises(SalesforceMalformedRequest):
        list(sf.bulk2.Account.query(soql, wait=0))
    assert sf.query("SELECT Id, Logo__c FROM Account LIMIT 1")["totalSize"] == 1  # REST reads it


def _first_page(sf: Salesforce, soql: str) -> bytes:
    client = sf.bulk2.Account._client
    created = client.create_job("queryAll", soql)
    client.wait_for_job(created["id"], True, 0)
    url = f"{sf.base_url}jobs/query/{created['id']}/results"
    response = sf.session.get(url, params={"maxRecords": 50}, headers=sf.headers)
    assert response.status_code == 200
    return response.content


def test_the_opt_in_page_cache_serves_repeats_but_never_stale_data(make_client) -> None:
    soql = "SELECT Id, Name, SystemModstamp FROM Account"
    with SalesforceEmulator(records=500, page_cache_mb=8) as emu:
        sf = make_client(emu)
        first = _first_page(sf, soql)
        assert emu.jobs.cache is not None and emu.jobs.cache.hits == 0

        assert _first_page(sf, soql) == first
        assert emu.jobs.cache.hits == 1

        [renamed] = emu.update("Account", count=1, fields={"Name": "Renamed Ltd"})
        changed = _first_page(sf, soql)
        assert emu.jobs.cache.hits == 1  # a new revision of the data: rendered again
        assert f'"{renamed}","Renamed Ltd"'.encode() in changed and changed != first


def test_without_the_option_there_is_no_page_cache() -> None:
    with SalesforceEmulator(records=10) as emu:
        assert emu.jobs.cache is None


def test_a_page_made_ahead_for_a_gzip_request_is_sent_plain_to_a_client_that_wants_it_plain(
    make_client,
) -> None:
    with SalesforceEmulator(records=500) as emu:
        sf = make_client(emu)
        client = sf.bulk2.Account._client
        created = client.create_job("query", "SELECT Id FROM Account")
        client.wait_for_job(created["id"], True, 0)
        url = f"{sf.base_url}jobs/query/{created['id']}/results"
        first = sf.session.get(
            url, params={"maxRecords": 20}, headers={**sf.headers, "Accept-Encoding": "gzip"}
        )
        assert first.headers["Content-Encoding"] == "gzip"
        second = sf.session.get(
            url,
            params={"maxRecords": 20, "locator": first.headers["Sforce-Locator"]},
            headers={**sf.headers, "Accept-Encoding": "identity"},
        )
        assert "Content-Encoding" not in second.headers
        assert second.content.startswith(b'"Id"\n"001')
