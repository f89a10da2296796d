"""Field metadata and the seeded value generators.

A generator computes the value of record ``i`` from ``i`` alone, so nothing is stored. How
values are written (CSV dialects, JSON, datetimes) lives in ``formats.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .formats import (
    NUMERIC_TYPES,
    CsvDialect,
    csv_quote,
    day_text,
    format_datetime,
    parse_datetime,
    to_json_value,
    whole_second_clock,
)
from .ids import IdCodec

__all__ = [
    "COMPOUND_TYPES",
    "NUMERIC_TYPES",
    "PERIOD",
    "SOAP_TYPES",
    "AutoNumberGen",
    "ConstGen",
    "FieldSpec",
    "Generator",
    "IdGen",
    "NumberedGen",
    "PoolGen",
    "ReferenceGen",
    "StampGen",
    "compound_key",
    "csv_quote",
    "format_datetime",
    "parse_datetime",
    "to_json_value",
]

COMPOUND_TYPES = frozenset({"address", "location"})
_LENGTH_TYPES = frozenset(
    {"id", "reference", "base64", "string", "textarea", "picklist", "multipicklist"}
    | {"email", "phone", "url", "combobox"}
)
TEXT_TYPES = frozenset(
    {"string", "textarea", "picklist", "multipicklist", "email", "phone", "url", "combobox"}
)
# Pool-drawn values repeat with this period (a prime), so whole runs of such cells can be
# precomputed once per query shape and then copied by slicing (see ``csvout.py``).
PERIOD = 16_381


_quoted: list[str] = []


def _quoted_clock() -> list[str]:
    """``HH:MM:SS.000Z"`` for every second of a day (the closing quote included)."""
    if not _quoted:
        _quoted.extend(f'{t}"' for t in whole_second_clock())
    return _quoted


class Generator:
    """Computes the seeded value of one field for any record number."""

    def value(self, i: int) -> Any:
        raise NotImplementedError

    def csv_column(self, ftype: str, indexes: Sequence[int], dialect: CsvDialect) -> list[str]:
        """Quoted CSV cells for many records; subclasses override the slow generic path."""
        return [dialect.cell(ftype, self.value(i)) for i in indexes]


class ConstGen(Generator):
    """The same value for every record."""

    def __init__(self, constant: Any) -> None:
        self.constant = constant

    def value(self, i: int) -> Any:
        return self.constant

    def csv_column(self, ftype: str, indexes: Sequence[int], dialect: CsvDialect) -> list[str]:
        return [dialect.cell(ftype, self.constant)] * len(indexes)


class PoolGen(Generator):
    """``pool[(i % PERIOD * step + offset) % len(pool)]``: cheap, deterministic, periodic."""

    def __init__(self, pool: Sequence[Any], step: int, offset: int) -> None:
        self.pool = list(pool)
        self.step, self.offset = step, offset
        self._cells: dict[tuple[str, CsvDialect], list[str]] = {}

    def value(self, i: int) -> Any:
        return self.pool[(i % PERIOD * self.step + self.offset) % len(self.pool)]

    def period_cells(self, ftype: str, dialect: CsvDialect) -> list[str]:
        """The quoted CSV cells of residues ``0 .. PERIOD-1`` (each pool value formatted once)."""
        cells = self._cells.get((ftype, dialect))
        if cells is None:
            pool = [dialect.cell(ftype, v) for v in self.pool]
            a, b, n = self.step, self.offset, len(pool)
            cells = self._cells[(ftype, dialect)] = [pool[(r * a + b) % n] for r in range(PERIOD)]
        return cells

    def csv_column(self, ftype: str, indexes: Sequence[int], dialect: CsvDialect) -> list[str]:
        cells = self.period_cells(ftype, dialect)
        return [cells[i % PERIOD] for i in indexes]


