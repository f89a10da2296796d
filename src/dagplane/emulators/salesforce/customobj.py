"""Custom objects (``Invoice__c``): standard fields, a name, custom fields, a key prefix.

Object Reference for the Salesforce Platform, "Custom Object__c": a custom object's name is
its API name followed by ``__c``; system fields behave as on standard objects. Its standard
fields are Id, OwnerId, IsDeleted, Name (text or auto-number), CreatedDate, CreatedById,
LastModifiedDate, LastModifiedById, SystemModstamp, LastViewedDate and LastReferencedDate;
LastActivityDate only when the object allows activities (``allow_activities``). Fields that
need other features (CurrencyIsoCode, RecordTypeId, ConnectionReceivedId, ...) are left out.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from typing import Any

from .builder import FieldBuilder
from .custom import custom_field
from .errors import EmulatorUsageError
from .fields import AutoNumberGen, ConstGen, IdGen, NumberedGen
from .ids import IdCodec
from .schema import ObjectSchema

# Custom objects get key prefixes assigned by the org, starting with "a" (e.g. a0X, a01 in
# the "Custom Object__c" examples of record ids); the emulator hands out a00, a01, ..., a0z
# in the order objects are declared, so the same declarations always give the same ids.
_PREFIX_DIGITS = string.digits + string.ascii_uppercase + string.ascii_lowercase
_NAME = re.compile(r"[A-Za-z](?:[A-Za-z0-9]|_(?!_))*__c")
# Setup, "Custom Object Definition": the auto-number Display Format, e.g. INV-{0000}.
_AUTO_NUMBER = re.compile(r"(?P<head>[^{]*)\{(?P<zeros>0+)\}(?P<tail>[^{]*)")


def custom_prefix(position: int) -> str:
    """The key prefix of the ``position``-th custom object (0: ``a00``)."""
    if not 0 <= position < len(_PREFIX_DIGITS):
        raise EmulatorUsageError(f"at most {len(_PREFIX_DIGITS)} custom objects")
    return "a0" + _PREFIX_DIGITS[position]


def check_object_name(name: str) -> None:
    """Custom object API names: a letter, letters/digits/single underscores, then ``__c``."""
    if not _NAME.fullmatch(name):
        raise EmulatorUsageError(f"custom object names look like Invoice__c, not {name!r}")


def build_custom_object(
    seed: int,
    name: str,
    counts: dict[str, int],
    prefix: str,
    fields: Sequence[Mapping[str, Any]] = (),
    *,
    label: str | None = None,
    name_format: str | None = None,
    allow_activities: bool = False,
) -> ObjectSchema:
    """``name`` with ``counts[name]`` seeded records; ``fields`` are ``add_field`` arguments
    (``{"name": "Amount__c", "type": "currency", ...facets}``). ``name_format`` (``INV-{0000}``)
    makes Name an auto-number field, otherwise Name is an 80-character text field."""
    check_object_name(name)
    label = label or name[:-3].replace("_", " ")
    b = FieldBuilder(name, seed, counts)
    codec = IdCodec(prefix)
    b.add("Id", "id", IdGen(codec), length=18, nillable=False, updateable=False)
    b.reference("OwnerId", "User", "Owner")
    b.fields[-1].nillable = False
    b.add("IsDeleted", "boolean", ConstGen(False), nillable=False, updateable=False)
    if name_format is None:
        b.add("Name", "string", NumberedGen([f"{label} "], [""], 1), length=80)
    else:
        match = _AUTO_NUMBER.fullmatch(name_format)
        if match is None:
            raise EmulatorUsageError(f"auto-number formats look like INV-{{0000}}: {name_format!r}")
        gen = AutoNumberGen(match["head"], len(match["zeros"]), match["tail"])
        b.add("Name", "string", gen, length=80, nillable=False, updateable=False)
        b.fields[-1].auto_number = True
    b.fields[-1].name_field = True
    b.fields[-1].label = f"{label} Name"
    b.system()
    for stamp in ("LastViewedDate", "LastReferencedDate"):
        b.add(stamp, "datetime", updateable=False)  # never viewed through the API: null
    if allow_activities:
        b.add("LastActivityDate", "date", updateable=False)
    schema = ObjectSchema(name, counts[name], b.fields, prefix=prefix, custom=True, label=label)
    for declared in fields:
        facets = dict(declared)
        fname = facets.pop("name", None)
        if not isinstance(fname, str):
            raise EmulatorUsageError(f"each field needs a name: {declared!r}")
        if schema.canonical(fname):
            raise EmulatorUsageError(f"{name}.{fname} is declared twice")
        schema.add_field(custom_field(seed, name, counts, fname, **facets))
    return schema


def parse_object_option(text: str) -> tuple[str, dict[str, Any]]:
    """``Invoice__c=500:Amount__c=currency,Due__c=date`` (the CLI's ``--custom-object``) as
    ``add_object`` arguments: the name, the record count, then ``Field=type`` pairs."""
    head, _, field_list = text.partition(":")
    name, _, records = head.partition("=")
    check_object_name(name)
    if records and not records.isdigit():
        raise EmulatorUsageError(f"expected {name}=N (a record count), not {head!r}")
    fields = []
    for item in filter(None, field_list.split(",")):
        fname, _, ftype = item.partition("=")
        fields.append({"name": fname, "type": ftype or "string"})
    return name, {"records": int(records or 0), "fields": fields}
