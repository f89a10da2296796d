"""SOQL parsing, name checks and evaluation, run directly against the record store."""

from __future__ import annotations

import pytest

from dagplane.emulators.salesforce.catalog import build_objects
from dagplane.emulators.salesforce.data import Store
from dagplane.emulators.salesforce.errors import ApiError
from dagplane.emulators.salesforce.fields import format_datetime, parse_datetime
from dagplane.emulators.salesforce.ids import IdCodec, checksum
from dagplane.emulators.salesforce.query import Plan, build_plan, json_records
from dagplane.emulators.salesforce.schema import split_records
from dagplane.emulators.salesforce.soql import BoolOp, Compare, InList, Not, parse


@pytest.fixture(scope="module")
def store() -> Store:
    return Store(build_objects(5, split_records(10_000, {"Account": 3_000})))


def rows(store: Store, soql: str, include_deleted: bool = False) -> list[dict]:
    plan = build_plan(store, soql, include_deleted)
    out, cursor = [], plan.start
    while cursor is not None:
        segments, cursor = plan.page(cursor, 700)
        out += json_records(plan, segments, "59.0")
    assert len(out) == plan.total
    return out


def error_of(store: Store, soql: str) -> ApiError:
    with pytest.raises(ApiError) as caught:
        build_plan(store, soql, False)
    return caught.value


def test_parse_builds_a_tree_with_every_operator() -> None:
    query = parse(
        "select Id, Name from Account where (Name = 'O\\'Brien' or Industry not in ('A', 'B'))"
        " and not IsDeleted = true and AnnualRevenue >= 10.5 and CreatedDate < 2024-01-01"
        " order by Name desc nulls last limit 5"
    )
    assert [name for name, _ in query.fields] == ["Id", "Name"]
    assert query.sobject == "Account" and query.limit == 5
    assert query.order_by[0].descending and query.order_by[0].nulls_last
    where = query.where
    assert isinstance(where, BoolOp) and where.op == "and"
    first, negated, revenue, created = where.items
    assert isinstance(first, BoolOp) and first.op == "or"
    assert first.items[0] == Compare("Name", "=", first.items[0].value, first.items[0].pos)
    assert first.items[0].value.value == "O'Brien"
    assert isinstance(first.items[1], InList) and first.items[1].negated
    assert isinstance(negated, Not)
    assert isinstance(revenue, Compare) and revenue.value.value == 10.5
    assert isinstance(created, Compare) and created.value.kind == "date"


def test_datetime_literals_in_both_salesforce_formats() -> None:
    plain = parse("SELECT Id FROM Account WHERE SystemModstamp > 2024-01-01T00:00:00Z").where
    long = parse("SELECT Id FROM Account WHERE SystemModstamp > 2024-01-01T00:00:00.000+0000")
    assert isinstance(plain, Compare) and isinstance(long.where, Compare)
    assert plain.value.value == long.where.value.value == parse_datetime("2024-01-01T00:00:00Z")
    assert format_datetime(plain.value.value) == "2024-01-01T00:00:00.000Z"


@pytest.mark.parametrize(
    ("soql", "expected"),
    [
        ("SELECT Id FROM Account WHERE", "unexpected token: '<EOF>'"),
        ("SELECT Id Account", "unexpected token: 'Account'"),
        ("SELECT FROM Account", "unexpected token: 'FROM'"),
        ("SELECT Id FROM Account LIMIT x", "unexpected token: 'x'"),
        ("SELECT Id FROM Account WHERE Name = 'open", "unexpected token: '''"),
        ("SELECT Id FROM Account WHERE Name IN 'a'", "unexpected token: ''a''"),
    ],
)
def test_bad_syntax_is_malformed_query(store: Store, soql: str, expected: str) -> None:
    error = error_of(store, soql)
    assert (error.status, error.code) == (400, "MALFORMED_QUERY")
    assert expected in error.message
    assert "ERROR at Row:1:Column:" in error.message


