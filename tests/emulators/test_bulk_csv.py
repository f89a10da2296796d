"""Bulk API 2.0 results as Salesforce writes them: quoting, numbers, line endings, gzip."""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator

import pytest
from simple_salesforce import Salesforce

from dagplane.emulators.salesforce import EmulatorUsageError, SalesforceEmulator
from dagplane.emulators.salesforce.formats import java_double

FIELDS = (
    "Id,IsDeleted,Name,Type,BillingStreet,BillingCity,BillingState,BillingPostalCode,"
    "BillingCountry,BillingLatitude,BillingLongitude,Phone,Email,Website,Industry,AnnualRevenue,"
    "NumberOfEmployees,Rating,Description,Headquarters__Latitude__s,Headquarters__Longitude__s,"
    "OwnerId,CreatedDate,CreatedById,LastModifiedDate,LastModifiedById,SystemModstamp"
)
HEADER = ",".join(f'"{name}"' for name in FIELDS.split(","))
ROW_0 = (
    '"001Dn0000000000IAA","false","Ember Energy","Customer - Direct","610 Granite St","Porto",'
    '"CA","11415","Canada","","-88.127242","(428) 231-9852","ava.adams0@example.com",'
    '"https://www.harbortextiles.example.com","","4.898891469E9","121872.0","",'
    '"Falcon iris kestrel iris juniper","-77.466796","-79.481019","005Dn000000000pIAA",'
    '"2023-11-16T03:27:53.000Z","005Dn000000000lIAA","2024-01-02T00:00:00.000Z",'
    '"005Dn000000000nIAA","2024-01-02T00:00:00.000Z"'
)
ROW_1 = (
    '"001Dn0000000001IAA","false","Lumen Logistics","Prospect","493 Ember St","Osaka","NY",'
    '"48276","Spain","-67.845345","-163.697421","(206) 584-6548","farid.jensen1@example.org",'
    '"https://www.emberfoods.example.com","Energy","3.119282166E9","41673.0","Cold",'
    '"Alpine delta harbor harbor granite","","147.078752","005Dn000000000cIAA",'
    '"2023-11-16T20:59:05.000Z","005Dn000000000kIAA","2024-01-02T17:31:12.000Z",'
    '"005Dn000000000mIAA","2024-01-02T17:31:12.000Z"'
)
MINIMAL_ROW_0 = (
    "001Dn0000000000IAA,false,Ember Energy,Customer - Direct,610 Granite St,Porto,CA,11415,"
    "Canada,,-88.127242,(428) 231-9852,ava.adams0@example.com,"
    "https://www.harbortextiles.example.com,,4898891469,121872,,Falcon iris kestrel iris juniper,"
    "-77.466796,-79.481019,005Dn000000000pIAA,2023-11-16T03:27:53.000Z,005Dn000000000lIAA,"
    "2024-01-02T00:00:00.000Z,005Dn000000000nIAA,2024-01-02T00:00:00.000Z"
)


@pytest.fixture(scope="module")
def accounts() -> Iterator[SalesforceEmulator]:
    """1,000 Accounts seeded with 0: the rows above are its first two."""
    with SalesforceEmulator(records=1_000, seed=0, records_per_object={"Account": 1_000}) as emu:
        yield emu


@pytest.fixture
def sf(accounts: SalesforceEmulator, make_client) -> Salesforce:
    return make_client(accounts)


def job_results(sf: Salesforce, soql: str, **job: str):
    """Create a Bulk job, wait for it and GET its first results page (raw, streamed)."""
    client = sf.bulk2.Account._client
    created = client.create_job("query", soql, **job)
    client.wait_for_job(created["id"], True, 0)
    url = f"{sf.base_url}jobs/query/{created['id']}/results"
    return sf.session.get(url, params={"maxRecords": 2}, headers=sf.headers, stream=True)


def test_page_is_quoted_as_salesforce_writes_it(sf: Salesforce) -> None:
    [page] = sf.bulk2.Account.query(f"SELECT {FIELDS} FROM Account LIMIT 2", wait=0)
    assert page == f"{HEADER}\n{ROW_0}\n{ROW_1}\n"
    rows = list(csv.DictReader(io.StringIO(page)))
    assert rows[0]["BillingLatitude"] == "" and rows[0]["NumberOfEmployees"] == "121872.0"
    assert rows[1]["AnnualRevenue"] == "3.119282166E9" and float(rows[1]["AnnualRevenue"])


