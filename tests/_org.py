"""Helpers several end-to-end tests share: an unmodified simple-salesforce client logged in to
an emulator, and a fresh database on the session's PostgreSQL."""

from __future__ import annotations

import urllib.parse
import uuid
from pathlib import Path

import psycopg
import requests
from simple_salesforce import Salesforce, SalesforceLogin

from dagplane.emulators.salesforce import DEFAULT_CREDENTIALS

__all__ = ["fresh_database", "salesforce_client"]


def salesforce_client(url: str, ca_bundle: Path | str) -> Salesforce:
    """simple-salesforce, unmodified, logged in (SOAP) with the emulator's fixed login; the
    session trusts the emulator's CA only (``trust_env`` off, or REQUESTS_CA_BUNDLE wins)."""
    session = requests.Session()
    session.trust_env = False
    session.verify = str(ca_bundle)
    session_id, _ = SalesforceLogin(
        username=DEFAULT_CREDENTIALS.username,
        password=DEFAULT_CREDENTIALS.password,
        security_token=DEFAULT_CREDENTIALS.security_token,
        session=session,
        scratch_url=url,
    )
    return Salesforce(session_id=session_id, instance_url=url, session=session)


def fresh_database(postgres_url: str, prefix: str = "test") -> str:
    """A new, empty database on the server of ``postgres_url``; its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urllib.parse.urlsplit(postgres_url)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))
