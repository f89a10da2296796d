"""The fields of Account, Contact, Opportunity, Lead, Case and User, and ``build_objects``."""

from __future__ import annotations

import base64

from .builder import COMPANY_KINDS, WORDS, FieldBuilder
from .fields import ConstGen, IdGen, NumberedGen
from .ids import IdCodec
from .schema import KEY_PREFIXES, SEED_END_MS, SEED_SPAN_MS, ObjectSchema

_INDUSTRIES = ["Agriculture", "Banking", "Chemicals", "Education", "Energy", "Retail", "Media"]
_LEAD_SOURCES = ["Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"]
# Fields a record cannot be saved without (describe ``nillable`` false): the fields the Object
# Reference for the Salesforce Platform ("Account", "Contact", ...) lists without the Nillable
# property, besides Id, OwnerId, the audit fields and booleans (set where they are built).
_REQUIRED = {
    "Account": ("Name",),
    "Contact": ("LastName", "Name"),
    "Opportunity": ("Name", "StageName", "CloseDate"),
    "Lead": ("LastName", "Name", "Company", "Status"),
    "Case": ("CaseNumber",),
    "User": ("Username", "LastName", "Name", "Alias", "Email", "TimeZoneSidKey"),
}
_STAGES = ["Prospecting", "Qualification", "Needs Analysis", "Proposal", "Closed Won"]


def _account(b: FieldBuilder) -> None:
    names = [f"{w.title()} {k}" for w in WORDS for k in COMPANY_KINDS]
    b.text("Name", names)
    b.picklist(
        "Type", ["Prospect", "Customer - Direct", "Customer - Channel", "Partner"], nulls=0.1
    )
    b.address("Billing")
    b.contact_details()
    b.text(
        "Website", [f"https://www.{w}{k.lower()}.example.com" for w in WORDS for k in COMPANY_KINDS]
    )
    b.fields[-1].type = "url"
    b.picklist("Industry", _INDUSTRIES, nulls=0.1)
    b.number("AnnualRevenue", "currency", 1e5, 5e9, 18, 0)
    b.number("NumberOfEmployees", "int", 1, 250_000, 8, 0)
    b.picklist("Rating", ["Hot", "Warm", "Cold"], nulls=0.3)
    b.textarea("Description")
    rng = b.rng("Logo__c")
    logos = [base64.b64encode(rng.randbytes(24)).decode() for _ in range(17)]
    b.add("Logo__c", "base64", b.pool("Logo__c", logos, 0.5), custom=True, length=131_072)
    axis = {"compound_field_name": "Headquarters__c", "custom": True, "precision": 18, "scale": 6}
    for part, bound in (("Latitude", 80), ("Longitude", 179)):
        values = [round(rng.uniform(-bound, bound), 6) for _ in range(211)]
        b.add(f"Headquarters__{part}__s", "double", b.pool(part, values, 0.3), **axis)
    b.add(
        "Headquarters__c",
        "location",
        custom=True,
        updateable=False,
        components=("Headquarters__Latitude__s", "Headquarters__Longitude__s"),
    )


def _contact(b: FieldBuilder) -> None:
    b.reference("AccountId", "Account")
    b.picklist("Salutation", ["Mr.", "Ms.", "Mrs.", "Dr.", "Prof."], nulls=0.2)
    b.person()
    b.address("Mailing")
    b.contact_details(("Phone", "MobilePhone"))
    b.text("Title", ["CEO", "CFO", "VP Sales", "Engineer", "Buyer", "Analyst"], 128, 0.1)
    b.date("Birthdate", 365 * 70, -365 * 18, nulls=0.3)
    b.picklist("LeadSource", _LEAD_SOURCES, nulls=0.2)
    b.add("HasOptedOutOfEmail", "boolean", b.pool("Opt", [False] * 7 + [True]), nillable=False)
    combos = ["Golf", "Sailing", "Golf;Opera", "Chess;Sailing;Opera", "Opera"]
    b.picklist("Interests__c", ["Golf", "Sailing", "Opera", "Chess"], ftype="multipicklist")
    b.fields[-1].gen, b.fields[-1].custom = b.pool("Interests__c", combos, 0.3), True
    rng = b.rng("time")
    times = [
        f"{rng.randint(7, 19):02d}:{rng.choice((0, 15, 30, 45)):02d}:00.000Z" for _ in range(31)
    ]
    b.add("PreferredCallTime__c", "time", b.pool("Time", times, 0.2), custom=True)


def _opportunity(b: FieldBuilder) -> None:
    b.reference("AccountId", "Account")
    rng = b.rng("Name")
    b.text(
        "Name", [f"{rng.choice(WORDS).title()} {rng.choice(COMPANY_KINDS)} deal" for _ in range(97)]
    )
    b.picklist("StageName", _STAGES)
    b.number("Amount", "currency", 500, 2_000_000, 18, 2)
    b.number("Probability", "percent", 0, 100, 3, 0)
    b.number("TotalOpportunityQuantity", "double", 1, 500, 18, 2)
    b.date("CloseDate", 700, 180)
    b.picklist("Type", ["New Customer", "Existing Customer - Upgrade", "Renewal"], nulls=0.2)
    b.picklist("LeadSource", _LEAD_SOURCES, nulls=0.2)
    b.add("IsClosed", "boolean", b.pool("IsClosed", [True, False, False]), nillable=False)
    b.add("IsWon", "boolean", b.pool("IsWon", [True, False, False, False]), nillable=False)
    b.picklist("ForecastCategory", ["Omitted", "Pipeline", "BestCase", "Forecast", "Closed"])
    b.textarea("Description", nulls=0.5)


