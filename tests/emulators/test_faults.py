"""Every fault kind, and how it shows in responses."""

from __future__ import annotations

import csv
import io
from urllib.parse import urlsplit

import pytest
import requests
from simple_salesforce import (
    Salesforce,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
)
from simple_salesforce.exceptions import SalesforceOperationError

from dagplane.emulators.salesforce import FAULT_KINDS, SalesforceEmulator

WIDE = "SELECT Id FROM Account WHERE SystemModstamp >= 2024-01-01T00:00:00Z"
NARROW = WIDE + " AND SystemModstamp < 2024-01-20T00:00:00Z"


def results_page(sf: Salesforce, soql: str, max_records: int = 100):
    """Create a Bulk job, wait for it, and GET its first results page (raw response)."""
    client = sf.bulk2.Account._client
    job = client.create_job("query", soql)
    client.wait_for_job(job["id"], True, 0)
    url = f"{sf.base_url}jobs/query/{job['id']}/results"
    return sf.session.get(url, params={"maxRecords": max_records}, headers=sf.headers)


def test_every_kind_is_covered_here() -> None:
    assert set(FAULT_KINDS) == {
        "expire_session",
        "rate_limit",
        "http_429",
        "server_error",
        "query_timeout",
        "slow_page",
        "truncated_page",
        "malformed_page",
        "bulk_job_failed",
        "bulk_job_free_text",
        "nul_bytes",
        "empty_body_error",
        "drop_connection",
    }


def test_drop_connection_closes_only_matching_requests_without_an_answer(
    emu: SalesforceEmulator, sf: Salesforce
) -> None:
    limits = urlsplit(sf.base_url).path + "limits"  # /services/data/vXX.X/limits
    emu.inject_fault("drop_connection", path=limits)
    assert sf.session.get(f"{sf.base_url}sobjects", headers=sf.headers).status_code == 200

    with pytest.raises(requests.ConnectionError):
        sf.session.get(f"{sf.base_url}limits", headers=sf.headers)

    assert emu.stats["fault.drop_connection"] == 1
    assert sf.session.get(f"{sf.base_url}limits", headers=sf.headers).status_code == 200


def test_expire_session_forces_a_new_login(emu: SalesforceEmulator, make_session) -> None:
    creds = emu.credentials
    sf = Salesforce(
        username=creds["username"],
        password=creds["password"],
        security_token=creds["security_token"],
        session=make_session(emu),
    )
    emu.inject_fault("expire_session", count=2)
    assert sf.query("SELECT Id FROM User LIMIT 1")["totalSize"] == 1  # re-logged in twice
    assert emu.stats["logins"] == 3 and emu.stats["fault.expire_session"] == 2
    direct = Salesforce(session_id=sf.session_id, instance_url=emu.url, session=make_session(emu))
    emu.inject_fault("expire_session")
    with pytest.raises(SalesforceExpiredSession) as caught:
        direct.query("SELECT Id FROM User LIMIT 1")
    assert caught.value.content[0]["errorCode"] == "INVALID_SESSION_ID"
    with pytest.raises(SalesforceExpiredSession):
        direct.query("SELECT Id FROM User LIMIT 1")  # the session stays revoked