def test_unknown_field_is_invalid_field_naming_it_like_salesforce(store: Store) -> None:
    error = error_of(store, "SELECT Id, Regin__c FROM Account")
    assert (error.status, error.code) == (400, "INVALID_FIELD")
    assert "No such column 'Regin__c' on entity 'Account'" in error.message
    assert error.message.startswith("\nSELECT Id, Regin__c FROM Account\n           ^\n")
    assert "ERROR at Row:1:Column:12" in error.message
    where = error_of(store, "SELECT Id FROM Account WHERE Nope = 1")
    assert where.code == "INVALID_FIELD" and "'Nope'" in where.message


def test_unknown_object_is_invalid_type(store: Store) -> None:
    error = error_of(store, "SELECT Id FROM Acount")
    assert error.code == "INVALID_TYPE"
    assert "sObject type 'Acount' is not supported" in error.message


def test_literal_of_the_wrong_type_is_refused(store: Store) -> None:
    error = error_of(store, "SELECT Id FROM Account WHERE CreatedDate > '2024-01-01'")
    assert error.code == "INVALID_FIELD" and "should not be enclosed in quotes" in error.message
    duplicate = error_of(store, "SELECT Id, id FROM Account")
    assert (
        duplicate.code == "MALFORMED_QUERY" and "duplicate field selected: Id" in duplicate.message
    )


def test_names_are_case_insensitive_and_results_use_real_names(store: Store) -> None:
    [record] = rows(store, "select id, NAME from ACCOUNT limit 1")
    assert set(record) == {"attributes", "Id", "Name"}


def test_where_operators_match_a_python_filter(store: Store) -> None:
    every = rows(store, "SELECT Id, Industry, NumberOfEmployees, Rating FROM Account")
    assert len(every) == 3_000

    def ids(predicate) -> list[str]:
        return [r["Id"] for r in every if predicate(r)]

    cases = {
        "Industry = 'Banking'": lambda r: r["Industry"] == "Banking",
        "Industry != 'Banking'": lambda r: r["Industry"] != "Banking",
        "Industry IN ('Banking', 'Media')": lambda r: r["Industry"] in ("Banking", "Media"),
        "Industry NOT IN ('Banking')": lambda r: r["Industry"] != "Banking",
        "Industry = null": lambda r: r["Industry"] is None,
        "NumberOfEmployees > 100000": lambda r: (r["NumberOfEmployees"] or 0) > 100000,
        "NumberOfEmployees <= 5000 AND Rating = 'Hot'": lambda r: (
            r["NumberOfEmployees"] is not None
            and r["NumberOfEmployees"] <= 5000
            and r["Rating"] == "Hot"
        ),
        "(Rating = 'Hot' OR Rating = 'Cold') AND NOT Industry = 'Media'": lambda r: (
            r["Rating"] in ("Hot", "Cold") and r["Industry"] != "Media"
        ),
    }
    for condition, predicate in cases.items():
        got = [r["Id"] for r in rows(store, f"SELECT Id FROM Account WHERE {condition}")]
        assert got == ids(predicate), condition
        assert 0 < len(got) < len(every), condition


def test_boolean_date_and_datetime_filters(store: Store) -> None:
    won = rows(store, "SELECT Id, IsWon FROM Opportunity WHERE IsWon = TRUE")
    assert won and all(r["IsWon"] is True for r in won)
    late = rows(store, "SELECT CloseDate FROM Opportunity WHERE CloseDate >= 2025-12-01")
    assert late and all(r["CloseDate"] >= "2025-12-01" for r in late)
    created = rows(store, "SELECT CreatedDate FROM Lead WHERE CreatedDate < 2024-02-01T00:00:00Z")
    assert created and all(r["CreatedDate"] < "2024-02-01T" for r in created)


