"""Connector pieces that need no server: SOQL, windows, CSV, page checks, errors, credentials."""

from __future__ import annotations

import importlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests
import simple_salesforce.exceptions as sf_exc

import dagplane.connectors.salesforce as connector
from dagplane.connectors.salesforce import (
    ApiUsageGuard,
    ApiUsageLimitError,
    FieldSelection,
    InvalidFieldError,
    MalformedPageError,
    MalformedQueryError,
    QueryTimeoutError,
    RateLimitedError,
    RetryPolicy,
    SalesforceApiError,
    SalesforceAuthError,
    SalesforceCredentials,
    SalesforceError,
    SalesforceField,
    ServerError,
    SessionExpiredError,
    Window,
    build_soql,
    records_to_csv,
    window_since,
)
from dagplane.connectors.salesforce.bulk import check_page, split_header
from dagplane.connectors.salesforce.errors import translate_errors
from dagplane.connectors.salesforce.schema import loadable_fields
from dagplane.errors import ConfigError, SourceError, TerminalError, TransientError

UTC = timezone.utc


def test_public_api_is_pinned() -> None:
    homes = {
        "ApiUsageGuard": "limits",
        "ApiUsageLimitError": "errors",
        "AuthMode": "credentials",
        "BulkJobFailedError": "errors",
        "FieldSelection": "schema",
        "InvalidFieldError": "errors",
        "MalformedPageError": "errors",
        "MalformedQueryError": "errors",
        "Mode": "extract",
        "QueryTimeoutError": "errors",
        "RateLimitedError": "errors",
        "RetryPolicy": "client",
        "SalesforceApiError": "errors",
        "SalesforceAuthError": "errors",
        "SalesforceClient": "client",
        "SalesforceCredentials": "credentials",
        "SalesforceError": "errors",
        "SalesforceField": "fields",
        "SalesforceSource": "extract",
        "ServerError": "errors",
        "SessionExpiredError": "errors",
        "Window": "incremental",
        "build_session": "client",
        "build_soql": "incremental",
        "records_to_csv": "rest",
        "window_since": "incremental",
    }
    assert sorted(connector.__all__) == sorted(dir(connector)) == sorted(homes)
    for name, home in homes.items():
        module = importlib.import_module(f"dagplane.connectors.salesforce.{home}")
        assert getattr(connector, name) is getattr(module, name), name
    # Every connector error is a SourceError, so callers can catch one class.
    for name in connector.__all__:
        exported = getattr(connector, name)
        if name.endswith("Error"):
            assert isinstance(exported, type) and issubclass(exported, SourceError), name


# --- incremental SOQL -------------------------------------------------------------------


def test_first_run_is_a_full_load() -> None:
    soql = build_soql("Account", ["Id", "Name"], window_since(None))
    assert soql == "SELECT Id, Name FROM Account"


def test_incremental_soql_starts_overlap_before_the_watermark() -> None:
    watermark = datetime(2024, 5, 1, 12, 0, 30, 250_000, tzinfo=UTC)
    window = window_since(watermark, timedelta(minutes=5))
    soql = build_soql("Contact", ["Id"], window, "SystemModstamp")
    assert soql == "SELECT Id FROM Contact WHERE SystemModstamp >= 2024-05-01T11:55:30Z"


def test_custom_cursor_and_bounded_window() -> None:
    window = Window(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC))
    assert build_soql("Lead", ["Id"], window, "LastModifiedDate") == (
        "SELECT Id FROM Lead WHERE LastModifiedDate >= 2024-01-01T00:00:00Z "
        "AND LastModifiedDate < 2024-01-02T00:00:00Z"
    )


def test_window_split_covers_the_range_without_gaps() -> None:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    first, second = Window(start=now - timedelta(hours=2)).split(now)
    assert first.start == now - timedelta(hours=2)
    assert first.end == second.start == now - timedelta(hours=1)
    assert second.end == now  # open ends are closed, so each half is a bounded range
    low, _ = Window().split(now)
    assert low.start == datetime(1999, 1, 1, tzinfo=UTC)
    assert Window(now, now + timedelta(seconds=1)).split(now) is None


