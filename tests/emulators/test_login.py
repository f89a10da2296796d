"""Every login flow, through the unmodified simple-salesforce client."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from simple_salesforce import Salesforce, SalesforceAuthenticationFailed, SalesforceLogin
from simple_salesforce.login import token_login

from dagplane.emulators.salesforce import SalesforceEmulator
from dagplane.emulators.salesforce.auth import JWT_GRANT


def _rsa_pair() -> tuple[str, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


def test_soap_login_returns_a_session_on_the_emulator(
    emu: SalesforceEmulator, make_session
) -> None:
    creds = emu.credentials
    session_id, instance = SalesforceLogin(
        username=creds["username"],
        password=creds["password"],
        security_token=creds["security_token"],
        session=make_session(emu),
        scratch_url=emu.url,
    )
    assert instance == emu.url.removeprefix("https://")
    assert session_id.startswith("00D") and emu.sessions.is_valid(session_id)
    assert emu.stats["logins"] == 1


def test_salesforce_constructor_logs_in_with_soap(emu: SalesforceEmulator, make_session) -> None:
    creds = emu.credentials
    sf = Salesforce(
        username=creds["username"],
        password=creds["password"],
        security_token=creds["security_token"],
        session=make_session(emu),
    )
    assert sf.sf_instance == emu.url.removeprefix("https://")
    assert sf.query("SELECT Id FROM User LIMIT 1")["totalSize"] == 1


def test_bad_password_is_an_invalid_login_fault(emu: SalesforceEmulator, make_session) -> None:
    with pytest.raises(SalesforceAuthenticationFailed) as caught:
        SalesforceLogin(
            username=emu.credentials["username"],
            password="wrong",  # pragma: allowlist secret
            security_token=emu.credentials["security_token"],
            session=make_session(emu),
            scratch_url=emu.url,
        )
    assert caught.value.code == "INVALID_LOGIN"
    assert "Invalid username, password, security token" in caught.value.auth_message
    assert emu.stats["login_failures"] == 1


def test_oauth_password_flow(emu: SalesforceEmulator, make_session) -> None:
    creds = emu.credentials
    sf = Salesforce(
        username=creds["username"],
        password=creds["password"] + creds["security_token"],
        consumer_key=creds["client_id"],
        consumer_secret=creds["client_secret"],
        session=make_session(emu),
    )
    assert sf.auth_type == "password"
    assert sf.limits()["DailyApiRequests"]["Max"] == 1_000_000


def test_oauth_password_flow_rejects_a_bad_password(emu: SalesforceEmulator, make_session) -> None:
    creds = emu.credentials
    data = {
        "grant_type": "password",
        "client_id": creds["client_id"],
        "client_secret": creds["client_secret"],
        "username": creds["username"],
        "password": creds["password"],  # the security token is missing
    }
    with pytest.raises(SalesforceAuthenticationFailed) as caught:
        token_login(
            f"{emu.url}/services/oauth2/token", data, "login", "x", None, None, make_session(emu)
        )
    assert caught.value.code == "invalid_grant"
    assert caught.value.auth_message == "authentication failure"


def test_client_credentials_flow(emu: SalesforceEmulator, make_session) -> None:
    creds = emu.credentials
    sf = Salesforce(
        consumer_key=creds["client_id"],
        consumer_secret=creds["client_secret"],
        domain="emulator",
        session=make_session(emu),
    )
    assert sf.auth_type == "client-credentials"
    assert sf.query("SELECT Id FROM Account LIMIT 2")["totalSize"] == 2
    with pytest.raises(SalesforceAuthenticationFailed) as caught:
        Salesforce(
            consumer_key=creds["client_id"],
            consumer_secret="nope",  # pragma: allowlist secret
            domain="emulator",
            session=make_session(emu),
        )
    assert caught.value.code == "invalid_client"


def test_jwt_bearer_flow_checks_the_signature(make_session) -> None:
    private, public = _rsa_pair()
    other_private, _ = _rsa_pair()
    with SalesforceEmulator(records=100, jwt_public_key=public) as emu:
        creds = emu.credentials
        sf = Salesforce(
            username=creds["username"],
            consumer_key=creds["client_id"],
            privatekey=private,
            session=make_session(emu),
        )
        assert sf.auth_type == "jwt-bearer"
        assert sf.query("SELECT Id FROM Lead LIMIT 1")["totalSize"] == 1
        with pytest.raises(SalesforceAuthenticationFailed) as caught:
            Salesforce(
                username=creds["username"],
                consumer_key=creds["client_id"],
                privatekey=other_private,
                session=make_session(emu),
            )
        assert caught.value.code == "invalid_grant"
        assert caught.value.auth_message == "invalid assertion"
        with pytest.raises(SalesforceAuthenticationFailed), pytest.warns(UserWarning):
            Salesforce(
                username="someone@else.example",
                consumer_key=creds["client_id"],
                privatekey=private,
                session=make_session(emu),
            )


def test_jwt_without_a_configured_key_is_refused(emu: SalesforceEmulator, make_session) -> None:
    """No certificate registered for the connected app: no assertion can be verified."""
    private, _ = _rsa_pair()
    creds = emu.credentials
    with pytest.raises(SalesforceAuthenticationFailed) as caught:
        Salesforce(
            username=creds["username"],
            consumer_key=creds["client_id"],
            privatekey=private,
            session=make_session(emu),
        )
    assert (caught.value.code, caught.value.auth_message) == ("invalid_grant", "invalid assertion")
    assert emu.stats["logins"] == 0 and emu.stats["login_failures"] == 1


def _assertion(private: str, **claims: object) -> str:
    payload = {
        "iss": "dagplane-emulator-client",
        "sub": "demo@dagplane.example",
        "aud": "https://login.salesforce.com",
        "exp": int(time.time()) + 180,
    }
    payload.update(claims)
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, private, "RS256")


@pytest.fixture(scope="module")
def jwt_emu() -> Iterator[tuple[SalesforceEmulator, str]]:
    private, public = _rsa_pair()
    with SalesforceEmulator(records=100, jwt_public_key=public) as emu:
        yield emu, private


@pytest.mark.parametrize(
    ("claims", "error", "description"),
    [
        ({}, None, None),
        ({"aud": "https://test.salesforce.com"}, None, None),
        ({"aud": "EMULATOR"}, None, None),
        ({"aud": "https://login.example.com"}, "invalid_grant", "audience is invalid"),
        ({"aud": None}, "invalid_grant", "audience is invalid"),
        ({"iss": "someone-else"}, "invalid_client_id", "client identifier invalid"),
        ({"exp": int(time.time()) - 60}, "invalid_grant", "expired authorization code"),
        ({"exp": None}, "invalid_grant", "invalid assertion"),
        ({"sub": "nobody@x.example"}, "invalid_grant", "user hasn't approved this consumer"),
    ],
)
def test_jwt_claims_are_checked(
    jwt_emu: tuple[SalesforceEmulator, str],
    make_session,
    claims: dict[str, object],
    error: str | None,
    description: str | None,
) -> None:
    emu, private = jwt_emu
    if claims.get("aud") == "EMULATOR":
        claims = {"aud": emu.url}
    answer = make_session(emu).post(
        "https://login.salesforce.com/services/oauth2/token",
        data={"grant_type": JWT_GRANT, "assertion": _assertion(private, **claims)},
    )
    if error is None:
        assert answer.status_code == 200 and answer.json()["instance_url"] == emu.url
    else:
        assert answer.status_code == 400
        assert answer.json() == {"error": error, "error_description": description}


def test_jwt_signed_by_another_key_is_an_invalid_assertion(
    jwt_emu: tuple[SalesforceEmulator, str], make_session
) -> None:
    emu, _ = jwt_emu
    other, _ = _rsa_pair()
    answer = make_session(emu).post(
        f"{emu.url}/services/oauth2/token",
        data={"grant_type": JWT_GRANT, "assertion": _assertion(other)},
    )
    assert answer.json() == {"error": "invalid_grant", "error_description": "invalid assertion"}


@pytest.mark.parametrize("domain", ["login", "test"])
def test_client_credentials_are_refused_on_the_generic_login_hosts(
    emu: SalesforceEmulator, make_session, domain: str
) -> None:
    """simple-salesforce itself refuses these domains; the connector's token_login call does not."""
    creds = emu.credentials
    pair = base64.b64encode(f"{creds['client_id']}:{creds['client_secret']}".encode()).decode()
    with pytest.raises(SalesforceAuthenticationFailed) as caught:
        token_login(
            f"https://{domain}.salesforce.com/services/oauth2/token",
            {"grant_type": "client_credentials"},
            domain,
            creds["client_id"],
            {"Authorization": f"Basic {pair}"},
            None,
            make_session(emu),
        )
    assert (caught.value.code, caught.value.auth_message) == (
        "invalid_grant",
        "request not supported on this domain",
    )
    raw = make_session(emu).post(
        f"https://{domain}.salesforce.com/services/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(creds["client_id"], creds["client_secret"]),
    )
    assert raw.status_code == 400
    assert raw.json() == {
        "error": "invalid_grant",
        "error_description": "request not supported on this domain",
    }


def test_client_credentials_work_on_the_emulator_url(emu: SalesforceEmulator, make_session) -> None:
    creds = emu.credentials
    answer = make_session(emu).post(
        f"{emu.url}/services/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(creds["client_id"], creds["client_secret"]),
    )
    assert answer.status_code == 200 and answer.json()["token_type"] == "Bearer"
