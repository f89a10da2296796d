"""Pages shaped like real Bulk API 2.0 results load with no row lost.

Real results quote every value, write a null as ``""``, write numbers with a decimal part even
in int fields (``"12.0"``) and large ones in E notation (``"1.2E3"``), may hold NUL bytes in text
and may end lines with CRLF. Each test loads such a page into real PostgreSQL and reads the
values back.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from dagplane.connectors.pages import CsvPage
from dagplane.connectors.salesforce.fields import SalesforceField as F
from dagplane.errors import TerminalError
from dagplane.warehouse.postgres import InvalidValueError

FIELDS = [
    F("Id", "id", 18, nillable=False),
    F("IsDeleted", "boolean", nillable=False),
    F("Name", "string", 255),
    F("NumberOfEmployees", "int", digits=8),
    F("Shares__c", "int", digits=18),
    F("AnnualRevenue", "currency", precision=18, scale=0),
    F("Probability", "percent", precision=3, scale=0),
    F("Score__c", "double"),
    F("Active__c", "boolean"),
    F("CloseDate", "date"),
    F("SystemModstamp", "datetime", nillable=False),
]
COLUMNS = tuple(f.name for f in FIELDS)
SELECT = "id, name, numberofemployees, shares__c, annualrevenue, probability, score__c, active__c"
STAMP = "2024-05-01T10:00:00.000Z"


def quoted(*cells: str) -> str:
    """One row the way Bulk API 2.0 writes it: every value double-quoted."""
    return ",".join('"' + cell.replace('"', '""') + '"' for cell in cells)


def row(n: int, name: str, employees: str, shares: str = "", revenue: str = "") -> str:
    """An Account row; the other columns hold fixed, Bulk-shaped values."""
    record_id = f"001{n:015d}"
    return quoted(record_id, "false", name, employees, shares, revenue, "10.0", "", "", "", STAMP)


def page(*lines: str, newline: str = "\n") -> CsvPage:
    body = "".join(line + newline for line in lines).encode()
    return CsvPage("Account", COLUMNS, body, len(lines), 0)


@pytest.fixture
def load(dest):
    def run(*pages: CsvPage, run_id: str = "run-1"):
        return dest.load_object(object_name="Account", fields=FIELDS, pages=pages, run_id=run_id)

    return run


def rows(query, schema: str) -> dict[str, tuple]:
    found = query(f'SELECT {SELECT} FROM "{schema}".account ORDER BY id')
    return {r[0][-1:]: r[1:] for r in found}


def test_an_all_quoted_page_with_quoted_empty_nulls_in_every_type_loads_nulls(load, query, schema):
    # "" in text, int, bigint, currency, double, boolean and date columns: all NULL.
    line = quoted("001000000000000001", "false", "", "", "", "", "", "", "", "", STAMP)

    result = load(page(line))

    assert result.rows_copied == 1
    (found,) = query(
        f"SELECT name, numberofemployees, shares__c, annualrevenue, probability, score__c, "
        f'active__c, closedate, isdeleted FROM "{schema}".account'
    )
    assert found == (None, None, None, None, None, None, None, None, False)


def test_integral_decimals_and_e_notation_in_int_fields_become_integers(load, query, schema):
    load(
        page(
            row(1, "Acme", "12.0", "9.0E9", "5.0E9"),
            row(2, "Globex", "1.2E3", "1.5E1", "100.0"),
            row(3, "Initech", "-7.00", "0", "1.23456789E8"),
        )
    )

    assert rows(query, schema) == {
        "1": ("Acme", 12, 9_000_000_000, Decimal("5000000000"), Decimal("10"), None, None),
        "2": ("Globex", 1200, 15, Decimal("100"), Decimal("10"), None, None),
        "3": ("Initech", -7, 0, Decimal("123456789"), Decimal("10"), None, None),
    }
    types = query(
        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = "
        "%s::regclass AND attname IN ('numberofemployees', 'shares__c') ORDER BY attname",
        (f'"{schema}".account',),
    )
    assert types == [("numberofemployees", "integer"), ("shares__c", "bigint")]


def test_e_notation_and_fractions_load_into_double_and_numeric_columns(dest, query, schema):
    fields = [F("Id", "id", 18), F("Score__c", "double"), F("SystemModstamp", "datetime")]
    body = (quoted("001000000000000001", "1.6147805824397E13", STAMP) + "\n").encode()

    dest.load_object(
        object_name="Account",
        fields=fields,
        pages=[CsvPage("Account", ("Id", "Score__c", "SystemModstamp"), body, 1)],
        run_id="r",
    )

    assert query(f'SELECT score__c FROM "{schema}".account') == [(16147805824397.0,)]


def test_a_fraction_in_an_int_field_names_object_field_and_record_and_loads_nothing(
    load, query, schema, dest
):
    load(page(row(1, "Before", "1.0")))

    with pytest.raises(InvalidValueError) as caught:
        load(page(row(1, "After", "2.0"), row(2, "Bad", "12.5")), run_id="run-2")

    error = caught.value
    assert isinstance(error, TerminalError)
    assert (error.object_name, error.field, error.record_id) == (
        "Account",
        "NumberOfEmployees",
        "001000000000000002",
    )
    assert str(error).startswith(
        "Account.NumberOfEmployees: record 001000000000000002 holds 12.5, which is not a whole "
        "number within the range of its integer column"
    )
    assert "watermark is unchanged" in str(error)
    assert rows(query, schema) == {"1": ("Before", 1, None, None, Decimal("10"), None, None)}
    assert query(f'SELECT run_id FROM "{schema}"._dagplane_watermarks') == [("run-1",)]


def test_a_value_beyond_the_int_column_range_is_the_same_clear_error(load):
    with pytest.raises(InvalidValueError, match=r"record 001000000000000001 holds 3000000000,"):
        load(page(row(1, "Huge", "3.0E9")))


def test_nul_bytes_are_removed_counted_in_the_load_record_and_logged(load, query, schema, caplog):
    caplog.set_level(logging.WARNING, logger="dagplane.warehouse.postgres")
    lines = [row(1, "Ac\x00me", "1.0"), row(2, "\x00Glo\x00bex\x00", "2.0")]

    result = load(page(*lines))

    assert result.nul_bytes_removed == 4
    assert [name for name, *_ in rows(query, schema).values()] == ["Acme", "Globex"]
    assert query(f'SELECT nul_bytes_removed FROM "{schema}"._dagplane_loads') == [(4,)]
    assert "Account page 0: removed 4 NUL byte(s)" in caplog.text


def test_a_page_without_nul_bytes_records_zero(load, query, schema):
    assert load(page(row(1, "Acme", "1.0"))).nul_bytes_removed == 0
    assert query(f'SELECT nul_bytes_removed FROM "{schema}"._dagplane_loads') == [(0,)]


def test_crlf_line_endings_load_and_keep_line_breaks_inside_values(load, query, schema):
    lines = [row(1, "Two\r\nlines", "3.0"), row(2, "Plain", "4.0")]

    load(page(*lines, newline="\r\n"))

    found = rows(query, schema)
    assert [(v[0], v[1]) for v in found.values()] == [("Two\r\nlines", 3), ("Plain", 4)]


def test_booleans_dates_and_z_datetimes_as_bulk_writes_them(load, query, schema):
    line = quoted(
        "001000000000000001", "true", "Gone", "1.0", "", "", "", "", "false", "2024-02-29",
        "2024-05-01T10:00:00.000Z",
    )  # fmt: skip

    load(page(line))

    assert query(
        f"SELECT isdeleted, active__c, closedate, systemmodstamp, _deleted_at IS NOT NULL "
        f'FROM "{schema}".account'
    ) == [(True, False, date(2024, 2, 29), datetime(2024, 5, 1, 10, tzinfo=timezone.utc), True)]


def test_a_page_that_keeps_its_header_line_skips_it(load, query, schema):
    header = ",".join(f'"{name}"' for name in COLUMNS)
    body = f"{header}\n{row(1, 'Acme', '5.0')}\n{row(2, 'Globex', '6.0')}\n".encode()

    result = load(CsvPage("Account", COLUMNS, body, 2, 0, header=True))

    assert result.rows_copied == 2
    assert [(v[0], v[1]) for v in rows(query, schema).values()] == [("Acme", 5), ("Globex", 6)]
