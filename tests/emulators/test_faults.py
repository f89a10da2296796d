"""Every fault kind, and how it shows in responses."""

from __future__ import annotations

import csv
import io
import time

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
    }


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
    emu.inject_fault("slow_page", delay=0.3)
    started = time.perf_counter()
    sf.query("SELECT Id FROM User LIMIT 1")
    assert time.perf_counter() - started >= 0.3
    started = time.perf_counter()
    sf.query("SELECT Id FROM User LIMIT 1")
    assert time.perf_counter() - started < 0.3


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
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert len(rows) != 101 or any(len(row) != 2 for row in rows)
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