def _lead(b: FieldBuilder) -> None:
    b.person()
    b.text("Company", [f"{w.title()} {k}" for w in WORDS for k in COMPANY_KINDS])
    b.text("Title", ["Owner", "Director", "Manager", "Founder", "Consultant"], 128, 0.2)
    b.address("")
    b.contact_details()
    b.picklist("Status", ["Open - Not Contacted", "Working - Contacted", "Closed - Converted"])
    b.picklist("Industry", _INDUSTRIES, nulls=0.2)
    b.number("AnnualRevenue", "currency", 1e4, 1e8, 18, 0)
    b.number("NumberOfEmployees", "int", 1, 5_000, 8, 0)
    b.add("IsConverted", "boolean", b.pool("IsConverted", [False] * 4 + [True]), nillable=False)
    b.date("ConvertedDate", 700, nulls=3.0)
    b.reference("ConvertedAccountId", "Account")


def _case(b: FieldBuilder) -> None:
    b.add("CaseNumber", "string", NumberedGen(["0"], [""], 1), length=30, updateable=False)
    b.reference("AccountId", "Account")
    b.reference("ContactId", "Contact")
    rng = b.rng("Subject")
    subjects = [f"{rng.choice(WORDS).title()} {rng.choice(COMPANY_KINDS)} issue" for _ in range(89)]
    b.text("Subject", subjects)
    b.textarea("Description", nulls=0.2)
    b.picklist("Status", ["New", "Working", "Escalated", "Closed"])
    b.picklist("Priority", ["High", "Medium", "Low"])
    b.picklist("Origin", ["Phone", "Email", "Web"])
    b.picklist("Reason", ["Installation", "Performance", "Breakdown", "Feedback"], nulls=0.3)
    b.add("IsClosed", "boolean", b.pool("IsClosed", [True, False]), nillable=False)
    b.add("IsEscalated", "boolean", b.pool("IsEscalated", [False] * 9 + [True]), nillable=False)
    rng = b.rng("ClosedDate")
    closed = [SEED_END_MS - rng.randrange(0, SEED_SPAN_MS // 1000) * 1000 for _ in range(211)]
    b.add("ClosedDate", "datetime", b.pool("ClosedDate", closed, 1.0))


def _user(b: FieldBuilder) -> None:
    b.add("Username", "string", NumberedGen(["user"], ["@dagplane.example"], 1), length=80)
    b.person()
    b.add("Alias", "string", NumberedGen(["u"], [""], 1), length=8)
    b.contact_details()
    b.add("IsActive", "boolean", b.pool("IsActive", [True] * 9 + [False]), nillable=False)
    b.picklist("TimeZoneSidKey", ["America/Los_Angeles", "Europe/Berlin", "Asia/Tokyo"])
    b.picklist("UserType", ["Standard", "PowerPartner", "CsnOnly"])
    b.text("Department", ["Sales", "Support", "Finance", "Engineering"], 80, 0.1)
    rng = b.rng("LastLoginDate")
    logins = [SEED_END_MS - rng.randrange(0, 86_400 * 30) * 1000 for _ in range(211)]
    b.add("LastLoginDate", "datetime", b.pool("LastLoginDate", logins, 0.1))


_BUILDERS = {
    "Account": _account,
    "Contact": _contact,
    "Opportunity": _opportunity,
    "Lead": _lead,
    "Case": _case,
    "User": _user,
}


def build_objects(seed: int, counts: dict[str, int]) -> dict[str, ObjectSchema]:
    """Every emulated object with ``counts[name]`` seeded records."""
    objects = {}
    for name, fill in _BUILDERS.items():
        b = FieldBuilder(name, seed, counts)
        b.add(
            "Id",
            "id",
            IdGen(IdCodec(KEY_PREFIXES[name])),
            length=18,
            nillable=False,
            updateable=False,
        )
        if name != "User":  # users are deactivated, never deleted: User has no IsDeleted
            b.add("IsDeleted", "boolean", ConstGen(False), nillable=False, updateable=False)
        fill(b)
        if name != "User":
            b.reference("OwnerId", "User", "Owner")
        b.system()
        for spec in b.fields:
            if spec.name in _REQUIRED.get(name, ()) or spec.name == "OwnerId":
                spec.nillable = False
            # Object Reference, "Case": CaseNumber is the Autonumber name of a case; the other
            # objects are named by Name (describe ``nameField``, ``autoNumber``).
            spec.name_field = spec.name == ("CaseNumber" if name == "Case" else "Name")
            spec.auto_number = name == "Case" and spec.name == "CaseNumber"
        objects[name] = ObjectSchema(name, counts[name], b.fields)
    return objects