# --- fields -----------------------------------------------------------------------------

DESCRIBE = {
    "fields": [
        {"name": "Id", "type": "id", "length": 18},
        {"name": "IsDeleted", "type": "boolean"},
        {"name": "Name", "type": "string", "length": 255},
        {"name": "BillingAddress", "type": "address"},
        {"name": "BillingCity", "type": "string", "compoundFieldName": "BillingAddress"},
        {"name": "Logo", "type": "base64"},
        {"name": "Geo", "type": "location"},
        {"name": "SystemModstamp", "type": "datetime"},
    ]
}


def test_describe_skips_base64_and_compound_fields() -> None:
    names = [f.name for f in loadable_fields(DESCRIBE)]
    assert names == ["Id", "IsDeleted", "Name", "BillingCity", "SystemModstamp"]
    assert isinstance(loadable_fields(DESCRIBE)[0], SalesforceField)


@pytest.mark.parametrize(
    ("selection", "expected"),
    [
        (None, ["Id", "IsDeleted", "Name", "BillingCity", "SystemModstamp"]),
        (["Name"], ["Id", "IsDeleted", "Name", "SystemModstamp"]),
        ({"exclude": ["Name", "Id"]}, ["Id", "IsDeleted", "BillingCity", "SystemModstamp"]),
    ],
)
def test_field_selection_always_keeps_id_isdeleted_and_cursor(selection, expected) -> None:
    fields = FieldSelection.of(selection).apply(loadable_fields(DESCRIBE), "SystemModstamp")
    assert [f.name for f in fields] == expected


def test_field_selection_rejects_unknown_fields() -> None:
    with pytest.raises(ConfigError, match=r"\['Nope'\]"):
        FieldSelection.of(["Nope"]).apply(loadable_fields(DESCRIBE), "SystemModstamp")


# --- CSV --------------------------------------------------------------------------------


def test_rest_records_become_bulk_csv() -> None:
    records = [
        {
            "attributes": {"type": "Account"},
            "Id": "001A",
            "Name": 'Quote "q", comma',
            "IsDeleted": False,
            "Amount": 12.5,
            "Empty": None,
            "BillingAddress": {"city": "X"},
        },
        {"attributes": {}, "Id": "001B", "Name": "two\nlines", "IsDeleted": True, "Amount": 3},
    ]
    columns = ["Id", "Name", "IsDeleted", "Amount", "Empty", "BillingAddress"]
    assert records_to_csv(records, columns) == (
        b'001A,"Quote ""q"", comma",false,12.5,,\n001B,"two\nlines",true,3,,\n'
    )


def test_bulk_header_is_checked_and_cut() -> None:
    content = b'"Id","Name"\n"001","A"\n'
    assert split_header(content, ["Id", "Name"], "page") == b'"001","A"\n'
    with pytest.raises(MalformedPageError, match="header"):
        split_header(content, ["Id", "Other"], "page")


def test_page_checks() -> None:
    check_page(b'"1","a"\n"2","b\nc"\n', 2, "page")  # an embedded newline is not a row
    check_page(b"", 0, "page")
    with pytest.raises(MalformedPageError, match=r"1 rows where .* announced 2"):
        check_page(b'"1","a"\n', 2, "page")
    with pytest.raises(MalformedPageError, match="cut off"):
        check_page(b'"1","a"\n"2","b', 2, "page")
    with pytest.raises(MalformedPageError, match="quotes"):
        check_page(b'"1","a\n"2","b"\n', 2, "page")
    with pytest.raises(MalformedPageError, match=r"3 rows where .* announced 2"):
        check_page(b"1,a\n2,b\n3,c\n", 2, "page")  # unquoted: every line end is a row


def test_page_checks_with_the_header_line_kept() -> None:
    check_page(b'"Id","Name"\n"1","a"\n"2","b"\n', 2, "page", header=True)
    check_page(b'"Id","Name"\n', 0, "page", header=True)
    with pytest.raises(MalformedPageError, match=r"1 rows where .* announced 2"):
        check_page(b'"Id","Name"\n"1","a"\n', 2, "page", header=True)


# --- errors -----------------------------------------------------------------------------


