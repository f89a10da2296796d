"""REST API: versions, describe, query / queryAll with pagination, limits, errors."""

from __future__ import annotations

import pytest
import requests
from simple_salesforce import (
    Salesforce,
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceResourceNotFound,
)

from dagplane.emulators.salesforce import SalesforceEmulator


@pytest.fixture
def shared_sf(shared_emu: SalesforceEmulator, make_client) -> Salesforce:
    return make_client(shared_emu)


def test_versions_list_and_any_version_works(
    shared_emu: SalesforceEmulator, make_session, make_client
) -> None:
    session = make_session(shared_emu)
    listed = session.get(f"{shared_emu.url}/services/data/").json()
    assert {"label", "url", "version"} <= set(listed[0])
    sf = make_client(shared_emu, session)
    sf.sf_version = "48.0"
    sf.base_url = sf.base_url.replace("v59.0", "v48.0")
    assert sf.query("SELECT Id FROM Case LIMIT 1")["records"][0]["attributes"]["url"].startswith(
        "/services/data/v48.0/sobjects/Case/"
    )


def test_global_describe_lists_the_six_objects(shared_sf: Salesforce) -> None:
    described = shared_sf.describe()
    prefixes = {o["name"]: o["keyPrefix"] for o in described["sobjects"]}
    assert prefixes == {
        "Account": "001",
        "Contact": "003",
        "Opportunity": "006",
        "Lead": "00Q",
        "Case": "500",
        "User": "005",
    }


def test_describe_has_a_spread_of_field_types(shared_sf: Salesforce) -> None:
    types: set[str] = set()
    for name in ("Account", "Contact", "Opportunity", "Lead", "Case", "User"):
        fields = {f["name"]: f for f in getattr(shared_sf, name).describe()["fields"]}
        assert {"Id", "CreatedDate", "LastModifiedDate", "SystemModstamp"} <= set(fields)
        # As in Salesforce, users are deactivated rather than deleted: User has no IsDeleted.
        assert ("IsDeleted" in fields) == (name != "User")
        types |= {f["type"] for f in fields.values()}
    assert types >= {
        "id",
        "reference",
        "string",
        "boolean",
        "int",
        "double",
        "currency",
        "percent",
        "date",
        "datetime",
        "time",
        "picklist",
        "multipicklist",
        "textarea",
        "email",
        "phone",
        "url",
        "base64",
        "address",
        "location",
    }
    account = {f["name"]: f for f in shared_sf.Account.describe()["fields"]}
    assert account["BillingCity"]["compoundFieldName"] == "BillingAddress"
    assert account["Headquarters__Latitude__s"]["compoundFieldName"] == "Headquarters__c"
    assert account["AnnualRevenue"]["precision"] == 18
    assert account["OwnerId"]["referenceTo"] == ["User"]
    assert [v["value"] for v in account["Rating"]["picklistValues"]] == ["Hot", "Warm", "Cold"]
    probability = {f["name"]: f for f in shared_sf.Opportunity.describe()["fields"]}["Probability"]
    assert (probability["type"], probability["precision"], probability["scale"]) == (
        "percent",
        3,
        0,
    )


def test_query_returns_typed_json_and_compound_values(shared_sf: Salesforce) -> None:
    result = shared_sf.query(
        "SELECT Id, Name, BillingAddress, NumberOfEmployees, SystemModstamp, IsDeleted"
        " FROM Account ORDER BY Id LIMIT 5"
    )
    assert result["totalSize"] == 5 and result["done"] is True
    record = result["records"][0]
    assert record["attributes"]["type"] == "Account"
    assert record["SystemModstamp"].endswith(".000+0000")
    assert record["IsDeleted"] is False
    assert set(record["BillingAddress"]) >= {"street", "city", "postalCode", "country"}
    ids = [r["Id"] for r in result["records"]]
    assert ids == sorted(ids)