def test_embedded_quotes_and_line_breaks_stay_inside_one_cell(
    accounts: SalesforceEmulator, sf: Salesforce
) -> None:
    account = accounts.store.objects["Account"]
    description = account.fields["Description"].gen
    wanted = {'Said "call me", then left': '"Said ""call me"", then left"'}
    wanted["Line one\nline two"] = '"Line one\nline two"'
    first = {text: next(i for i in range(1_000) if description.value(i) == text) for text in wanted}
    ids = ", ".join(f"'{account.codec.make(i)}'" for i in first.values())
    [page] = sf.bulk2.Account.query(f"SELECT Description FROM Account WHERE Id IN ({ids})", wait=0)
    cells = [wanted[text] for text in sorted(first, key=first.__getitem__)]
    assert page == '"Description"\n' + "\n".join(cells) + "\n"


def test_crlf_and_other_delimiters_quote_every_cell(sf: Salesforce) -> None:
    [page] = sf.bulk2.Account.query(
        "SELECT Id, NumberOfEmployees, IsDeleted FROM Account LIMIT 2",
        column_delimiter="SEMICOLON",
        line_ending="CRLF",
        wait=0,
    )
    assert page == (
        '"Id";"NumberOfEmployees";"IsDeleted"\r\n'
        '"001Dn0000000000IAA";"121872.0";"false"\r\n'
        '"001Dn0000000001IAA";"41673.0";"false"\r\n'
    )


def test_changed_records_are_written_the_same_way(emu: SalesforceEmulator, make_client) -> None:
    changes = {"Name": 'Bob "The" Builder', "NumberOfEmployees": 12, "Industry": None}
    [changed] = emu.update("Account", count=1, fields=changes)
    [page] = make_client(emu).bulk2.Account.query(
        f"SELECT Id, Name, NumberOfEmployees, Industry FROM Account WHERE Id = '{changed}'",
        wait=0,
    )
    assert page == (
        f'"Id","Name","NumberOfEmployees","Industry"\n"{changed}","Bob ""The"" Builder","12.0",""\n'
    )


def test_minimal_dialect_is_an_explicit_option(make_client) -> None:
    with SalesforceEmulator(
        records=1_000, seed=0, records_per_object={"Account": 1_000}, csv_dialect="minimal"
    ) as emu:
        [page] = make_client(emu).bulk2.Account.query(
            f"SELECT {FIELDS} FROM Account LIMIT 1", wait=0
        )
    assert page == f"{FIELDS}\n{MINIMAL_ROW_0}\n"
    with pytest.raises(EmulatorUsageError, match="unknown csv_dialect"):
        SalesforceEmulator(records=10, csv_dialect="excel")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (23, "23.0"),
        (100.0, "100.0"),
        (10, "10.0"),
        (0, "0.0"),
        (-5.25, "-5.25"),
        (1234567.0, "1234567.0"),
        (12345678, "1.2345678E7"),
        (1_234_500_000, "1.2345E9"),
        (1e7, "1.0E7"),
        (0.001, "0.001"),
        (0.0001, "1.0E-4"),
        (-0.00012345, "-1.2345E-4"),
        (1e21, "1.0E21"),
    ],
)
def test_java_double(value: float, text: str) -> None:
    assert java_double(value) == text


def test_results_are_gzipped_when_the_client_accepts_it(sf: Salesforce) -> None:
    answer = job_results(sf, "SELECT Id, NumberOfEmployees FROM Account")
    assert sf.session.headers["Accept-Encoding"].startswith("gzip")  # requests' default
    assert answer.headers["Content-Encoding"] == "gzip"
    assert answer.headers["Content-Type"] == "text/csv; charset=UTF-8"
    raw = answer.raw.read(decode_content=False)
    assert int(answer.headers["Content-Length"]) == len(raw)
    assert gzip.decompress(raw) == (
        b'"Id","NumberOfEmployees"\n"001Dn0000000000IAA","121872.0"\n'
        b'"001Dn0000000001IAA","41673.0"\n'
    )
    plain = sf.session.get(
        answer.url, headers={**sf.headers, "Accept-Encoding": "identity"}, stream=True
    )
    assert "Content-Encoding" not in plain.headers
    assert plain.raw.read(decode_content=False) == gzip.decompress(raw)
    deflate_only = sf.session.get(answer.url, headers={**sf.headers, "Accept-Encoding": "deflate"})
    assert "Content-Encoding" not in deflate_only.headers


def test_later_pages_are_gzipped_ahead_and_decompress_to_the_same_rows(sf: Salesforce) -> None:
    soql = "SELECT Id, Name, AnnualRevenue FROM Account"
    gzipped = list(sf.bulk2.Account.query(soql, max_records=300, wait=0))
    sf.session.headers["Accept-Encoding"] = "identity"
    try:
        plain = list(sf.bulk2.Account.query(soql, max_records=300, wait=0))
    finally:
        sf.session.headers["Accept-Encoding"] = "gzip, deflate"
    assert gzipped == plain and len(plain) == 4
    assert sum(page.count("\n") - 1 for page in plain) == 1_000