class NumberedGen(Generator):
    """``head + str(i) + tail`` with head/tail from pools: unique emails, names, numbers."""

    def __init__(self, heads: Sequence[str], tails: Sequence[str], step: int) -> None:
        self.heads, self.tails, self.step = list(heads), list(tails), step

    def value(self, i: int) -> str:
        k = i * self.step
        return f"{self.heads[k % len(self.heads)]}{i}{self.tails[k % len(self.tails)]}"

    def csv_column(self, ftype: str, indexes: Sequence[int], dialect: CsvDialect) -> list[str]:
        heads, tails, a = self.heads, self.tails, self.step
        nh, nt = len(heads), len(tails)
        if any(dialect.delimiter in t or '"' in t for t in (*heads, *tails)):
            return [dialect.quote(f"{heads[i * a % nh]}{i}{tails[i * a % nt]}") for i in indexes]
        q = '"' if dialect.full else ""
        return [f"{q}{heads[i * a % nh]}{i}{tails[i * a % nt]}{q}" for i in indexes]


class AutoNumberGen(Generator):
    """An auto-number field: ``head`` + the record's number from 1, zero-padded, + ``tail``."""

    def __init__(self, head: str, width: int, tail: str) -> None:
        self.head, self.width, self.tail = head, width, tail

    def value(self, i: int) -> str:
        return f"{self.head}{i + 1:0{self.width}d}{self.tail}"


class IdGen(Generator):
    """The record's own id."""

    def __init__(self, codec: IdCodec) -> None:
        self.codec = codec

    def value(self, i: int) -> str:
        return self.codec.make(i)

    def csv_column(self, ftype: str, indexes: Sequence[int], dialect: CsvDialect) -> list[str]:
        return self.codec.make_many(indexes, '"' if dialect.full else "")


class ReferenceGen(Generator):
    """The id of a seeded record of another object (None if that object has no records)."""

    def __init__(self, codec: IdCodec, target_count: int, step: int, offset: int) -> None:
        self.codec, self.count = codec, target_count
        self.step, self.offset = step, offset

    def value(self, i: int) -> str | None:
        if not self.count:
            return None
        return self.codec.make((i * self.step + self.offset) % self.count)

    def csv_column(self, ftype: str, indexes: Sequence[int], dialect: CsvDialect) -> list[str]:
        if not self.count:
            return [dialect.cell(ftype, None)] * len(indexes)
        a, b, n = self.step, self.offset, self.count
        return self.codec.make_many([(i * a + b) % n for i in indexes], '"' if dialect.full else "")