def test_stamp_window_jumps_to_the_first_matching_record(store: Store) -> None:
    soql = (
        "SELECT Id, SystemModstamp FROM Account WHERE SystemModstamp >= 2025-01-01T00:00:00Z"
        " AND SystemModstamp < 2025-02-01T00:00:00Z"
    )
    plan = build_plan(store, soql, False)
    assert isinstance(plan, Plan) and plan.residual is None
    assert 0 < plan.lo < plan.hi < 3_000
    got = rows(store, soql)
    assert len(got) == plan.hi - plan.lo
    assert all("2025-01-01" <= r["SystemModstamp"] < "2025-02-01" for r in got)
    stamps = [r["SystemModstamp"] for r in rows(store, "SELECT SystemModstamp FROM Account")]
    assert stamps == sorted(stamps)
    assert sum("2025-01-01" <= s < "2025-02-01" for s in stamps) == len(got)


def test_order_by_desc_and_limit(store: Store) -> None:
    got = rows(store, "SELECT Name FROM Account ORDER BY Name DESC LIMIT 50")
    names = [r["Name"] for r in got]
    assert len(names) == 50 and names == sorted(names, reverse=True)
    stamps = rows(store, "SELECT SystemModstamp FROM Case ORDER BY SystemModstamp DESC LIMIT 3")
    assert stamps[0]["SystemModstamp"] > stamps[2]["SystemModstamp"]
    nulls = rows(store, "SELECT Industry FROM Account ORDER BY Industry NULLS LAST")
    assert nulls[0]["Industry"] is not None and nulls[-1]["Industry"] is None


def test_ids_have_key_prefixes_and_a_valid_checksum(store: Store) -> None:
    for name, prefix in {"Account": "001", "Contact": "003", "Lead": "00Q", "Case": "500"}.items():
        [record] = rows(store, f"SELECT Id FROM {name} LIMIT 1")
        record_id = record["Id"]
        assert len(record_id) == 18 and record_id.startswith(prefix)
        assert record_id[15:] == checksum(record_id[:15])
    codec = IdCodec("001")
    assert codec.parse(codec.make(123_456)) == 123_456
    assert codec.make_many(range(46_650, 46_660)) == [codec.make(i) for i in range(46_650, 46_660)]
    assert checksum("001A0000006Vm9r") == "IAC"


@pytest.mark.parametrize(
    ("soql", "message"),
    [
        (
            "SELECT Id FROM Account WHERE CreatedDate > '2024-01-01T00:00:00Z'",
            "value of filter criterion for field 'CreatedDate' must be of type dateTime and"
            " should not be enclosed in quotes",
        ),
        (
            "SELECT Id FROM Account WHERE CreatedDate > 2024-01-01",
            "value of filter criterion for field 'CreatedDate' must be of type dateTime",
        ),
        (
            "SELECT Id FROM Account WHERE Name = Acme",
            "value of filter criterion for field 'Name' must be of type string and should be"
            " enclosed in quotes",
        ),
        (
            "SELECT Id FROM Account WHERE NumberOfEmployees = '5'",
            "value of filter criterion for field 'NumberOfEmployees' must be of type integer and"
            " should not be enclosed in quotes",
        ),
        (
            "SELECT Id FROM Account WHERE IsDeleted = 'true'",
            "value of filter criterion for field 'IsDeleted' must be of type boolean and should"
            " not be enclosed in quotes",
        ),
    ],
)
def test_literals_of_the_wrong_kind_are_invalid_field(
    store: Store, soql: str, message: str
) -> None:
    error = error_of(store, soql)
    assert (error.status, error.code) == (400, "INVALID_FIELD")
    assert error.message.endswith("\n" + message)
    assert error.message.startswith(f"\n{soql}\n")


