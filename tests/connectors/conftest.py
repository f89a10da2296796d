"""Fixtures for connector tests: a live HTTPS Salesforce emulator and clients for it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from dagplane.connectors.salesforce import (
    RetryPolicy,
    SalesforceClient,
    SalesforceSource,
)

FAST_RETRY = RetryPolicy(attempts=4, base_delay=0.001, max_delay=0.01)


@pytest.fixture
def fast_retry() -> RetryPolicy:
    """Backoff of a millisecond or so, four attempts."""
    return FAST_RETRY


@pytest.fixture
def emu() -> Iterator[Any]:
    """A fresh emulator with a few hundred rows per object."""
    from dagplane.emulators.salesforce import SalesforceEmulator

    with SalesforceEmulator(records=2_000, seed=0, port=0) as emulator:
        yield emulator


@pytest.fixture
def client(emu: Any, credentials_for: Any) -> Iterator[SalesforceClient]:
    """A logged-in client with near-instant backoff."""
    client = SalesforceClient(credentials_for(emu), retry=FAST_RETRY)
    yield client
    client.close()


@pytest.fixture
def source(client: SalesforceClient) -> SalesforceSource:
    """A source with a low Bulk threshold and small pages, so tests see several pages."""
    return SalesforceSource(client, bulk_threshold=200, page_size=100, poll_interval=0.001)