def test_query_all_iter_follows_next_records_url(
    shared_emu: SalesforceEmulator, shared_sf: Salesforce
) -> None:
    first = shared_sf.query("SELECT Id FROM Contact")
    assert first["totalSize"] == 6_000 and first["done"] is False
    assert len(first["records"]) == 2_000
    assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/01g")
    assert first["nextRecordsUrl"].endswith("-2000")
    pages_before = shared_emu.stats["query_pages"]
    ids = [r["Id"] for r in shared_sf.query_all_iter("SELECT Id FROM Contact")]
    assert len(ids) == len(set(ids)) == 6_000
    assert shared_emu.stats["query_pages"] - pages_before == 3
    small = shared_sf.query(
        "SELECT Id FROM Lead", headers={"Sforce-Query-Options": "batchSize=200"}
    )
    assert len(small["records"]) == 200


def test_query_all_includes_deleted_rows(emu: SalesforceEmulator, sf: Salesforce) -> None:
    deleted = emu.delete("Account", count=3)
    live = sf.query_all("SELECT Id FROM Account")["records"]
    everything = sf.query_all("SELECT Id, IsDeleted FROM Account", include_deleted=True)
    assert len(everything["records"]) == len(live) + 3 == emu.record_count("Account", True)
    flagged = [r["Id"] for r in everything["records"] if r["IsDeleted"]]
    assert flagged == deleted
    assert not set(deleted) & {r["Id"] for r in live}


def test_count_answers_in_total_size_and_respects_where_and_query_all(
    emu: SalesforceEmulator, sf: Salesforce
) -> None:
    # SOQL and SOSL Reference, "COUNT() and COUNT(fieldName)": the count is the result's size,
    # with no records (REST: an empty list); simple-salesforce returns the JSON as it comes.
    assert sf.query("SELECT COUNT() FROM Account") == {
        "totalSize": emu.record_count("Account"),
        "done": True,
        "records": [],
    }
    hot = sf.query_all("SELECT Id FROM Account WHERE Rating = 'Hot'")["totalSize"]
    assert 0 < sf.query("SELECT COUNT() FROM Account WHERE Rating = 'Hot'")["totalSize"] == hot
    emu.delete("Account", count=4)
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == emu.record_count("Account")
    every = sf.query("SELECT COUNT() FROM Account", include_deleted=True)["totalSize"]
    assert every == emu.record_count("Account", include_deleted=True)
    assert every - 4 == emu.record_count("Account")
    counted = sf.query("SELECT COUNT(Id) FROM Account")
    assert counted["totalSize"] == 1
    assert counted["records"] == [
        {"attributes": {"type": "AggregateResult"}, "expr0": emu.record_count("Account")}
    ]


def test_limits_and_the_limit_info_header(emu: SalesforceEmulator, sf: Salesforce) -> None:
    emu.set_api_usage(41, 5_000)
    limits = sf.limits()
    assert limits["DailyApiRequests"] == {"Max": 5_000, "Remaining": 5_000 - 42}
    assert sf.api_usage["api-usage"].used == 42
    assert sf.api_usage["api-usage"].total == 5_000


def test_bad_session_is_invalid_session_id(shared_emu: SalesforceEmulator, make_session) -> None:
    session = make_session(shared_emu)
    answer = session.get(
        f"{shared_emu.url}/services/data/v59.0/limits", headers={"Authorization": "Bearer nope"}
    )
    assert answer.status_code == 401
    assert answer.json() == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]
    sf = Salesforce(session_id="nope", instance_url=shared_emu.url, session=session)
    with pytest.raises(SalesforceExpiredSession):
        sf.query("SELECT Id FROM Account")


def test_query_errors_carry_salesforce_codes(shared_sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        shared_sf.query("SELECT Id, Bogus FROM Account")
    assert caught.value.status == 400
    assert caught.value.content[0]["errorCode"] == "INVALID_FIELD"
    with pytest.raises(SalesforceResourceNotFound):
        shared_sf.restful("sobjects/Nothing/describe")


def test_unknown_path_is_not_found(shared_emu: SalesforceEmulator) -> None:
    answer = requests.Session()
    answer.trust_env = False
    response = answer.get(f"{shared_emu.url}/nothing/here", verify=str(shared_emu.ca_bundle))
    assert response.status_code == 404 and response.json()[0]["errorCode"] == "NOT_FOUND"
