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
        self, form: dict[str, str], authorization: str | None, base_url: str
    ) -> tuple[int, dict[str, Any]]:
        """Answer ``/services/oauth2/token``: (HTTP status, JSON body)."""
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
            client = (form.get("client_id"), form.get("client_secret"))
            if authorization and authorization.lower().startswith("basic "):
                decoded = base64.b64decode(authorization[6:]).decode(errors="replace")
                client = tuple(decoded.split(":", 1)) if ":" in decoded else (decoded, None)
            if client != (creds.client_id, creds.client_secret):
                description = "invalid client credentials"
                return 400, {"error": "invalid_client", "error_description": description}
        elif grant == JWT_GRANT:
            problem = self._jwt_problem(form.get("assertion", ""))
            if problem:
                return 400, {"error": "invalid_grant", "error_description": problem}
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

    def _jwt_problem(self, assertion: str) -> str | None:
        """Why a JWT bearer assertion is refused, or None if it is accepted."""
        try:
            head, body, signature = assertion.split(".")
            header, claims = json.loads(_b64url(head)), json.loads(_b64url(body))
        except ValueError:
            return "invalid assertion"
        if header.get("alg") != "RS256":
            return "invalid assertion: algorithm must be RS256"
        if claims.get("iss") != self.credentials.client_id:
            return "invalid_client_id"
        if claims.get("sub") != self.credentials.username:
            return "user hasn't approved this consumer"
        if float(claims.get("exp", time.time() + 1)) < time.time():
            return "expired authorization code"
        if isinstance(self._key, rsa.RSAPublicKey):
            try:
                self._key.verify(
                    _b64url(signature),
                    f"{head}.{body}".encode(),
                    padding.PKCS1v15(),
                    hashes.SHA256(),
                )
            except (InvalidSignature, ValueError):
                return "invalid assertion: bad signature"
        return None