def _raised(exc: Exception) -> SalesforceError:
    with pytest.raises(SalesforceError) as info, translate_errors("query Account"):
        raise exc
    assert info.value.__cause__ is exc
    assert str(info.value).startswith("query Account")
    return info.value


def _sf(cls: type, status: int, code: str) -> Exception:
    return cls("https://x/q", status, "query", [{"errorCode": code, "message": "m"}])


@pytest.mark.parametrize(
    ("exc", "expected", "transient"),
    [
        (_sf(sf_exc.SalesforceExpiredSession, 401, "INVALID_SESSION_ID"), SessionExpiredError, 1),
        (_sf(sf_exc.SalesforceRefusedRequest, 403, "REQUEST_LIMIT_EXCEEDED"), RateLimitedError, 1),
        (_sf(sf_exc.SalesforceGeneralError, 429, "TOO_MANY"), RateLimitedError, 1),
        (_sf(sf_exc.SalesforceGeneralError, 503, "SERVER_UNAVAILABLE"), ServerError, 1),
        (_sf(sf_exc.SalesforceMalformedRequest, 400, "QUERY_TIMEOUT"), QueryTimeoutError, 0),
        (_sf(sf_exc.SalesforceMalformedRequest, 400, "MALFORMED_QUERY"), MalformedQueryError, 0),
        (_sf(sf_exc.SalesforceMalformedRequest, 400, "INVALID_FIELD"), InvalidFieldError, 0),
        (sf_exc.SalesforceAuthenticationFailed("INVALID_LOGIN", "no"), SalesforceAuthError, 0),
        (requests.ConnectionError("refused"), ServerError, 1),
        (requests.ReadTimeout("slow"), ServerError, 1),
        (requests.exceptions.SSLError("bad cert"), SalesforceAuthError, 0),
    ],
)
def test_error_mapping(exc: Exception, expected: type, transient: int) -> None:
    error = _raised(exc)
    assert type(error) is expected
    assert isinstance(error, TransientError) is bool(transient)
    assert isinstance(error, TerminalError) is not bool(transient)


@pytest.mark.parametrize(
    "exc",
    [
        sf_exc.SalesforceResourceNotFound("https://x", 404, "describe", [{"errorCode": "NF"}]),
        sf_exc.SalesforceBulkV2ExtractError("something new"),
        requests.TooManyRedirects("loop"),
    ],
)
def test_unmapped_errors_are_caught_as_terminal(exc: Exception) -> None:
    error = _raised(exc)
    assert type(error) is SalesforceApiError
    assert isinstance(error, TerminalError)


def test_own_errors_and_bugs_pass_through() -> None:
    with pytest.raises(KeyError), translate_errors("x"):
        raise KeyError("a bug stays a bug")


# --- limits and retry -------------------------------------------------------------------


def test_api_usage_guard() -> None:
    guard = ApiUsageGuard(0.8)
    guard.observe("api-usage=79/100; per-app-api-usage=1/10(appName=x)")
    guard.observe(None)
    with pytest.raises(ApiUsageLimitError, match="80/100") as info:
        guard.observe("api-usage=80/100")
    assert isinstance(info.value, TerminalError)


def test_backoff_is_bounded_and_jittered() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=4.0, jitter=0.5)
    delays = [policy.delay(n) for n in range(6)]
    assert 0.5 <= delays[0] <= 1.0
    assert all(d <= 4.0 for d in delays)
    assert 2.0 <= delays[5] <= 4.0


# --- credentials ------------------------------------------------------------------------

SECRET = "pw-Sup3rSecret-value"  # pragma: allowlist secret


def test_credentials_from_env_pick_the_auth_mode(tmp_path: Path) -> None:
    env = {
        "SALESFORCE_USERNAME": "u@example.com",
        "SALESFORCE_PASSWORD": SECRET,
        "SALESFORCE_SECURITY_TOKEN": "tok-123456",
        "SALESFORCE_DOMAIN": "test",
    }
    creds = SalesforceCredentials.from_env(env, tmp_path)
    assert creds.auth_mode == "password"
    assert creds.base_url == "https://test.salesforce.com"
    assert SECRET not in repr(creds) and SECRET not in str(creds)
    env = {"SALESFORCE_CLIENT_ID": "cid-1234", "SALESFORCE_CLIENT_SECRET": SECRET}
    env["SALESFORCE_INSTANCE_URL"] = "https://acme.my.salesforce.com/"
    creds = SalesforceCredentials.from_env(env, tmp_path)
    assert creds.auth_mode == "client_credentials"
    assert creds.base_url == "https://acme.my.salesforce.com"


