"""The connector against the live HTTPS emulator: auth, streaming, incremental, every fault."""

from __future__ import annotations

import logging
import ssl
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr

from dagplane.connectors.salesforce import (
    ApiUsageLimitError,
    InvalidFieldError,
    MalformedPageError,
    MalformedQueryError,
    RateLimitedError,
    RetryPolicy,
    SalesforceApiError,
    SalesforceAuthError,
    SalesforceClient,
    SalesforceCredentials,
    SalesforceSource,
    ServerError,
    Window,
    build_session,
)
from dagplane.emulators.salesforce import SalesforceEmulator

UTC = timezone.utc


def ids_of(pages: Any) -> list[str]:
    """Every row's Id (first column) across pages."""
    return [row[0] for p in pages for row in p.rows()]


def rsa_key_pair() -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


# --- auth --------------------------------------------------------------------------------


def test_password_login(emu: Any, client: SalesforceClient) -> None:
    assert client.describe("Account")["name"] == "Account"
    assert client.credentials.auth_mode == "password"
    assert client.logins == 1 and emu.stats["logins"] == 1


def test_client_credentials_login(emu: Any) -> None:
    creds = emu.credentials
    client = SalesforceClient(
        SalesforceCredentials(
            client_id=SecretStr(creds["client_id"]),
            client_secret=SecretStr(creds["client_secret"]),
            login_url=emu.url,
            ca_bundle=emu.ca_bundle,
        )
    )
    assert client.credentials.auth_mode == "client_credentials"
    assert client.describe("Contact")["name"] == "Contact"


def test_jwt_login_with_key_value_and_key_file(tmp_path: Path) -> None:
    private, public = rsa_key_pair()
    (tmp_path / "key.pem").write_bytes(private)
    with SalesforceEmulator(records=100, port=0, jwt_public_key=public) as emu:
        base = {
            "username": emu.credentials["username"],
            "client_id": SecretStr(emu.credentials["client_id"]),
            "login_url": emu.url,
            "ca_bundle": emu.ca_bundle,
        }
        for key in (
            {"private_key": SecretStr(private.decode())},
            {"private_key_file": tmp_path / "key.pem"},
        ):
            client = SalesforceClient(SalesforceCredentials(**base, **key))
            assert client.credentials.auth_mode == "jwt"
            assert client.describe("Lead")["name"] == "Lead"
        other, _ = rsa_key_pair()  # a key the emulator does not know is refused
        client = SalesforceClient(
            SalesforceCredentials(**base, private_key=SecretStr(other.decode()))
        )
        with pytest.raises(SalesforceAuthError, match=r"invalid_grant\): invalid assertion"):
            client.login()


