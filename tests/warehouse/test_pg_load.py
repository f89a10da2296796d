"""Loading pages: full, incremental, reruns, deletes, and rejected pages that leave no trace."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from dagplane.connectors.pages import CsvPage
from dagplane.connectors.salesforce.fields import SalesforceField
from dagplane.errors import TerminalError
from dagplane.warehouse.postgres import PageRejectedError, PostgresLoadError

T1, T2, T3 = "2024-01-01T00:00:00.000Z", "2024-02-01T00:00:00.000Z", "2024-03-01T00:00:00.000Z"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


def accounts(query, schema: str) -> dict[str, tuple]:
    columns = "id, name, annualrevenue, systemmodstamp, _run_id, _deleted_at"
    rows = query(f'SELECT {columns} FROM "{schema}".account')
    return {row[0][-1:]: row[1:] for row in rows}


def test_full_load_copies_typed_rows_and_sets_watermark(load, account_page, query, schema, dest):
    pages = [
        account_page((1, "false", '"Acme, Inc.\nHQ"', "1500.25", "Paris", T1)),
        account_page((2, "false", "Globex", "", "", T2), page_number=1),
    ]

    result = load(*pages, run_id="manual__1")

    assert (result.rows_copied, result.rows_merged, result.rows_deleted) == (2, 2, 0)
    assert result.watermark == utc(T2) == dest.read_watermark("Account")
    assert result.table == f"{schema}.account"
    # The load's duration: a float of plausible size, and what _dagplane_loads recorded.
    [(recorded,)] = query(
        f'SELECT seconds FROM "{schema}"._dagplane_loads WHERE run_id = %s', ("manual__1",)
    )
    assert isinstance(result.seconds, float) and 0 < result.seconds < 60
    assert recorded == pytest.approx(result.seconds)
    assert accounts(query, schema) == {
        "1": ("Acme, Inc.\nHQ", Decimal("1500.25"), utc(T1), "manual__1", None),
        "2": ("Globex", None, utc(T2), "manual__1", None),
    }
    assert query(
        f'SELECT cursor_field, run_id, rows_loaded FROM "{schema}"._dagplane_watermarks'
    ) == [("SystemModstamp", "manual__1", 2)]
    assert query(f'SELECT count(*) FROM "{schema}".account WHERE _extracted_at IS NULL') == [(0,)]


def test_incremental_newer_wins_older_is_ignored_equal_is_reapplied(
    load, account_page, query, schema, dest
):
    load(account_page((1, "false", "A1", "1", "X", T2), (2, "false", "B1", "1", "X", T2)))

    result = load(
        account_page(
            (1, "false", "A-newer", "2", "X", T3),
            (2, "false", "B-older", "2", "X", T1),
            (3, "false", "C-new", "3", "X", T1),
        ),
        run_id="run-2",
    )
    assert result.rows_merged == 2
    assert result.watermark == utc(T3)

    again = load(account_page((1, "false", "A-newer", "2", "X", T3)), run_id="run-3")
    older_only = load(account_page((2, "false", "B-older", "2", "X", T1)), run_id="run-4")

    assert again.rows_merged == 1 and older_only.rows_merged == 0
    assert older_only.watermark == utc(T3) == dest.read_watermark("Account")
    rows = accounts(query, schema)
    assert rows["1"][0::3] == ("A-newer", "run-3")
    assert rows["2"][0::3] == ("B1", "run-1")
    assert rows["3"][0::3] == ("C-new", "run-2")


def test_rerunning_the_same_pages_never_duplicates(load, account_page, query, schema):
    pages = [account_page((n, "false", f"N{n}", "1", "X", T1), page_number=n) for n in range(5)]

    first = load(*pages)
    second = load(*pages, run_id="run-2")

    assert query(f'SELECT count(*), count(DISTINCT id) FROM "{schema}".account') == [(5, 5)]
    assert first.watermark == second.watermark == utc(T1)


def test_an_id_repeated_within_one_load_keeps_the_newest_row(load, account_page, query, schema):
    result = load(
        account_page((1, "false", "new", "1", "X", T2)),
        account_page((1, "false", "old", "1", "X", T1), page_number=1),
    )

    assert result.rows_copied == 2 and result.rows_merged == 1
    assert [name for name, *_ in accounts(query, schema).values()] == ["new"]


def test_soft_delete_marks_deleted_at_and_undelete_clears_it(load, account_page, query, schema):
    load(account_page((1, "false", "A", "1", "X", T1), (2, "false", "B", "1", "X", T1)))

    deleted = load(account_page((1, "true", "A", "1", "X", T2)))
    marked = accounts(query, schema)["1"][4]
    again = load(account_page((1, "true", "A", "1", "X", T2)))

    assert deleted.rows_deleted == 1 and again.rows_deleted == 1
    assert isinstance(marked, datetime)
    assert accounts(query, schema)["1"][4] == marked  # the first deletion time is kept
    assert accounts(query, schema)["2"][4] is None

    load(account_page((1, "false", "A", "1", "X", T3)))
    assert accounts(query, schema)["1"][4] is None


def test_hard_delete_removes_rows_unless_the_stored_row_is_newer(load, account_page, query, schema):
    load(account_page((1, "false", "A", "1", "X", T2), (2, "false", "B", "1", "X", T2)))

    result = load(
        account_page((1, "true", "A", "1", "X", T3), (2, "true", "B", "1", "X", T1)),
        hard_delete=True,
    )

    assert (result.rows_deleted, result.rows_merged) == (1, 0)
    assert sorted(accounts(query, schema)) == ["2"]


def test_a_short_page_rolls_back_the_whole_load(load, account_page, query, schema, dest):
    load(account_page((1, "false", "A", "1", "X", T1)))

    with pytest.raises(PageRejectedError) as caught:
        load(
            account_page((2, "false", "B", "1", "X", T3)),
            account_page((3, "false", "C", "1", "X", T3), page_number=1, expected=2),
        )

    assert str(caught.value) == (
        "Account page 1: PostgreSQL read 1 rows but the source announced 2; "
        "the load was rolled back and the watermark is unchanged"
    )
    assert isinstance(caught.value, TerminalError)
    assert sorted(accounts(query, schema)) == ["1"]
    assert dest.read_watermark("Account") == utc(T1)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("1,false,A,not-a-number,X," + T3, 'invalid input syntax for type numeric: "not-a-number"'),
        ("1,false,A,1,X," + T3 + ",extra", "extra data after last expected column"),
        ('1,false,"A,1,X,' + T3, "unterminated CSV quoted field"),
        ("1,maybe,A,1,X," + T3, 'invalid input syntax for type boolean: "maybe"'),
    ],
)
def test_a_malformed_page_names_object_and_page_and_keeps_nothing(
    load, account_page, query, schema, dest, line, message
):
    load(account_page((9, "false", "Z", "1", "X", T1)))
    columns = account_page().columns
    bad = CsvPage("Account", columns, f"00100000000000000{line}\n".encode(), 1, 3)

    with pytest.raises(PageRejectedError) as caught:
        load(account_page((2, "false", "B", "1", "X", T3)), bad)

    assert str(caught.value).startswith(f"Account page 3: not valid CSV for its columns: {message}")
    assert caught.value.page_number == 3
    assert sorted(accounts(query, schema)) == ["9"]
    assert dest.read_watermark("Account") == utc(T1)


def test_a_page_with_a_column_describe_did_not_report_is_rejected(load, dest):
    page = CsvPage("Account", ("Id", "SystemModstamp", "Secret__c"), b"", 0, 0)

    with pytest.raises(PageRejectedError, match=r"columns not reported by describe\(\): Secret__c"):
        load(page)
    assert dest.read_watermark("Account") is None


def test_no_pages_creates_the_table_and_keeps_the_watermark(load, account_page, query, schema):
    load(account_page((1, "false", "A", "1", "X", T2)))

    result = load()

    assert (result.rows_copied, result.rows_merged, result.watermark) == (0, 0, utc(T2))
    assert query(f'SELECT run_id, rows_loaded FROM "{schema}"._dagplane_watermarks') == [
        ("run-1", 0)
    ]


def test_the_cursor_field_must_be_a_date_or_datetime(load, account_page):
    with pytest.raises(PostgresLoadError, match=r"Account\.Name: the cursor field must be a date"):
        load(account_page((1, "false", "A", "1", "X", T1)), cursor_field="Name")


def test_every_committed_load_is_recorded_in_the_load_history(postgres_url) -> None:
    from dagplane.warehouse.postgres import PostgresDestination
    from dagplane.warehouse.postgres._loader import LOADS_TABLE

    dest = PostgresDestination(postgres_url, schema="history_test")
    fields = [
        SalesforceField(name="Id", type="id", length=18, nillable=False),
        SalesforceField(name="SystemModstamp", type="datetime"),
        SalesforceField(name="Name", type="string", length=80),
    ]
    page = CsvPage(
        object_name="Account",
        columns=("Id", "SystemModstamp", "Name"),
        body=b"001000000000001AAA,2024-01-01T00:00:00.000Z,Acme\n",
        expected_rows=1,
    )
    result = dest.load_object(object_name="Account", fields=fields, pages=[page], run_id="run-1")
    with dest.connect() as conn:
        rows = conn.execute(
            f"SELECT run_id, object_name, rows_copied, rows_merged, seconds, schema_changes "
            f'FROM history_test."{LOADS_TABLE}"'
        ).fetchall()
    assert len(rows) == 1
    run_id, name, copied, merged, seconds, changes = rows[0]
    assert (run_id, name, copied, merged) == ("run-1", "Account", 1, 1)
    assert seconds == pytest.approx(result.seconds)
    assert changes and changes[0].startswith("history_test.account: create table")


def test_hard_delete_keeps_a_row_deleted_on_one_page_from_coming_back_from_a_later_one(
    load, account_page, query, schema
):
    load(account_page((1, "false", "A", "1", "X", T1)))

    load(
        account_page((1, "true", "A", "1", "X", T3)),  # deleted, newest
        account_page((1, "false", "A-old", "1", "X", T2), page_number=1),  # an older copy
        hard_delete=True,
        run_id="run-2",
    )

    assert query(f'SELECT id FROM "{schema}".account') == []


def test_a_caller_transaction_that_is_not_read_committed_is_refused(
    postgres_url, schema, account_page
):
    import psycopg

    from dagplane.warehouse.postgres import load_object

    fields = [
        SalesforceField("Id", "id", length=18, nillable=False),
        SalesforceField("IsDeleted", "boolean"),
        SalesforceField("Name", "string", length=80),
        SalesforceField("AnnualRevenue", "currency", precision=18, scale=2),
        SalesforceField("BillingCity", "string", length=40),
        SalesforceField("SystemModstamp", "datetime"),
    ]
    with psycopg.connect(postgres_url) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        with conn.transaction(), pytest.raises(PostgresLoadError) as caught:
            load_object(
                conn,
                schema=schema,
                object_name="Account",
                fields=fields,
                pages=[account_page((1, "false", "A", "1", "X", T1))],
                run_id="rr",
            )
    assert "runs in a repeatable read transaction" in str(caught.value)
    assert "fix: load on a connection of its own" in str(caught.value)
