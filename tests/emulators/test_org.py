"""REST as Salesforce writes it: number types, describe facets, versions, limits, gzip."""

from __future__ import annotations

import gzip
import json
import re

import pytest
from simple_salesforce import Salesforce

from dagplane.emulators.salesforce import SalesforceEmulator


@pytest.fixture
def shared_sf(shared_emu: SalesforceEmulator, make_client) -> Salesforce:
    return make_client(shared_emu)


def test_numbers_keep_their_json_types(shared_sf: Salesforce) -> None:
    records = shared_sf.query_all(
        "SELECT AnnualRevenue, NumberOfEmployees, BillingLatitude FROM Account"
    )["records"]
    revenue = [r["AnnualRevenue"] for r in records if r["AnnualRevenue"] is not None]
    employees = [r["NumberOfEmployees"] for r in records if r["NumberOfEmployees"] is not None]
    assert revenue and all(type(v) is float for v in revenue)  # currency: 4898891469.0
    assert employees and all(type(v) is int for v in employees)  # int: 121872
    opportunities = shared_sf.query_all(
        "SELECT Amount, Probability, TotalOpportunityQuantity FROM Opportunity"
    )["records"]
    for name in ("Amount", "Probability", "TotalOpportunityQuantity"):
        values = [r[name] for r in opportunities if r[name] is not None]
        assert values and all(type(v) is float for v in values), name


def test_raw_json_writes_a_fraction_for_doubles_and_none_for_ints(shared_sf: Salesforce) -> None:
    def raw(soql: str) -> str:
        url = f"{shared_sf.base_url}query"
        return shared_sf.session.get(url, params={"q": soql}, headers=shared_sf.headers).text

    text = raw(
        "SELECT Probability, Amount FROM Opportunity"
        " WHERE Probability != null AND Amount != null LIMIT 5"
    )
    assert len(re.findall(r'"Probability": \d+\.\d+[,}]', text)) == 5
    assert len(re.findall(r'"Amount": \d+\.\d+(?:e\+\d+)?[,}]', text)) == 5
    text = raw("SELECT NumberOfEmployees FROM Lead WHERE NumberOfEmployees != null LIMIT 5")
    assert len(re.findall(r'"NumberOfEmployees": \d+}', text)) == 5


def test_describe_facets(shared_sf: Salesforce) -> None:
    account = {f["name"]: f for f in shared_sf.Account.describe()["fields"]}

    def facets(name: str) -> tuple[int, int, int, int, int, bool]:
        f = account[name]
        return (
            f["length"],
            f["byteLength"],
            f["precision"],
            f["scale"],
            f["digits"],
            f["nillable"],
        )

    assert facets("NumberOfEmployees") == (0, 0, 0, 0, 8, True)
    assert facets("AnnualRevenue") == (0, 0, 18, 0, 0, True)
    assert facets("BillingLatitude") == (0, 0, 18, 15, 0, True)
    assert facets("Id") == (18, 18, 0, 0, 0, False)
    assert facets("OwnerId") == (18, 18, 0, 0, 0, False)
    assert facets("Name") == (255, 765, 0, 0, 0, False)
    assert facets("Phone") == (40, 120, 0, 0, 0, True)
    assert facets("Description") == (32_000, 96_000, 0, 0, 0, True)
    assert facets("IsDeleted") == (0, 0, 0, 0, 0, False)
    assert facets("SystemModstamp") == (0, 0, 0, 0, 0, False)
    assert account["Logo__c"]["byteLength"] == account["Logo__c"]["length"] == 131_072
    probability = {f["name"]: f for f in shared_sf.Opportunity.describe()["fields"]}["Probability"]
    assert (probability["precision"], probability["scale"], probability["digits"]) == (3, 0, 0)
    lead = {f["name"]: f for f in shared_sf.Lead.describe()["fields"]}
    assert [n for n in ("LastName", "Company", "Status", "Title") if not lead[n]["nillable"]] == [
        "LastName",
        "Company",
        "Status",
    ]


def test_custom_int_field_has_digits(emu: SalesforceEmulator, sf: Salesforce) -> None:
    emu.add_field("Account", "Seats__c", "int", precision=6)
    emu.add_field("Account", "Margin__c", "percent", precision=5, scale=2)
    fields = {f["name"]: f for f in sf.Account.describe()["fields"]}
    seats, margin = fields["Seats__c"], fields["Margin__c"]
    assert (seats["digits"], seats["precision"], seats["scale"]) == (6, 0, 0)
    assert (margin["digits"], margin["precision"], margin["scale"]) == (0, 5, 2)


def test_version_list(shared_emu: SalesforceEmulator, make_session) -> None:
    listed = make_session(shared_emu).get(f"{shared_emu.url}/services/data").json()
    assert listed[0] == {"label": "Summer '14", "url": "/services/data/v31.0", "version": "31.0"}
    assert listed[-1] == {"label": "Winter '25", "url": "/services/data/v62.0", "version": "62.0"}
    by_version = {v["version"]: v["label"] for v in listed}
    assert by_version["59.0"] == "Winter '24" and by_version["60.0"] == "Spring '24"
    assert by_version["61.0"] == "Summer '24" and len(listed) == 32


def test_limits_shape(emu: SalesforceEmulator, sf: Salesforce) -> None:
    emu.set_api_usage(99, 15_000)
    assert len(list(sf.bulk2.User.query("SELECT Id FROM User", wait=0))) == 1  # 3 API calls
    limits = sf.limits()
    assert limits["DailyApiRequests"] == {"Max": 15_000, "Remaining": 15_000 - 103}
    assert limits["DailyBulkV2QueryJobs"] == {"Max": 10_000, "Remaining": 9_999}
    assert limits["DailyBulkV2QueryFileStorageMB"] == {"Max": 976_562, "Remaining": 976_562}
    assert limits["DailyBulkApiBatches"] == {"Max": 15_000, "Remaining": 15_000}
    assert list(limits) == sorted(limits) and len(limits) >= 20
    assert all(set(value) == {"Max", "Remaining"} for value in limits.values())
    answer = sf.session.get(f"{sf.base_url}limits", headers=sf.headers)
    assert answer.headers["Sforce-Limit-Info"] == "api-usage=104/15000"


def test_rest_json_is_gzipped_when_accepted(shared_sf: Salesforce) -> None:
    url = f"{shared_sf.base_url}query"
    params = {"q": "SELECT Id, Name FROM Account LIMIT 3"}
    zipped = shared_sf.session.get(url, params=params, headers=shared_sf.headers, stream=True)
    assert zipped.headers["Content-Encoding"] == "gzip"
    body = json.loads(gzip.decompress(zipped.raw.read(decode_content=False)))
    assert body["totalSize"] == 3 and len(body["records"]) == 3
    plain = shared_sf.session.get(
        url, params=params, headers={**shared_sf.headers, "Accept-Encoding": "identity"}
    )
    assert "Content-Encoding" not in plain.headers and plain.json() == body
    error = shared_sf.session.get(
        url, params={"q": "SELECT Nope FROM Account"}, headers=shared_sf.headers, stream=True
    )
    assert error.status_code == 400 and error.headers["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(error.raw.read()))[0]["errorCode"] == "INVALID_FIELD"
