"""Failures real orgs produce, injected over HTTPS by the emulator: the connector's answer to each.

420 and 406 with an empty body (Salesforce's edge under load), Bulk jobs that fail with free
text and no error code, and OAuth client credentials pointed at the generic login host.
"""

from __future__ import annotations

import gzip
import io
from typing import Any

import pytest
import requests
import urllib3
from pydantic import SecretStr
from simple_salesforce import Salesforce

from dagplane.connectors.salesforce import (
    QueryTimeoutError,
    RateLimitedError,
    RetryPolicy,
    SalesforceApiError,
    SalesforceClient,
    SalesforceCredentials,
    SalesforceSource,
    ServerError,
)
from dagplane.connectors.salesforce.errors import error_for, error_from_text
from dagplane.errors import ConfigError, TransientError


def ids_of(pages: Any) -> list[str]:
    """Every row's Id (first column) across pages, read as CSV (values may hold newlines)."""
    return [row[0] for page in pages for row in page.rows()]


@pytest.mark.parametrize("status", [420, 406])
def test_empty_body_throttling_answers_are_retried(
    emu: Any, source: SalesforceSource, status: int
) -> None:
    fields = source.fields("Account")
    emu.inject_fault("empty_body_error", count=2, status=status)

    pages = list(source.pages("Account", fields, mode="bulk"))

    assert len(set(ids_of(pages))) == 400
    assert source.client.retries == 2
    assert emu.stats["fault.empty_body_error"] == 2
    answered = [r["status"] for r in emu.requests if r["status"] == status]
    assert answered == [status, status]


@pytest.mark.parametrize("status", [420, 406])
def test_an_empty_body_answer_that_persists_is_a_rate_limited_error(
    emu: Any, credentials_for: Any, status: int
) -> None:
    client = SalesforceClient(credentials_for(emu), retry=RetryPolicy(attempts=1))
    emu.inject_fault("empty_body_error", status=status)

    with pytest.raises(RateLimitedError) as caught:
        client.describe("Account")

    assert isinstance(caught.value, TransientError)
    assert caught.value.code == str(status)
    assert f"HTTP {status} error: (empty response body)" in str(caught.value)
    client.close()


def test_a_free_text_query_timeout_still_splits_the_window(
    emu: Any, source: SalesforceSource
) -> None:
    fields = source.fields("Contact", ["Name"])
    emu.inject_fault("bulk_job_free_text", message="Your query request was running for too long.")

    found = ids_of(source.pages("Contact", fields, mode="bulk"))

    assert len(found) == len(set(found)) == 600
    assert emu.stats["fault.bulk_job_free_text"] == 1
    assert emu.stats["bulk_jobs"] == 3  # the failed job, then one per half of the window


def test_a_free_text_failure_without_known_wording_is_retried_as_a_failed_job(
    emu: Any, source: SalesforceSource
) -> None:
    fields = source.fields("Account")
    emu.inject_fault("bulk_job_free_text")

    assert len(set(ids_of(source.pages("Account", fields, mode="bulk")))) == 400
    assert emu.stats["bulk_jobs"] == 2 and emu.stats["queries"] == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Failed to process query: QUERY_TIMEOUT: Your query request was running for too long.",
         QueryTimeoutError),
        ("Your query request was running for too long.", QueryTimeoutError),
        ("Query timed out after 10 minutes", QueryTimeoutError),
        ("TotalRequests Limit exceeded.", RateLimitedError),
    ],
)  # fmt: skip
def test_failure_text_is_classified_by_its_code_or_its_words(text: str, expected: type) -> None:
    error = error_from_text("Bulk job 750x ended Failed", text)

    assert type(error) is expected
    assert str(error).endswith(text)


@pytest.mark.parametrize(
    "text",
    [
        "QUERY_TOO_COMPLICATED: Query is either selecting too many fields or the filter "
        "conditions are very complicated.",
        "EXCEEDED_ID_LIMIT: record limit reached. cannot submit more than 200 records",
        "INVALID_FIELD: No such column 'Timeout__c' on entity 'Account'.",
    ],
)
def test_a_code_in_the_text_wins_over_words_that_look_transient(text: str) -> None:
    error = error_from_text("Bulk job 750x ended Failed", text)

    assert not isinstance(error, TransientError | QueryTimeoutError)
    assert error.code == text.split(":", 1)[0]


def test_unknown_failure_text_is_left_for_the_caller() -> None:
    text = "Unexpected exception encountered in query processing. Please contact support."

    error = error_from_text("Bulk job 750x ended Failed", text)

    assert not isinstance(error, TransientError | QueryTimeoutError)
    assert error.code is None


