"""Salesforce field types to PostgreSQL column types, and which type changes are widenings.

Column types are spelled the way ``format_type()`` prints them, so a declared type and the
type read back from the catalog compare as plain strings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from dagplane.connectors.salesforce.fields import SalesforceField
from dagplane.warehouse.postgres._errors import PostgresLoadError, UnsupportedFieldError

__all__ = [
    "AUDIT_COLUMNS",
    "INTEGER_RANGES",
    "Column",
    "column_for",
    "columns_for",
    "is_widening",
    "table_name",
]

VARCHAR = "character varying"
TIMESTAMPTZ = "timestamp with time zone"
AUDIT_COLUMNS = {"_extracted_at": TIMESTAMPTZ, "_run_id": "text", "_deleted_at": TIMESTAMPTZ}
# The values each integer column type holds (Salesforce int fields land in these).
INTEGER_RANGES = {"integer": (-(2**31), 2**31 - 1), "bigint": (-(2**63), 2**63 - 1)}
MAX_IDENTIFIER_BYTES = 63

_FIXED = {
    "id": f"{VARCHAR}(18)",
    "reference": f"{VARCHAR}(18)",
    "boolean": "boolean",
    "long": "bigint",
    "date": "date",
    "datetime": TIMESTAMPTZ,
    "time": "time without time zone",
}
_TEXT = frozenset(
    {
        "anytype",
        "combobox",
        "complexvalue",
        "datacategorygroupreference",
        "email",
        "encryptedstring",
        "json",
        "multipicklist",
        "phone",
        "picklist",
        "string",
        "textarea",
        "url",
    }
)
_NUMBER = frozenset({"double", "currency", "percent"})
# Not loaded: binary bodies, and compound fields whose components are ordinary fields.
_SKIPPED = frozenset({"base64", "address", "location"})
_TYPE = re.compile(r"^(?P<base>[a-z ]+?)(?:\((?P<args>\d+(?:,\d+)?)\))?$")


@dataclass(frozen=True)
class Column:
    """A target column: its PostgreSQL name and type and the Salesforce field it holds."""

    name: str
    type: str
    field: str
    not_null: bool = False


def table_name(object_name: str) -> str:
    """The table that holds an sObject: its API name in lowercase."""
    return _identifier(object_name, object_name)


def column_for(object_name: str, field: SalesforceField) -> Column | None:
    """The column for ``field``, or None for fields that are not loaded (base64, compound)."""
    kind = field.type.lower()
    if kind in _SKIPPED:
        return None
    if kind in _FIXED:
        pg_type = _FIXED[kind]
    elif kind in _TEXT:
        pg_type = "text"
    elif kind == "int":
        pg_type = "bigint" if field.digits > 9 else "integer"
    elif kind in _NUMBER:
        scale = min(field.scale, field.precision)
        pg_type = f"numeric({field.precision},{scale})" if field.precision else "double precision"
    else:
        raise UnsupportedFieldError(object_name, field.name, field.type)
    name = _identifier(object_name, f"{object_name}.{field.name}", field.name)
    return Column(name=name, type=pg_type, field=field.name, not_null=not field.nillable)


def columns_for(object_name: str, fields: Iterable[SalesforceField]) -> list[Column]:
    """The columns for every loaded field, in describe order; the object must have ``Id``."""
    columns = [c for c in (column_for(object_name, f) for f in fields) if c is not None]
    if not any(c.name == "id" for c in columns):
        raise PostgresLoadError(f"{object_name}: describe() reported no Id field to key rows by")
    return columns


def is_widening(old: str, new: str) -> bool:
    """True when a column of type ``new`` holds every value of type ``old`` unchanged."""
    if old == new or (old, new) == ("integer", "bigint"):
        return True
    old_base, old_args = _split(old)
    new_base, new_args = _split(new)
    if old_base == VARCHAR and new_base in (VARCHAR, "text"):
        return new_base == "text" or not new_args or (bool(old_args) and new_args >= old_args)
    if old_base == new_base == "numeric":
        if not new_args:
            return True
        if not old_args:
            return False
        (old_p, old_s), (new_p, new_s) = old_args, new_args
        return new_s >= old_s and new_p - new_s >= old_p - old_s
    return False


def _split(pg_type: str) -> tuple[str, tuple[int, ...]]:
    match = _TYPE.match(pg_type)
    if not match:
        return pg_type, ()
    args = match["args"]
    return match["base"], tuple(int(a) for a in args.split(",")) if args else ()


def _identifier(object_name: str, where: str, name: str | None = None) -> str:
    ident = (name if name is not None else object_name).lower()
    if not ident or len(ident.encode()) > MAX_IDENTIFIER_BYTES:
        raise PostgresLoadError(
            f"{where}: {ident!r} is not usable as a PostgreSQL identifier "
            f"(empty or longer than {MAX_IDENTIFIER_BYTES} bytes)"
        )
    return ident
