"""Fixtures for the PostgreSQL loader: a fresh schema per test, Account fields, page builders."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from dagplane.connectors.pages import CsvPage
from dagplane.connectors.salesforce.fields import SalesforceField
from dagplane.warehouse.postgres import LoadResult, PostgresDestination

ACCOUNT_FIELDS = [
    SalesforceField("Id", "id", length=18, nillable=False),
    SalesforceField("IsDeleted", "boolean", nillable=False),
    SalesforceField("Name", "string", length=255, nillable=False),
    SalesforceField("AnnualRevenue", "currency", precision=18, scale=2),
    SalesforceField("BillingCity", "string", length=40, compound_field_name="BillingAddress"),
    SalesforceField("BillingAddress", "address"),
    SalesforceField("SystemModstamp", "datetime", nillable=False),
]
ACCOUNT_COLUMNS = ("Id", "IsDeleted", "Name", "AnnualRevenue", "BillingCity", "SystemModstamp")

PageFactory = Callable[..., CsvPage]
Query = Callable[..., list[tuple[Any, ...]]]


@pytest.fixture
def schema() -> str:
    """A schema name no other test uses."""
    return f"t_{uuid.uuid4().hex[:10]}"


@pytest.fixture
def dest(postgres_url: str, schema: str) -> Iterator[PostgresDestination]:
    """A destination writing into the test's own schema, dropped afterwards."""
    yield PostgresDestination(postgres_url, schema=schema)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def query(postgres_url: str) -> Query:
    """Run one SQL statement on a fresh connection and return all rows."""

    def run(statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with psycopg.connect(postgres_url) as conn:
            return conn.execute(statement, params).fetchall()

    return run


@pytest.fixture
def account_page() -> PageFactory:
    """Build an Account page from ``(n, deleted, name, revenue, city, modstamp)`` tuples.

    ``n`` becomes the 18-character id ``00100000000000000n``; the other values are CSV text.
    """

    def build(*rows: tuple[Any, ...], page_number: int = 0, expected: int | None = None) -> CsvPage:
        lines = [",".join([f"001{row[0]:015d}", *row[1:]]) + "\n" for row in rows]
        count = len(rows) if expected is None else expected
        return CsvPage("Account", ACCOUNT_COLUMNS, "".join(lines).encode(), count, page_number)

    return build


@pytest.fixture
def load(dest: PostgresDestination) -> Callable[..., LoadResult]:
    """Load Account pages into the test's schema: ``load(*pages, run_id=..., **options)``."""

    def run(*pages: CsvPage, run_id: str = "run-1", **options: Any) -> LoadResult:
        return dest.load_object(
            object_name="Account",
            fields=ACCOUNT_FIELDS,
            pages=iter(pages),
            run_id=run_id,
            **options,
        )

    return run