class StampGen(Generator):
    """Whole-second timestamps rising with the record number and ending at ``end_ms``.

    Records are ``step`` seconds apart (or ``per`` records share a second when there are more
    records than seconds in ``span_ms``). ``lag`` (a pool of milliseconds) is subtracted, e.g.
    CreatedDate = SystemModstamp - some days.
    """

    def __init__(self, end_ms: int, span_ms: int, count: int, lag: PoolGen | None = None) -> None:
        seconds, self.count = span_ms // 1000, max(count, 1)
        self.step = seconds // self.count
        self.per = 1 if self.step else -(-self.count // seconds)
        covered = self.count * self.step if self.step else self.count // self.per
        self.start_s = end_ms // 1000 - covered
        self.lag = lag
        self._lags: list[int] | None = None

    def seconds(self, i: int) -> int:
        return self.start_s + (i * self.step if self.step else i // self.per)

    def value(self, i: int) -> int:
        stamp = self.seconds(i) * 1000
        return stamp - self.lag.value(i) if self.lag else stamp

    def first_at_or_after(self, ms: int) -> int:
        """The smallest record number whose stamp is >= ``ms`` (may be ``count``)."""
        lo, hi = 0, self.count
        while lo < hi:
            mid = (lo + hi) // 2
            if self.value(mid) < ms:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def _lag_seconds(self) -> list[int]:
        if self._lags is None:
            lag = self.lag
            self._lags = (
                [0] * PERIOD if lag is None else [lag.value(r) // 1000 for r in range(PERIOD)]
            )
        return self._lags

    def csv_column(self, ftype: str, indexes: Sequence[int], dialect: CsvDialect) -> list[str]:
        if not indexes:
            return []
        if isinstance(indexes, range) and indexes.step == 1 and self.step:
            step = self.step
            seconds: Sequence[int] = range(
                self.seconds(indexes.start), self.seconds(indexes.stop), step
            )
        else:
            seconds = [self.seconds(i) for i in indexes]
        if self.lag is not None:
            lags = self._lag_seconds()
            pairs = zip(seconds, indexes, strict=True)
            seconds = [s - lags[i % PERIOD] for s, i in pairs]
        first_day = min(seconds) // 86400
        q = '"' if dialect.full else ""
        days = [f"{q}{day_text(d)}T" for d in range(first_day, max(seconds) // 86400 + 1)]
        clock = whole_second_clock() if not q else _quoted_clock()
        return [days[s // 86400 - first_day] + clock[s % 86400] for s in seconds]


@dataclass
class FieldSpec:
    """One field of an object: describe metadata plus how its seeded values are made."""

    name: str
    type: str
    label: str
    gen: Generator = field(default_factory=lambda: ConstGen(None))
    length: int = 0
    precision: int = 0
    scale: int = 0
    digits: int = 0
    nillable: bool = True
    custom: bool = False
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    compound_field_name: str | None = None
    picklist: tuple[str, ...] = ()
    updateable: bool = True
    components: tuple[str, ...] = ()
    soap_type: str = "xsd:string"
    name_field: bool = False
    auto_number: bool = False

    @property
    def is_compound(self) -> bool:
        return self.type in COMPOUND_TYPES

    def describe(self) -> dict[str, Any]:
        """The field entry of an sObject describe response.

        Facets as the Apex Reference Guide, "DescribeFieldResult Class", and the Visualforce
        Developer Guide, "Field Schema Details Available Using $ObjectType", define them:
        ``digits`` only for integer fields (zero otherwise), ``precision``/``scale`` for
        double, currency and percent, ``length`` in characters for text fields and
        ``byteLength`` in bytes for variable-length ones (ids count one byte a character,
        other text up to three bytes, the UTF-8 maximum Salesforce reserves).
        """
        fractional = self.type in NUMERIC_TYPES and self.type != "int"
        length = self.length if self.type in _LENGTH_TYPES else 0
        byte_length = length if self.type in ("id", "reference", "base64") else length * 3
        return {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "soapType": self.soap_type,
            "length": length,
            "byteLength": byte_length,
            "precision": self.precision if fractional else 0,
            "scale": self.scale if fractional else 0,
            "digits": self.digits if self.type == "int" else 0,
            "nillable": self.nillable,
            "custom": self.custom,
            "calculated": False,
            "createable": self.updateable,
            "updateable": self.updateable,
            "filterable": not self.is_compound and self.type != "textarea",
            "sortable": not self.is_compound and self.type not in ("textarea", "multipicklist"),
            "groupable": self.type not in ("double", "currency", "percent", "datetime"),
            "unique": False,
            "externalId": False,
            "idLookup": self.name == "Id",
            "referenceTo": list(self.reference_to),
            "relationshipName": self.relationship_name,
            "compoundFieldName": self.compound_field_name,
            "picklistValues": [
                {"active": True, "defaultValue": False, "label": v, "validFor": None, "value": v}
                for v in self.picklist
            ],
            "defaultValue": None,
            "inlineHelpText": None,
            "nameField": self.name_field,
            "autoNumber": self.auto_number,
        }


SOAP_TYPES: dict[str, str] = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "int": "xsd:int",
    "double": "xsd:double",
    "currency": "xsd:double",
    "percent": "xsd:double",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
    "time": "xsd:time",
    "base64": "xsd:base64Binary",
    "address": "urn:address",
    "location": "urn:location",
}


def compound_key(compound: str, component: str) -> str:
    """JSON key of a component inside its compound value: BillingPostalCode -> postalCode."""
    stem = compound.removesuffix("__c") + "__" if compound.endswith("__c") else compound[:-7]
    part = component.removeprefix(stem).removesuffix("__s")
    return part[:1].lower() + part[1:]