def test_rate_limit_and_exhausted_api_allowance(emu: SalesforceEmulator, sf: Salesforce) -> None:
    emu.inject_fault("rate_limit", count=1)
    with pytest.raises(SalesforceRefusedRequest) as caught:
        sf.query("SELECT Id FROM User")
    assert caught.value.status == 403
    assert caught.value.content[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    assert sf.query("SELECT Id FROM User LIMIT 1")["totalSize"] == 1
    emu.set_api_usage(100, 100)
    answer = sf.session.get(f"{sf.base_url}limits", headers=sf.headers)
    assert answer.status_code == 403
    assert answer.headers["Sforce-Limit-Info"] == "api-usage=101/100"


def test_http_429_has_retry_after(emu: SalesforceEmulator, sf: Salesforce) -> None:
    emu.inject_fault("http_429", count=2, retry_after=7)
    for _ in range(2):
        answer = sf.session.get(f"{sf.base_url}limits", headers=sf.headers)
        assert answer.status_code == 429 and answer.headers["Retry-After"] == "7"
    with_client = sf.limits()
    assert with_client["DailyApiRequests"]["Max"] == 1_000_000
    emu.inject_fault("http_429")
    with pytest.raises(SalesforceGeneralError) as caught:
        sf.limits()
    assert caught.value.status == 429


@pytest.mark.parametrize(
    ("status", "code"), [(503, "SERVER_UNAVAILABLE"), (500, "UNKNOWN_EXCEPTION")]
)
def test_server_errors(emu: SalesforceEmulator, sf: Salesforce, status: int, code: str) -> None:
    emu.inject_fault("server_error", status=status)
    with pytest.raises(SalesforceGeneralError) as caught:
        sf.query("SELECT Id FROM User")
    assert caught.value.status == status and caught.value.content[0]["errorCode"] == code
    assert sf.query("SELECT Id FROM User LIMIT 1")["totalSize"] == 1


def test_query_timeout_only_for_wide_windows(emu: SalesforceEmulator, sf: Salesforce) -> None:
    emu.inject_fault("query_timeout", count=5, max_window_seconds=30 * 86_400)
    assert sf.query(NARROW)["totalSize"] > 0  # a narrow window passes
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query(WIDE)
    assert caught.value.content[0]["errorCode"] == "QUERY_TIMEOUT"
    with pytest.raises(SalesforceOperationError, match="QUERY_TIMEOUT"):
        list(sf.bulk2.Account.query(WIDE, wait=0))
    assert list(sf.bulk2.Account.query(NARROW, wait=0))
    assert emu.stats["fault.query_timeout"] == 2


def test_slow_page(emu: SalesforceEmulator, sf: Salesforce) -> None:
    # The behaviour, not a stopwatch: a read timeout well under the delay fires on the slowed
    # page only, the fault is counted once, and the next page answers normally.
    emu.inject_fault("slow_page", delay=1.0)
    url, params = f"{sf.base_url}query", {"q": "SELECT Id FROM User LIMIT 1"}
    with pytest.raises(requests.exceptions.ReadTimeout):
        sf.session.get(url, params=params, headers=sf.headers, timeout=(5, 0.1))
    assert emu.stats["fault.slow_page"] == 1
    answer = sf.session.get(url, params=params, headers=sf.headers, timeout=(5, 0.5))
    assert answer.status_code == 200 and answer.json()["totalSize"] == 1
    assert emu.stats["fault.slow_page"] == 1


def test_truncated_bulk_page(emu: SalesforceEmulator, sf: Salesforce) -> None:
    emu.inject_fault("truncated_page", fraction=0.4)
    answer = results_page(sf, "SELECT Id, Name FROM Account")
    assert answer.headers["Sforce-NumberOfRecords"] == "100"
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert 30 <= len(rows) < 100
    assert (
        len(list(csv.DictReader(io.StringIO(results_page(sf, "SELECT Id FROM Account").text))))
        == 100
    )


def test_malformed_pages(emu: SalesforceEmulator, sf: Salesforce) -> None:
    emu.inject_fault("malformed_page")
    answer = results_page(sf, "SELECT Id, Name FROM Account")
    assert answer.headers["Sforce-NumberOfRecords"] == "100"
    broken = answer.content.splitlines()
    clean = results_page(sf, "SELECT Id, Name FROM Account").content.splitlines()
    assert len(clean) == 101 and broken[0] == clean[0] == b'"Id","Name"'
    # The first row lost its Id cell and starts with a stray quote; every other row is intact.
    assert broken[1] == b'"' + clean[1].split(b",", 1)[1]
    assert broken[2:] == clean[2:]
    with pytest.raises(csv.Error):
        list(csv.reader(io.StringIO(answer.text), strict=True))
    clean_rows = list(csv.reader(io.StringIO(b"\n".join(clean).decode()), strict=True))
    assert len(clean_rows) == 101 and all(len(row) == 2 for row in clean_rows)
    emu.inject_fault("malformed_page")
    with pytest.raises(requests.exceptions.JSONDecodeError):
        sf.query("SELECT Id FROM Account")


def test_failed_bulk_job(emu: SalesforceEmulator, sf: Salesforce) -> None:
    emu.inject_fault("bulk_job_failed", message="InvalidBatch : disk full")
    with pytest.raises(SalesforceOperationError, match="disk full"):
        list(sf.bulk2.Account.query("SELECT Id FROM Account", wait=0))
    client = sf.bulk2.Account._client
    jobs = client.session.get(f"{sf.base_url}jobs/query", headers=sf.headers).json()["records"]
    info = client.get_job(jobs[0]["id"], True)
    assert (info["state"], info["errorMessage"]) == ("Failed", "InvalidBatch : disk full")
    assert len(list(sf.bulk2.Account.query("SELECT Id FROM Account LIMIT 5", wait=0))) == 1


def test_nul_bytes_in_a_bulk_page(emu: SalesforceEmulator, sf: Salesforce) -> None:
    emu.inject_fault("nul_bytes")
    answer = results_page(sf, "SELECT Id, Name, Description FROM Account", max_records=3)
    name = emu.store.objects["Account"].fields["Name"].gen.value(0)
    lines = answer.content.split(b"\n")
    assert lines[0] == b'"Id","Name","Description"'
    assert lines[1].startswith(f'"001Dn0000000000IAA","{name[0]}\x00{name[1:]}",'.encode())
    assert b"\x00" not in b"\n".join(lines[2:])
    assert answer.headers["Sforce-NumberOfRecords"] == "3"
    clean = results_page(sf, "SELECT Id, Name FROM Account", max_records=3)
    assert b"\x00" not in clean.content
    assert emu.stats["fault.nul_bytes"] == 1


def test_nul_bytes_in_a_rest_page(emu: SalesforceEmulator, sf: Salesforce) -> None:
    emu.inject_fault("nul_bytes")
    url = f"{sf.base_url}query"
    answer = sf.session.get(
        url, params={"q": "SELECT Id, Name FROM Account LIMIT 2"}, headers=sf.headers
    )
    name = emu.store.objects["Account"].fields["Name"].gen.value(0)
    assert f'"Name": "{name[0]}\\u0000{name[1:]}"' in answer.text
    records = answer.json()["records"]
    assert records[0]["Name"] == f"{name[0]}\x00{name[1:]}" and "\x00" not in records[1]["Name"]
    assert "\x00" not in sf.query("SELECT Id, Name FROM Account LIMIT 2")["records"][0]["Name"]


@pytest.mark.parametrize("status", [420, 406])
def test_empty_body_error(emu: SalesforceEmulator, sf: Salesforce, status: int) -> None:
    emu.inject_fault("empty_body_error", status=status)
    answer = sf.session.get(f"{sf.base_url}limits", headers=sf.headers)
    assert answer.status_code == status
    assert answer.content == b"" and answer.headers["Content-Length"] == "0"
    assert "Content-Encoding" not in answer.headers and "Content-Type" not in answer.headers
    assert sf.limits()["DailyApiRequests"]["Max"] == 1_000_000


def test_empty_body_error_default_status_and_http_control(
    emu: SalesforceEmulator, sf: Salesforce, make_session
) -> None:
    armed = make_session(emu).post(
        f"{emu.url}/__emulator__/inject_fault", json={"kind": "empty_body_error"}
    )
    assert armed.json()["faults"] == {"empty_body_error": 1}
    with pytest.raises(SalesforceGeneralError) as caught:
        sf.query("SELECT Id FROM User")
    assert caught.value.status == 420 and caught.value.content == ""
    refused = make_session(emu).post(
        f"{emu.url}/__emulator__/inject_fault", json={"kind": "empty_body_error", "status": 500}
    )
    assert refused.status_code == 400 and "420" in refused.json()["error"]


def test_bulk_job_free_text(emu: SalesforceEmulator, sf: Salesforce, make_session) -> None:
    emu.inject_fault("bulk_job_free_text")
    with pytest.raises(SalesforceOperationError, match="Retried more than thirty times"):
        list(sf.bulk2.Account.query("SELECT Id FROM Account", wait=0))
    client = sf.bulk2.Account._client
    jobs = client.session.get(f"{sf.base_url}jobs/query", headers=sf.headers).json()["records"]
    info = client.get_job(jobs[0]["id"], True)
    assert (info["state"], info["errorMessage"]) == ("Failed", "Retried more than thirty times")
    make_session(emu).post(
        f"{emu.url}/__emulator__/inject_fault",
        json={"kind": "bulk_job_free_text", "message": "Query job timed out after 10 minutes"},
    )
    with pytest.raises(SalesforceOperationError, match="timed out after 10 minutes"):
        list(sf.bulk2.Account.query("SELECT Id FROM Account", wait=0))
    assert len(list(sf.bulk2.Account.query("SELECT Id FROM Account LIMIT 5", wait=0))) == 1
