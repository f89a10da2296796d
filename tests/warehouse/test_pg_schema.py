"""Schema evolution: add, keep, widen, and refuse changes that could lose data."""

from __future__ import annotations

import pytest

from dagplane.connectors.salesforce.fields import SalesforceField as F
from dagplane.errors import TerminalError
from dagplane.warehouse.postgres import SchemaChangeError

BASE = [
    F("Id", "id", 18, nillable=False),
    F("Name", "string", 80, nillable=False),
    F("Code__c", "reference", 18),
    F("Seats__c", "int", digits=9),
    F("Amount__c", "currency", precision=10, scale=2),
    F("SystemModstamp", "datetime", nillable=False),
]


def columns(query, schema: str) -> dict[str, tuple[str, bool]]:
    rows = query(
        "SELECT attname, format_type(atttypid, atttypmod), attnotnull FROM pg_attribute "
        "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
        (f'"{schema}".widget__c',),
    )
    return {name: (pg_type, not_null) for name, pg_type, not_null in rows}


def replace(fields: list[F], name: str, new: F | None) -> list[F]:
    return [(new if f.name == name else f) for f in fields if new is not None or f.name != name]


def test_create_then_no_change(dest, query, schema):
    created = dest.ensure_table("Widget__c", BASE)

    assert [str(c) for c in created] == [f"{schema}.widget__c: create table (9 columns)"]
    assert dest.ensure_table("Widget__c", BASE) == []
    assert columns(query, schema)["name"] == ("text", True)
    assert query(
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a "
        "ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
        "WHERE i.indrelid = %s::regclass AND i.indisprimary",
        (f'"{schema}".widget__c',),
    ) == [("id",)]


def test_new_field_adds_a_nullable_column_and_removed_field_stays_nullable(dest, query, schema):
    dest.ensure_table("Widget__c", BASE)
    fields = [*replace(BASE, "Name", None), F("Region__c", "picklist", 255, nillable=False)]

    changes = dest.ensure_table("Widget__c", fields)

    assert [str(c) for c in changes] == [
        f"{schema}.widget__c: add column region__c text",
        f"{schema}.widget__c: drop not null name",
    ]
    found = columns(query, schema)
    assert found["region__c"] == ("text", False)
    assert found["name"] == ("text", False)


def test_compatible_widenings_are_applied_with_alter(dest, query, schema):
    dest.ensure_table("Widget__c", BASE)
    fields = replace(BASE, "Seats__c", F("Seats__c", "int", digits=18))
    fields = replace(fields, "Amount__c", F("Amount__c", "currency", precision=16, scale=2))
    fields = replace(fields, "Code__c", F("Code__c", "string", 255))

    changes = dest.ensure_table("Widget__c", fields)

    assert sorted(c.column for c in changes if c.action == "widen column") == [
        "amount__c",
        "code__c",
        "seats__c",
    ]
    found = columns(query, schema)
    assert (found["seats__c"], found["amount__c"], found["code__c"]) == (
        ("bigint", False),
        ("numeric(16,2)", False),
        ("text", False),
    )


@pytest.mark.parametrize(
    ("field", "old", "new"),
    [
        (F("Code__c", "double", precision=18, scale=2), "character varying(18)", "numeric(18,2)"),
        (F("Amount__c", "currency", precision=8, scale=2), "numeric(10,2)", "numeric(8,2)"),
    ],
)
def test_incompatible_type_change_is_a_terminal_error_and_changes_nothing(
    dest, query, schema, field, old, new
):
    dest.ensure_table("Widget__c", BASE)
    before = columns(query, schema)
    fields = [*replace(BASE, field.name, field), F("Extra__c", "string", 10)]

    with pytest.raises(SchemaChangeError) as caught:
        dest.ensure_table("Widget__c", fields)

    column = field.name.lower()
    table = f"{schema}.widget__c"
    assert str(caught.value) == (
        f"Widget__c.{field.name} ({table}.{column}): cannot change column type from {old} to "
        f"{new}: it is not a "
        "widening and could lose or reject data (fix: convert it yourself, e.g. ALTER TABLE "
        f"{table} ALTER COLUMN {column} TYPE {new} USING {column}::{new}, or rename or drop "
        "the column so the next load creates it again)"
    )
    assert isinstance(caught.value, TerminalError)
    assert columns(query, schema) == before
