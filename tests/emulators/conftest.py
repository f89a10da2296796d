"""Fixtures: in-process emulators and requests sessions that trust their CA."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from simple_salesforce import Salesforce, SalesforceLogin

from dagplane.emulators.salesforce import SalesforceEmulator


class EmulatorSession(requests.Session):
    """Trusts the emulator's CA only and sends ``*.salesforce.com`` requests to the emulator.

    The original host goes along as the ``Host`` header, so the emulator sees a request to
    ``login.salesforce.com`` as one to the generic login host (as Salesforce would).
    ``trust_env = False`` matters: otherwise ``REQUESTS_CA_BUNDLE`` overrides ``verify``.
    """

    def __init__(self, emu: SalesforceEmulator) -> None:
        super().__init__()
        self.trust_env = False
        self.verify = str(emu.ca_bundle)
        self.emulator_url = emu.url

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any):
        match = re.match(r"^https://([\w.-]+\.salesforce\.com)", str(url))
        if match:
            url = self.emulator_url + str(url)[match.end() :]
            kwargs["headers"] = {**(kwargs.get("headers") or {}), "Host": match[1]}
        return super().request(method, url, *args, **kwargs)


def soap_client(emu: SalesforceEmulator, session: requests.Session | None = None) -> Salesforce:
    """A simple-salesforce client logged in with SOAP username/password/token."""
    session = session or EmulatorSession(emu)
    creds = emu.credentials
    session_id, _ = SalesforceLogin(
        username=creds["username"],
        password=creds["password"],
        security_token=creds["security_token"],
        session=session,
        scratch_url=emu.url,
    )
    return Salesforce(session_id=session_id, instance_url=emu.url, session=session)


@pytest.fixture(scope="module")
def shared_emu() -> Iterator[SalesforceEmulator]:
    """One emulator for read-only tests of a module."""
    with SalesforceEmulator(records=20_000, seed=7) as emu:
        yield emu


@pytest.fixture
def emu() -> Iterator[SalesforceEmulator]:
    """A fresh small emulator for tests that change data or inject faults."""
    with SalesforceEmulator(records=5_000, seed=3) as emu:
        yield emu


@pytest.fixture
def sf(emu: SalesforceEmulator) -> Salesforce:
    return soap_client(emu)


@pytest.fixture
def make_session():
    """``make_session(emu)``: an ``EmulatorSession`` (helpers are fixtures: no test package)."""
    return EmulatorSession


@pytest.fixture
def make_client():
    """``make_client(emu, session=None)``: a client logged in with SOAP."""
    return soap_client