@pytest.mark.parametrize("status", [400, 403, 408])
def test_an_error_with_an_empty_body_is_transient(status: int) -> None:
    error = error_for("query", "", "", status)

    assert isinstance(error, TransientError)
    assert str(error) == f"query: HTTP {status} error: (empty response body)"


def test_an_empty_404_stays_terminal() -> None:
    assert not isinstance(error_for("describe Foo", "", "", 404), TransientError)


class _RefuseEverything(requests.adapters.BaseAdapter):
    def __init__(self) -> None:
        super().__init__()
        self.sent: list[str] = []

    def send(self, request: Any, **kwargs: Any) -> Any:
        self.sent.append(request.url)
        raise AssertionError(f"no request may be sent, got {request.url}")

    def close(self) -> None:
        pass


@pytest.mark.parametrize("domain", ["login", "test"])
def test_client_credentials_need_a_my_domain_url_before_any_request(domain: str) -> None:
    credentials = SalesforceCredentials(
        client_id=SecretStr("app"), client_secret=SecretStr("shh"), domain=domain
    )
    session = requests.Session()
    adapter = _RefuseEverything()
    session.mount("https://", adapter)

    with pytest.raises(ConfigError) as caught:
        SalesforceClient(credentials, session=session).describe("Account")

    assert adapter.sent == []
    message = str(caught.value)
    assert message.startswith(
        "Salesforce OAuth client credentials work only against your org's My Domain URL, "
        f"not https://{domain}.salesforce.com (fix: set SALESFORCE_LOGIN_URL to it"
    )
    assert "shh" not in message


def test_client_credentials_from_env_without_a_login_url_fail_naming_the_variable() -> None:
    env = {"SALESFORCE_CLIENT_ID": "app", "SALESFORCE_CLIENT_SECRET": "shh"}

    with pytest.raises(ConfigError, match=r"fix: set SALESFORCE_LOGIN_URL"):
        SalesforceCredentials.from_env(env, secrets_dir="/nonexistent")


def test_client_credentials_with_a_my_domain_url_are_accepted() -> None:
    credentials = SalesforceCredentials(
        client_id=SecretStr("app"),
        client_secret=SecretStr("shh"),
        login_url="https://acme.my.salesforce.com",
    )

    credentials.check()
    assert credentials.auth_mode == "client_credentials"


class _Pages(requests.adapters.BaseAdapter):
    """Answers each request with the next gzip body; no network at all."""

    def __init__(self, bodies: list[bytes]) -> None:
        super().__init__()
        self.bodies = bodies
        self.sent = 0

    def send(self, request: Any, **kwargs: Any) -> Any:
        self.sent += 1
        raw = urllib3.HTTPResponse(
            body=io.BytesIO(self.bodies.pop(0)),
            headers={"Content-Encoding": "gzip", "Sforce-NumberOfRecords": "1"},
            status=200,
            preload_content=False,
            decode_content=False,
        )
        return requests.adapters.HTTPAdapter().build_response(request, raw)

    def close(self) -> None:
        pass


def _client_over(adapter: requests.adapters.BaseAdapter) -> SalesforceClient:
    session = requests.Session()
    session.mount("https://", adapter)
    credentials = SalesforceCredentials(
        username="u", password=SecretStr("p"), security_token=SecretStr("t")
    )
    client = SalesforceClient(
        credentials, session=session, retry=RetryPolicy(attempts=3, base_delay=0.001)
    )
    client._sf = Salesforce(  # logged in already: no login request through the adapter
        session_id="x", instance_url="https://acme.my.salesforce.com", session=session
    )
    return client


def test_a_gzip_body_cut_short_is_downloaded_again() -> None:
    whole = gzip.compress(b'"Id"\n"001"\n')
    adapter = _Pages([whole[: len(whole) // 2], whole])
    client = _client_over(adapter)

    headers, body = client.download("read results", "jobs/query/750/results")

    assert body == b'"Id"\n"001"\n' and headers["Sforce-NumberOfRecords"] == "1"
    assert (adapter.sent, client.retries) == (2, 1)


def test_a_gzip_body_that_stays_cut_fails_as_a_transient_server_error() -> None:
    whole = gzip.compress(b'"Id"\n"001"\n')
    client = _client_over(_Pages([whole[:10]] * 3))

    with pytest.raises(ServerError, match="the gzip body is cut short"):
        client.download("read results", "jobs/query/750/results")
    assert client.retries == 2


def test_a_closed_client_stops_a_call_that_is_still_retrying() -> None:
    client = _client_over(_Pages([]))
    client.close()

    with pytest.raises(SalesforceApiError, match="the Salesforce client was closed"):
        client.download("read results", "jobs/query/750/results")
