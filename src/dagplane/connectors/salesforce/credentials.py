"""Salesforce credentials: typed secrets read from the environment or mounted secret files."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import SecretStr

from dagplane.errors import ConfigError
from dagplane.jobs.context import secrets_dir as default_secrets_root

__all__ = ["AuthMode", "SalesforceCredentials"]

AuthMode = Literal["password", "client_credentials", "jwt"]

PREFIX = "SALESFORCE_"
# Hosts that serve every org's logins; flows bound to one org need its My Domain host instead.
GENERIC_LOGIN_HOSTS = frozenset({"login.salesforce.com", "test.salesforce.com"})
KEYS = (
    "USERNAME",
    "PASSWORD",
    "SECURITY_TOKEN",
    "CLIENT_ID",
    "CLIENT_SECRET",
    "PRIVATE_KEY",
    "PRIVATE_KEY_FILE",
    "DOMAIN",
    "LOGIN_URL",
    "INSTANCE_URL",
    "CA_BUNDLE",
)
REQUIRED = {
    "password": ("USERNAME", "PASSWORD", "SECURITY_TOKEN"),
    "client_credentials": ("CLIENT_ID", "CLIENT_SECRET"),
    "jwt": ("USERNAME", "CLIENT_ID", "PRIVATE_KEY or PRIVATE_KEY_FILE"),
}


@dataclass(frozen=True)
class SalesforceCredentials:
    """How to log in to one Salesforce org. Secret values are ``SecretStr``: never printed.

    The auth mode follows from what is set: a private key means JWT bearer, a password means
    username + password + security token, a client secret alone means OAuth client credentials.
    ``login_url`` overrides ``https://<domain>.salesforce.com`` (a My Domain URL or the emulator);
    ``ca_bundle`` is the only CA file trusted when set.
    """

    username: str | None = None
    password: SecretStr | None = None
    security_token: SecretStr | None = None
    client_id: SecretStr | None = None
    client_secret: SecretStr | None = None
    private_key: SecretStr | None = None
    private_key_file: Path | None = None
    domain: str = "login"
    login_url: str | None = None
    ca_bundle: Path | None = None

    @property
    def auth_mode(self) -> AuthMode:
        """Which OAuth / SOAP flow these credentials use."""
        if self.username and self.client_id and (self.private_key or self.private_key_file):
            return "jwt"
        if self.username and self.password:
            return "password"
        if self.client_id and self.client_secret:
            return "client_credentials"
        raise ConfigError(
            "incomplete Salesforce credentials: set one of "
            + "; ".join(f"{mode}: {', '.join(keys)}" for mode, keys in REQUIRED.items())
        )

    @property
    def base_url(self) -> str:
        """Where to log in: ``login_url`` if set, else ``https://<domain>.salesforce.com``."""
        return (self.login_url or f"https://{self.domain}.salesforce.com").rstrip("/")

    def check(self) -> None:
        """Raise ``ConfigError`` for settings Salesforce refuses, before any request is sent.

        The OAuth client-credentials flow is served only by the org's My Domain host; the
        generic login hosts answer "request not supported on this domain".
        """
        host = urlsplit(self.base_url).hostname or ""
        if self.auth_mode == "client_credentials" and host in GENERIC_LOGIN_HOSTS:
            raise ConfigError(
                f"Salesforce OAuth client credentials work only against your org's My Domain "
                f"URL, not {self.base_url} (fix: set SALESFORCE_LOGIN_URL to it, e.g. "
                "https://yourcompany.my.salesforce.com, or "
                "https://yourcompany--sandbox.sandbox.my.salesforce.com for a sandbox; "
                "Setup > My Domain shows it)"
            )

    def secret_values(self) -> list[str]:
        """Every secret value, for log redaction."""
        secrets = (
            self.password,
            self.security_token,
            self.client_id,
            self.client_secret,
            self.private_key,
        )
        return [s.get_secret_value() for s in secrets if s is not None]

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        secrets_dir: Path | str | None = None,
    ) -> SalesforceCredentials:
        """Read ``SALESFORCE_*`` from the environment, then from files in ``secrets_dir``.

        ``secrets_dir`` holds one file per key, named like the variable
        (``SALESFORCE_PASSWORD``); it defaults to ``$SALESFORCE_SECRETS_DIR``, else
        ``<dagplane secrets dir>/salesforce``. Missing credentials raise a ``ConfigError`` that
        lists every key and every place tried.
        """
        env = os.environ if environ is None else environ
        folder = Path(
            secrets_dir
            or env.get("SALESFORCE_SECRETS_DIR")
            or default_secrets_root() / "salesforce"
        )
        values = {key: _lookup(env, folder, PREFIX + key) for key in KEYS}
        secret = {k: SecretStr(v) for k, v in values.items() if v is not None}
        creds = cls(
            username=values["USERNAME"],
            password=secret.get("PASSWORD"),
            security_token=secret.get("SECURITY_TOKEN"),
            client_id=secret.get("CLIENT_ID"),
            client_secret=secret.get("CLIENT_SECRET"),
            private_key=secret.get("PRIVATE_KEY"),
            private_key_file=_path(values["PRIVATE_KEY_FILE"]),
            domain=values["DOMAIN"] or "login",
            login_url=values["LOGIN_URL"] or values["INSTANCE_URL"],
            ca_bundle=_path(values["CA_BUNDLE"]),
        )
        try:
            mode = creds.auth_mode
        except ConfigError:
            mode = None
        missing = [k for k in REQUIRED[mode] if "or" not in k and values[k] is None] if mode else []
        if mode is None or missing:
            tried = ", ".join(PREFIX + k for k in KEYS)
            raise ConfigError(
                f"Salesforce credentials are incomplete (missing: "
                f"{', '.join(PREFIX + k for k in missing) or 'a complete set'}): tried the "
                f"environment variables and files in {folder} for {tried}; set one of "
                + "; ".join(
                    f"{m}: {', '.join(PREFIX + k for k in keys)}" for m, keys in REQUIRED.items()
                )
            )
        creds.check()
        return creds


def _lookup(env: Mapping[str, str], folder: Path, name: str) -> str | None:
    value = env.get(name)
    if value:
        return value
    try:
        text = (folder / name).read_text(encoding="utf-8").rstrip("\r\n")
    except OSError:
        return None
    return text or None


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None
