"""Logins: SOAP ``login`` and the OAuth 2.0 token endpoint (password, client credentials,
JWT bearer), and the sessions they hand out."""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from html import escape
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

ORG_ID = "00DDn0000000001EAA"
USER_ID = "005Dn0000000000IAA"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# The generic login hosts; every other host (the emulator's own URL included) is My Domain.
LOGIN_HOSTS = ("login.salesforce.com", "test.salesforce.com")
_LOGIN_MESSAGE = "Invalid username, password, security token; or user locked out."
_SOAP_NS = 'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"'


@dataclass(frozen=True)
class Credentials:
    """The one user and connected app the emulator knows."""

    username: str = "demo@dagplane.example"
    password: str = "dagplane-demo"
    security_token: str = "EMULATORTOKEN"
    client_id: str = "dagplane-emulator-client"
    client_secret: str = "dagplane-emulator-secret"

    def as_dict(self) -> dict[str, str]:
        return {
            "username": self.username,
            "password": self.password,
            "security_token": self.security_token,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
        }


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Sessions:
    """Issues session ids and remembers which are valid; thread-safe."""

    def __init__(self, credentials: Credentials, jwt_public_key: bytes | None = None) -> None:
        self.credentials = credentials
        self._key = serialization.load_pem_public_key(jwt_public_key) if jwt_public_key else None
        self._valid: set[str] = set()
        self._lock = threading.Lock()

    def issue(self) -> str:
        token = f"{ORG_ID[:15]}!{secrets.token_urlsafe(48)}"
        with self._lock:
            self._valid.add(token)
        return token

    def is_valid(self, token: str) -> bool:
        with self._lock:
            return token in self._valid

    def revoke(self, token: str) -> None:
        with self._lock:
            self._valid.discard(token)

    def soap_login(self, body: bytes, base_url: str, version: str) -> tuple[int, str]:
        """Answer a SOAP ``login`` call: (HTTP status, SOAP envelope)."""
        try:
            values = {el.tag.rsplit("}", 1)[-1]: el.text or "" for el in ET.fromstring(body).iter()}
        except ET.ParseError:
            values = {}
        creds = self.credentials
        if values.get("username") != creds.username or values.get("password") != (
            creds.password + creds.security_token
        ):
            return 500, (
                f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope {_SOAP_NS} '
                'xmlns:sf="urn:fault.partner.soap.sforce.com" '
                'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>'
                f"<soapenv:Fault><faultcode>sf:INVALID_LOGIN</faultcode><faultstring>"
                f"INVALID_LOGIN: {_LOGIN_MESSAGE}</faultstring><detail>"
                '<sf:LoginFault xsi:type="sf:LoginFault"><sf:exceptionCode>INVALID_LOGIN'
                f"</sf:exceptionCode><sf:exceptionMessage>{_LOGIN_MESSAGE}</sf:exceptionMessage>"
                "</sf:LoginFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
            )
        return 200, (
            f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope {_SOAP_NS} '
            'xmlns="urn:partner.soap.sforce.com"><soapenv:Body><loginResponse><result>'
            f"<metadataServerUrl>{base_url}/services/Soap/m/{version}/{ORG_ID[:15]}"
            "</metadataServerUrl><passwordExpired>false</passwordExpired><sandbox>false</sandbox>"
            f"<serverUrl>{base_url}/services/Soap/u/{version}/{ORG_ID[:15]}</serverUrl>"
            f"<sessionId>{self.issue()}</sessionId><userId>{USER_ID}</userId><userInfo>"
            f"<organizationId>{ORG_ID}</organizationId><userId>{USER_ID}</userId>"
            f"<userName>{escape(creds.username)}</userName></userInfo>"
            "</result></loginResponse></soapenv:Body></soapenv:Envelope>"
        )

    def oauth_token(
        self, form: dict[str, str], authorization: str | None, base_url: str, host: str = ""
    ) -> tuple[int, dict[str, Any]]:
        """Answer ``/services/oauth2/token``: (HTTP status, JSON body).

        ``host`` is the request's Host header: the client credentials flow works only on the
        org's My Domain, not on the generic login hosts.
        """
        host = host.rsplit(":", 1)[0].lower() if host.count(":") == 1 else host.lower()
        creds = self.credentials
        grant = form.get("grant_type", "")
        if grant == "password":
            if (form.get("client_id"), form.get("client_secret")) != (
                creds.client_id,
                creds.client_secret,
            ):
                return 400, {"error": "invalid_client", "error_description": "invalid client"}
            if form.get("username") != creds.username or form.get("password") != (
                creds.password + creds.security_token
            ):
                return 400, {
                    "error": "invalid_grant",
                    "error_description": "authentication failure",
                }
        elif grant == "client_credentials":
            if host in LOGIN_HOSTS:
                # Salesforce Help, "OAuth 2.0 Client Credentials Flow for Server-to-Server
                # Integration": the token request goes to the My Domain login URL; the generic
                # hosts answer this (pozil/pub-sub-api-node-client issue #58).
                description = "request not supported on this domain"
                return 400, {"error": "invalid_grant", "error_description": description}
            client = (form.get("client_id"), form.get("client_secret"))
            if authorization and authorization.lower().startswith("basic "):
                decoded = base64.b64decode(authorization[6:]).decode(errors="replace")
                client = tuple(decoded.split(":", 1)) if ":" in decoded else (decoded, None)
            if client != (creds.client_id, creds.client_secret):
                description = "invalid client credentials"
                return 400, {"error": "invalid_client", "error_description": description}
        elif grant == JWT_GRANT:
            audiences = {*(f"https://{h}" for h in LOGIN_HOSTS), base_url, f"https://{host}"}
            problem = self._jwt_problem(form.get("assertion", ""), audiences)
            if problem:
                return 400, {"error": problem[0], "error_description": problem[1]}
        else:
            description = "grant type not supported"
            return 400, {"error": "unsupported_grant_type", "error_description": description}
        return 200, {
            "access_token": self.issue(),
            "instance_url": base_url,
            "id": f"{base_url}/id/{ORG_ID}/{USER_ID}",
            "token_type": "Bearer",
            "issued_at": str(int(time.time() * 1000)),
            "scope": "api",
            "signature": base64.b64encode(secrets.token_bytes(32)).decode(),
        }

    def _jwt_problem(self, assertion: str, audiences: set[str]) -> tuple[str, str] | None:
        """Why a JWT bearer assertion is refused, as (error, description), or None if valid.

        Salesforce Help, "OAuth 2.0 JWT Bearer Flow for Server-to-Server Integration": the JWT
        is signed with RS256 by the certificate uploaded to the connected app; ``iss`` is its
        client id, ``sub`` the username, ``aud`` https://login.salesforce.com,
        https://test.salesforce.com or the site's URL, ``exp`` a few minutes ahead. The
        descriptions are the ones Salesforce answers with, as clients report them: "client
        identifier invalid" (omniphx/forrest issue #184), "invalid assertion"
        (frankkessler/salesforce-laravel-oauth2-rest issue #68), "audience is invalid"
        (forcedotcom/cli issue #3325), "expired authorization code" (Salesforce Stack
        Exchange, "Specifying an expiration date/time when creating a JWT"), "user hasn't
        approved this consumer" (restforce/restforce issue #674).
        """
        invalid = ("invalid_grant", "invalid assertion")
        try:
            head, body, signature = assertion.split(".")
            header, claims = json.loads(_b64url(head)), json.loads(_b64url(body))
        except ValueError:
            return invalid
        if not isinstance(header, dict) or not isinstance(claims, dict):
            return invalid
        if claims.get("iss") != self.credentials.client_id:
            return "invalid_client_id", "client identifier invalid"
        # Without a registered certificate no signature can be checked: refuse, as an org
        # whose connected app has no certificate does.
        if header.get("alg") != "RS256" or not isinstance(self._key, rsa.RSAPublicKey):
            return invalid
        try:
            self._key.verify(
                _b64url(signature), f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256()
            )
        except (InvalidSignature, ValueError):
            return invalid
        audience = claims.get("aud")
        given = audience if isinstance(audience, list) else [audience]
        if not any(isinstance(a, str) and a.rstrip("/") in audiences for a in given):
            return "invalid_grant", "audience is invalid"
        try:
            expires = float(claims["exp"])
        except (KeyError, TypeError, ValueError):
            return invalid
        if expires < time.time():
            return "invalid_grant", "expired authorization code"
        if claims.get("sub") != self.credentials.username:
            return "invalid_grant", "user hasn't approved this consumer"
        return None