def test_datetime_literals_need_a_zone_and_stay_unquoted(store: Store) -> None:
    for literal in (
        "2025-01-01T00:00:00Z",
        "2025-01-01T01:00:00+01:00",
        "2025-01-01T01:00:00+0100",
    ):
        plan = build_plan(store, f"SELECT Id FROM Account WHERE SystemModstamp >= {literal}", False)
        assert (
            plan.lo
            == build_plan(
                store,
                "SELECT Id FROM Account WHERE SystemModstamp >= 2025-01-01T00:00:00.000Z",
                False,
            ).lo
        )
    error = error_of(store, "SELECT Id FROM Account WHERE SystemModstamp >= 2025-01-01T00:00:00")
    assert error.code == "MALFORMED_QUERY"
    error = error_of(store, "SELECT Id FROM Account WHERE CloseDate = TODAY")
    assert error.code == "INVALID_FIELD"  # Account has no CloseDate
    error = error_of(store, "SELECT Id FROM Opportunity WHERE CloseDate = someday")
    assert (error.code, error.message.splitlines()[-1]) == (
        "MALFORMED_QUERY",
        "unexpected token: 'someday'",
    )


def test_string_escapes_follow_the_soql_reference() -> None:
    query = parse(
        r"SELECT Id FROM Account WHERE Name IN ('a\'b', 'c\\d', 'e\nf', 'g\Th', 'i\"j', '\u00e9')"
    )
    assert isinstance(query.where, InList)
    assert [v.value for v in query.where.values] == ["a'b", "c\\d", "e\nf", "g\th", 'i"j', "é"]
    assert [v.kind for v in query.where.values] == ["string"] * 6
    with pytest.raises(ApiError) as caught:
        parse(r"SELECT Id FROM Account WHERE Name = 'bad\q'")
    assert caught.value.code == "MALFORMED_QUERY"
    assert caught.value.message.endswith(r"Invalid string literal 'bad\q': illegal escape '\q'")


def test_true_false_and_null_are_unquoted_keywords(store: Store) -> None:
    won = rows(store, "SELECT Id FROM Opportunity WHERE IsWon = true")
    lost = rows(store, "SELECT Id FROM Opportunity WHERE IsWon = FALSE")
    assert len(won) + len(lost) == store.record_count("Opportunity")
    nulls = rows(store, "SELECT Id FROM Account WHERE Industry = NULL")
    assert 0 < len(nulls) < store.record_count("Account")


def test_count_is_the_number_of_matching_rows_without_records(store: Store) -> None:
    # SOQL and SOSL Reference, "COUNT() and COUNT(fieldName)".
    every = rows(store, "SELECT Id, Industry FROM Account")
    plan = build_plan(store, "SELECT COUNT() FROM Account", False)
    assert plan.count_only and plan.total == len(every) == 3_000
    banks = sum(1 for r in every if r["Industry"] == "Banking")
    where = "SELECT count() FROM Account WHERE Industry = 'Banking'"
    assert 0 < build_plan(store, where, False).total == banks
    assert build_plan(store, where + " LIMIT 7", False).total == 7
    known = sum(1 for r in every if r["Industry"] is not None)
    plan = build_plan(store, "SELECT COUNT(Id), COUNT(Industry) known FROM Account", False)
    assert plan.total == 1 and not plan.count_only
    assert plan.aggregate == [
        {"attributes": {"type": "AggregateResult"}, "expr0": 3_000, "known": known}
    ]


@pytest.mark.parametrize(
    ("soql", "message"),
    [
        ("SELECT Id, COUNT() FROM Account", "COUNT() must be the only element"),
        ("SELECT COUNT(), COUNT(Id) FROM Account", "COUNT() must be the only element"),
        ("SELECT COUNT() FROM Account ORDER BY Name", "COUNT() can not be used with ORDER BY"),
        ("SELECT Name, COUNT(Id) FROM Account", "Field must be grouped or aggregated: Name"),
        ("SELECT COUNT(Id) FROM Account ORDER BY Name", "Ordered field must be grouped"),
        ("SELECT COUNT( FROM Account", "unexpected token: 'FROM'"),
    ],
)
def test_count_misuse_is_malformed_query(store: Store, soql: str, message: str) -> None:
    error = error_of(store, soql)
    assert (error.status, error.code) == (400, "MALFORMED_QUERY")
    assert message in error.message