def test_credentials_from_secret_files_env_wins(tmp_path: Path) -> None:
    (tmp_path / "SALESFORCE_USERNAME").write_text("file-user\n")
    (tmp_path / "SALESFORCE_CLIENT_ID").write_text("cid-file\n")
    # pragma: allowlist nextline secret
    (tmp_path / "SALESFORCE_PRIVATE_KEY").write_text("-----BEGIN PRIVATE KEY-----\nabc\n")
    creds = SalesforceCredentials.from_env({"SALESFORCE_USERNAME": "env-user"}, tmp_path)
    assert creds.auth_mode == "jwt"
    assert creds.username == "env-user"
    assert creds.client_id is not None and creds.client_id.get_secret_value() == "cid-file"


def test_missing_credentials_list_every_key_and_place(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        SalesforceCredentials.from_env({"SALESFORCE_PASSWORD": SECRET}, tmp_path)
    message = str(info.value)
    for key in ("USERNAME", "SECURITY_TOKEN", "CLIENT_ID", "CLIENT_SECRET", "PRIVATE_KEY_FILE"):
        assert f"SALESFORCE_{key}" in message
    assert "environment" in message and str(tmp_path) in message
    assert SECRET not in message
    with pytest.raises(ConfigError, match="missing: SALESFORCE_SECURITY_TOKEN"):
        SalesforceCredentials.from_env(
            {"SALESFORCE_USERNAME": "u", "SALESFORCE_PASSWORD": SECRET}, tmp_path
        )


def test_objects_without_isdeleted_are_selectable_and_cursor_must_be_a_datetime() -> None:
    from dagplane.connectors.salesforce.schema import FieldSelection, loadable_fields
    from dagplane.errors import ConfigError

    described = {
        "fields": [
            {"name": "Id", "type": "id"},
            {"name": "Username", "type": "string"},
            {"name": "Birthdate", "type": "date"},
            {"name": "SystemModstamp", "type": "datetime"},
        ]
    }
    fields = loadable_fields(described)
    selected = FieldSelection.of(None).apply(fields, "SystemModstamp")
    assert [f.name for f in selected] == ["Id", "Username", "Birthdate", "SystemModstamp"]
    with pytest.raises(ConfigError, match="cursor field Birthdate is a date field; incremental"):
        FieldSelection.of(None).apply(fields, "Birthdate")


@pytest.mark.parametrize(
    ("extra", "base_url"),
    [
        ({"SALESFORCE_DOMAIN": "test"}, "https://test.salesforce.com"),
        ({}, "https://login.salesforce.com"),
        ({"SALESFORCE_LOGIN_URL": "https://127.0.0.1:8443/"}, "https://127.0.0.1:8443"),
    ],
)
def test_sandbox_domain_and_login_url_override(extra: dict[str, str], base_url: str) -> None:
    from dagplane.connectors.salesforce import SalesforceCredentials

    env = {"SALESFORCE_USERNAME": "u", "SALESFORCE_PASSWORD": "p", "SALESFORCE_SECURITY_TOKEN": "t"}
    credentials = SalesforceCredentials.from_env({**env, **extra}, secrets_dir="/nonexistent")
    assert credentials.base_url == base_url


def test_a_pinned_ca_keeps_the_environment_proxies(monkeypatch, tmp_path) -> None:
    from dagplane.connectors.salesforce.client import build_session

    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    ca = tmp_path / "ca.pem"
    session = build_session(ca, base_url="https://login.salesforce.com")
    assert session.trust_env is False and session.verify == str(ca)
    assert session.proxies.get("https") == "http://proxy.internal:3128"
    assert build_session(ca, base_url="https://127.0.0.1:8443").proxies == {}