def test_credentials_from_env_and_from_secret_files(
    emu: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    creds = emu.credentials
    monkeypatch.setenv("SALESFORCE_USERNAME", creds["username"])
    monkeypatch.setenv("SALESFORCE_PASSWORD", creds["password"])
    monkeypatch.setenv("SALESFORCE_LOGIN_URL", emu.url)
    for key in ("SECURITY_TOKEN", "CA_BUNDLE"):
        monkeypatch.delenv(f"SALESFORCE_{key}", raising=False)
    (tmp_path / "SALESFORCE_SECURITY_TOKEN").write_text(creds["security_token"] + "\n")
    (tmp_path / "SALESFORCE_CA_BUNDLE").write_text(str(emu.ca_bundle))
    monkeypatch.setenv("SALESFORCE_SECRETS_DIR", str(tmp_path))
    with SalesforceSource.from_env() as source:
        # User has no IsDeleted (users are deactivated, not deleted); Account has.
        assert [f.name for f in source.fields("User", ["Username"])] == [
            "Id",
            "Username",
            "SystemModstamp",
        ]
        assert [f.name for f in source.fields("Account", ["Name"])] == [
            "Id",
            "IsDeleted",
            "Name",
            "SystemModstamp",
        ]


def test_configured_ca_wins_over_requests_ca_bundle(
    emu: Any, monkeypatch: pytest.MonkeyPatch, credentials_for: Any
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", ssl.get_default_verify_paths().openssl_cafile)
    monkeypatch.setenv("CURL_CA_BUNDLE", ssl.get_default_verify_paths().openssl_cafile)
    assert SalesforceClient(credentials_for(emu)).describe("Case")["name"] == "Case"
    # Without the emulator's CA the certificate is (rightly) refused, as a clear auth error.
    with pytest.raises(SalesforceAuthError, match="TLS verification failed"):
        SalesforceClient(credentials_for(emu, ca_bundle=None)).login()


def test_bad_password_fails_without_leaking_secrets(
    emu: Any, caplog: pytest.LogCaptureFixture, credentials_for: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "Wr0ng-Passw0rd-value"
    good = SalesforceClient(credentials_for(emu))
    good.describe("Account")
    bad = SalesforceClient(credentials_for(emu, password=SecretStr(wrong)))
    with pytest.raises(SalesforceAuthError, match="INVALID_LOGIN") as info:
        bad.login()
    secrets = [wrong, *good.credentials.secret_values(), good.sf.session_id]
    shown = caplog.text + str(info.value) + repr(bad) + repr(bad.credentials)
    for secret in secrets:
        assert secret not in shown
    assert "logged in to Salesforce" in caplog.text


# --- extraction --------------------------------------------------------------------------


def test_auto_mode_picks_rest_for_small_and_bulk_for_large(
    emu: Any, source: SalesforceSource
) -> None:
    assert source.choose_mode("User") == "rest"  # 60 rows < threshold 200
    assert source.choose_mode("Account") == "bulk"  # 400 rows
    list(source.pages("User", source.fields("User")))
    assert emu.stats["bulk_jobs"] == 0
    list(source.pages("Account", source.fields("Account")))
    assert emu.stats["bulk_jobs"] == 1


def test_mode_override(emu: Any, source: SalesforceSource) -> None:
    fields = source.fields("User", ["Username"])
    bulk = list(source.pages("User", fields, mode="bulk"))
    rest = list(source.pages("User", fields, mode="rest"))
    assert emu.stats["bulk_jobs"] == 1
    assert sorted(ids_of(bulk)) == sorted(ids_of(rest))
    assert len(ids_of(bulk)) == emu.record_count("User", include_deleted=True)


def test_bulk_streams_several_pages_keeping_the_checked_header(
    emu: Any, source: SalesforceSource
) -> None:
    fields = source.fields("Account")
    pages = source.pages("Account", fields, mode="bulk")
    first = next(pages)  # nothing more is fetched until asked for
    assert emu.stats["bulk_pages"] == 1
    rest = list(pages)
    assert [p.page_number for p in [first, *rest]] == [0, 1, 2, 3]
    assert all(p.expected_rows == 100 for p in [first, *rest])
    assert first.columns == tuple(f.name for f in fields)
    header = ",".join(f'"{f.name}"' for f in fields).encode() + b"\n"
    assert first.header and first.body.startswith(header)
    assert len(list(first.rows())) == 100


def test_rest_streams_several_pages(credentials_for: Any) -> None:
    with SalesforceEmulator(records=2_000, port=0, query_batch_size=250) as emu:
        source = SalesforceSource(SalesforceClient(credentials_for(emu)), mode="rest")
        pages = list(source.pages("Contact", source.fields("Contact", ["IsDeleted"])))
        assert [p.expected_rows for p in pages] == [250, 250, 100]
        assert b"false" in pages[0].body and pages[0].columns == (
            "Id",
            "IsDeleted",
            "SystemModstamp",
        )


@pytest.mark.parametrize("mode", ["rest", "bulk"])
def test_incremental_window_sees_changes_and_deletes(
    emu: Any, source: SalesforceSource, mode: str
) -> None:
    since = datetime.now(UTC) - timedelta(minutes=5)
    changed = set(emu.update("Account", count=3))
    deleted = set(emu.delete("Account", count=2))
    fields = source.fields("Account", ["Name"])
    pages = list(source.pages("Account", fields, Window(start=since), mode=mode))
    assert set(ids_of(pages)) == changed | deleted
    columns = [f.name for f in fields]
    records = [dict(zip(columns, row, strict=True)) for p in pages for row in p.rows()]
    flags = {r["Id"]: r["IsDeleted"] for r in records}
    assert flags == {i: "true" if i in deleted else "false" for i in changed | deleted}


def test_field_selection_reaches_the_query(emu: Any, source: SalesforceSource) -> None:
    fields = source.fields("Account", {"exclude": ["Description", "Website"]})
    names = [f.name for f in fields]
    assert "Description" not in names and "Name" in names
    page = next(source.pages("Account", fields, mode="bulk"))
    assert page.columns == tuple(names)


def test_query_errors_are_mapped(emu: Any, client: SalesforceClient) -> None:
    with pytest.raises(MalformedQueryError):
        client.query("SELEKT Id FROM Account")
    with pytest.raises(InvalidFieldError):
        client.query("SELECT Nope__c FROM Account")
    with pytest.raises(SalesforceApiError, match="404"):  # unmapped: generic and terminal
        client.describe("NoSuchObject")


# --- faults -------------------------------------------------------------------------------


def test_expired_session_logs_in_again(emu: Any, source: SalesforceSource) -> None:
    emu.inject_fault("expire_session")
    pages = list(source.pages("Account", source.fields("Account"), mode="bulk"))
    assert source.client.logins == 2
    assert len(ids_of(pages)) == 400


@pytest.mark.parametrize("kind", ["rate_limit", "http_429", "server_error"])
def test_transient_errors_back_off_and_retry(emu: Any, source: SalesforceSource, kind: str) -> None:
    fields = source.fields("Account")
    emu.inject_fault(kind, count=2)
    pages = list(source.pages("Account", fields, mode="bulk"))
    assert len(ids_of(pages)) == 400
    assert source.client.retries == 2
    assert emu.stats[f"fault.{kind}"] == 2


def test_retry_after_is_honoured_up_to_the_policy_maximum(emu: Any, credentials_for: Any) -> None:
    waits: list[float] = []
    policy = RetryPolicy(attempts=3, base_delay=0.001, max_delay=5.0)
    client = SalesforceClient(credentials_for(emu), retry=policy, sleep=waits.append)
    emu.inject_fault("http_429", retry_after=2)
    assert client.describe("Account")["name"] == "Account"
    assert waits == [2.0]
    emu.inject_fault("http_429", retry_after=600)
    client.describe("Account")
    assert waits[-1] == 5.0  # capped by max_delay
    client.close()


def test_a_network_error_while_logging_in_again_is_retried(
    emu: Any, client: SalesforceClient
) -> None:
    client.login()
    emu.inject_fault("expire_session")
    emu.inject_fault("drop_connection", path="/services/Soap")  # the re-login is cut off

    assert client.describe("Account")["name"] == "Account"

    assert (client.logins, client.retries) == (2, 1)
    assert emu.stats["fault.drop_connection"] == 1
    logins = [r for r in emu.requests if r["path"].startswith("/services/Soap")]
    assert [r["status"] for r in logins] == [200, 0, 200]  # first login, the cut, the retry


def test_a_fully_read_bulk_job_is_deleted(emu: Any, source: SalesforceSource) -> None:
    list(source.pages("Account", source.fields("Account"), mode="bulk"))
    deletes = [r for r in emu.requests if r["method"] == "DELETE"]
    assert len(deletes) == 1
    assert "/jobs/query/" in deletes[0]["path"] and deletes[0]["status"] == 204


def test_retries_are_bounded(emu: Any, client: SalesforceClient, fast_retry: RetryPolicy) -> None:
    emu.inject_fault("server_error", count=50)
    with pytest.raises(ServerError, match="503"):
        client.describe("Account")
    assert emu.stats["fault.server_error"] == fast_retry.attempts


def test_slow_page_times_out_and_is_retried(
    emu: Any, credentials_for: Any, fast_retry: RetryPolicy
) -> None:
    session = build_session(emu.ca_bundle, timeout=(5.0, 0.3))
    client = SalesforceClient(credentials_for(emu), retry=fast_retry, session=session)
    source = SalesforceSource(client, mode="bulk")
    fields = source.fields("Lead")
    emu.inject_fault("slow_page", delay=1.0)
    assert len(ids_of(source.pages("Lead", fields))) == 300
    # The slowed page hit the 0.3 s read timeout once and was fetched again: one retry.
    assert client.retries == 1 and emu.stats["fault.slow_page"] == 1


@pytest.mark.parametrize("mode", ["rest", "bulk"])
def test_query_timeout_splits_the_window(emu: Any, source: SalesforceSource, mode: str) -> None:
    fields = source.fields("Contact", ["Name"])
    emu.inject_fault("query_timeout", count=3, max_window_seconds=120 * 86_400)
    pages = list(source.pages("Contact", fields, mode=mode))
    found = ids_of(pages)
    assert len(found) == len(set(found)) == 600  # every row once, none lost at the seams
    assert emu.stats["fault.query_timeout"] == 3


def test_failed_bulk_job_is_retried_then_replaced_by_rest(
    emu: Any, source: SalesforceSource
) -> None:
    fields = source.fields("Account")
    emu.inject_fault("bulk_job_failed")
    assert len(ids_of(source.pages("Account", fields, mode="bulk"))) == 400
    assert emu.stats["bulk_jobs"] == 2 and emu.stats["queries"] == 0
    emu.inject_fault("bulk_job_failed", count=2)
    assert len(ids_of(source.pages("Account", fields, mode="bulk"))) == 400
    assert emu.stats["bulk_jobs"] == 4 and emu.stats["queries"] == 1


def test_api_usage_guard_stops_before_the_quota(
    emu: Any, credentials_for: Any, fast_retry: RetryPolicy
) -> None:
    client = SalesforceClient(credentials_for(emu), retry=fast_retry)
    source = SalesforceSource(client)
    emu.set_api_usage(850, max=1000)
    with pytest.raises(ApiUsageLimitError, match="851/1000"):
        source.fields("Account")
    assert emu.stats["queries"] == emu.stats["bulk_jobs"] == 0


@pytest.mark.parametrize("kind", ["truncated_page", "malformed_page"])
def test_broken_bulk_page_is_detected(emu: Any, source: SalesforceSource, kind: str) -> None:
    fields = source.fields("Account")
    emu.inject_fault(kind)
    with pytest.raises(MalformedPageError):
        list(source.pages("Account", fields, mode="bulk"))


def test_broken_rest_page_is_detected(emu: Any, source: SalesforceSource) -> None:
    fields = source.fields("User")
    emu.inject_fault("malformed_page")
    with pytest.raises(MalformedPageError, match="not valid JSON"):
        list(source.pages("User", fields, mode="rest"))


def test_retry_policy_is_configurable(emu: Any, credentials_for: Any) -> None:
    client = SalesforceClient(credentials_for(emu), retry=RetryPolicy(attempts=1))
    emu.inject_fault("http_429")
    with pytest.raises(RateLimitedError, match="429"):
        client.describe("Account")
    assert client.retries == 0 and emu.stats["fault.http_429"] == 1  # attempts=1: no retry
