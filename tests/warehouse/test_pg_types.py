"""Every Salesforce field type gets a typed column and reads back as the right Python value."""

from __future__ import annotations

from datetime import date, datetime, time, timezone
from decimal import Decimal

import pytest

from dagplane.connectors.pages import CsvPage
from dagplane.connectors.salesforce.fields import SalesforceField as F
from dagplane.warehouse.postgres import UnsupportedFieldError, column_for
from dagplane.warehouse.postgres._types import is_widening

ACCOUNT_ID, USER_ID = "001000000000000001", "005000000000000001"
# (field, CSV value, column type, value read back); None type = not loaded.
CASES = [
    (F("Id", "id", 18), ACCOUNT_ID, "character varying(18)", ACCOUNT_ID),
    (F("OwnerId", "reference", 18), USER_ID, "character varying(18)", USER_ID),
    (F("Active__c", "boolean"), "true", "boolean", True),
    (F("Seats__c", "int", digits=9), "-42", "integer", -42),
    (F("Big__c", "int", digits=18), "9000000000", "bigint", 9000000000),
    (F("Long__c", "long"), "9000000001", "bigint", 9000000001),
    (F("Ratio__c", "double", precision=18, scale=4), "3.1416", "numeric(18,4)", Decimal("3.1416")),
    (F("Score__c", "double"), "0.5", "double precision", 0.5),
    (F("Amount__c", "currency", precision=16, scale=2), "12.5", "numeric(16,2)", Decimal("12.50")),
    (F("Share__c", "percent", precision=5, scale=2), "12.5", "numeric(5,2)", Decimal("12.50")),
    (F("Start__c", "date"), "2024-02-29", "date", date(2024, 2, 29)),
    (F("SystemModstamp", "datetime"), "2024-01-01T10:30:00.000Z", "timestamp with time zone",
     datetime(2024, 1, 1, 10, 30, tzinfo=timezone.utc)),
    (F("Opens__c", "time"), "10:00:00.000Z", "time without time zone", time(10, 0)),
    (F("Stage__c", "picklist", 40), "Won", "text", "Won"),
    (F("Tags__c", "multipicklist", 4099), "a;b", "text", "a;b"),
    (F("Kind__c", "combobox", 40), "Other", "text", "Other"),
    (F("Notes__c", "textarea", 32000), '"line 1\nline ""2"""', "text", 'line 1\nline "2"'),
    (F("Email__c", "email", 80), "a@example.com", "text", "a@example.com"),
    (F("Phone", "phone", 40), "+1 555 0100", "text", "+1 555 0100"),
    (F("Website", "url", 255), "https://example.com", "text", "https://example.com"),
    (F("Name", "string", 255), '""', "text", None),  # Salesforce stores no empty strings
    (F("Ssn__c", "encryptedstring", 11), "XXX-XX-1234", "text", "XXX-XX-1234"),
    (F("Value__c", "anyType"), "anything", "text", "anything"),
    (F("Blank__c", "string", 80), "", "text", None),
    (F("Body", "base64"), None, None, None),
    (F("BillingAddress", "address"), None, None, None),
    (F("Location__c", "location"), None, None, None),
    (F("BillingLatitude", "double", precision=18, scale=15, compound_field_name="BillingAddress"),
     "48.858370000000000", "numeric(18,15)", Decimal("48.858370000000000")),
]  # fmt: skip


def test_every_field_type_maps_to_a_typed_column_and_round_trips(dest, query, schema):
    loaded = [case for case in CASES if case[2] is not None]
    body = ",".join(value for _, value, _, _ in loaded) + "\n"
    page = CsvPage("Thing__c", tuple(f.name for f, *_ in loaded), body.encode(), 1, 0)

    dest.load_object(
        object_name="Thing__c", fields=[f for f, *_ in CASES], pages=[page], run_id="types"
    )

    catalog = query(
        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
        "WHERE attrelid = %s::regclass AND attnum > 0 ORDER BY attnum",
        (f'"{schema}".thing__c',),
    )
    assert catalog == [(f.name.lower(), pg_type) for f, _, pg_type, _ in loaded] + [
        ("_extracted_at", "timestamp with time zone"),
        ("_run_id", "text"),
        ("_deleted_at", "timestamp with time zone"),
    ]
    names = ", ".join(f.name.lower() for f, *_ in loaded)
    (row,) = query(f'SELECT {names} FROM "{schema}".thing__c')
    assert list(row) == [expected for *_, expected in loaded]


def test_skipped_fields_have_no_column():
    skipped = [f.name for f, *_ in CASES if column_for("Thing__c", f) is None]

    assert skipped == ["Body", "BillingAddress", "Location__c"]


def test_an_unknown_type_names_object_field_and_type():
    with pytest.raises(UnsupportedFieldError) as caught:
        column_for("Account", F("Shape__c", "geometry"))

    assert str(caught.value) == (
        "Account.Shape__c: Salesforce type 'geometry' has no PostgreSQL column type (fix: leave "
        "the field out of the extraction or teach dagplane.warehouse.postgres a mapping for it)"
    )


@pytest.mark.parametrize(
    ("old", "new", "widening"),
    [
        ("character varying(18)", "character varying(40)", True),
        ("character varying(40)", "character varying(18)", False),
        ("character varying(18)", "text", True),
        ("text", "character varying(18)", False),
        ("integer", "bigint", True),
        ("bigint", "integer", False),
        ("numeric(10,2)", "numeric(18,2)", True),
        ("numeric(10,2)", "numeric(12,4)", True),
        ("numeric(10,2)", "numeric(10,4)", False),
        ("numeric(18,2)", "numeric(10,2)", False),
        ("text", "numeric(18,2)", False),
        ("double precision", "numeric(18,2)", False),
    ],
)
def test_widening_rules(old, new, widening):
    assert is_widening(old, new) is widening
