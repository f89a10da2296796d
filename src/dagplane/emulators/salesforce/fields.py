"""Field metadata, value formatting (CSV / JSON) and the seeded value generators.

Internal value representation: datetime = int epoch milliseconds (UTC), date = "YYYY-MM-DD",
time = "HH:MM:SS.sssZ", numbers = int/float, boolean = bool, text types = str, null = None.
A generator computes the value of record ``i`` from ``i`` alone, so nothing is stored.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .ids import IdCodec

_EPOCH = dt.date(1970, 1, 1)
_DAY_MS = 86_400_000
_days: dict[int, str] = {}
_times_of_day: list[str] = []
_clock: list[str] = []
COMPOUND_TYPES = frozenset({"address", "location"})
# Pool-drawn values repeat with this period (a prime), so whole runs of such cells can be
# precomputed once per query shape and then copied by slicing (see ``csvout.py``).
PERIOD = 16_381
NUMERIC_TYPES = frozenset({"int", "double", "currency", "percent"})


def _day(days: int) -> str:
    text = _days.get(days)
    if text is None:
        text = _days[days] = (_EPOCH + dt.timedelta(days=days)).isoformat()
    return text


def _time_of_day(seconds: int) -> str:
    if not _times_of_day:
        _times_of_day.extend(
            f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)
        )
    return _times_of_day[seconds]


def _whole_second_clock() -> list[str]:
    """``HH:MM:SS.000Z`` for every second of a day."""
    if not _clock:
        _time_of_day(0)
        _clock.extend(f"{t}.000Z" for t in _times_of_day)
    return _clock


def format_datetime(ms: int, zone: str = "Z") -> str:
    """``2024-01-31T12:00:00.000Z`` (Bulk CSV) or with ``zone="+0000"`` (REST JSON)."""
    days, rest = divmod(ms, _DAY_MS)
    seconds, millis = divmod(rest, 1000)
    return f"{_day(days)}T{_time_of_day(seconds)}.{millis:03d}{zone}"


def to_csv_text(ftype: str, value: Any) -> str:
    """A value as Bulk API 2.0 writes it in CSV, before quoting."""
    if value is None:
        return ""
    if ftype == "datetime":
        return format_datetime(value)
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def to_json_value(ftype: str, value: Any) -> Any:
    """A value as the REST API writes it in JSON."""
    if value is None:
        return None
    if ftype == "datetime":
        return format_datetime(value, "+0000")
    return value


def csv_quote(text: str, delimiter: str) -> str:
    """Quote a CSV cell if it needs it (RFC 4180 style, like Salesforce)."""
    if delimiter in text or '"' in text or "\n" in text or "\r" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


class Generator:
    """Computes the seeded value of one field for any record number."""

    def value(self, i: int) -> Any:
        raise NotImplementedError

    def csv_column(self, ftype: str, indexes: Sequence[int], delimiter: str) -> list[str]:
        """Quoted CSV cells for many records; subclasses override the slow generic path."""
        return [csv_quote(to_csv_text(ftype, self.value(i)), delimiter) for i in indexes]


class ConstGen(Generator):
    """The same value for every record."""

    def __init__(self, constant: Any) -> None:
        self.constant = constant

    def value(self, i: int) -> Any:
        return self.constant

    def csv_column(self, ftype: str, indexes: Sequence[int], delimiter: str) -> list[str]:
        return [csv_quote(to_csv_text(ftype, self.constant), delimiter)] * len(indexes)


class PoolGen(Generator):
    """``pool[(i % PERIOD * step + offset) % len(pool)]``: cheap, deterministic, periodic."""

    def __init__(self, pool: Sequence[Any], step: int, offset: int) -> None:
        self.pool = list(pool)
        self.step, self.offset = step, offset
        self._cells: dict[tuple[str, str], list[str]] = {}

    def value(self, i: int) -> Any:
        return self.pool[(i % PERIOD * self.step + self.offset) % len(self.pool)]

    def period_cells(self, ftype: str, delimiter: str) -> list[str]:
        """The quoted CSV cells of residues ``0 .. PERIOD-1``."""
        cells = self._cells.get((ftype, delimiter))
        if cells is None:
            pool = [csv_quote(to_csv_text(ftype, v), delimiter) for v in self.pool]
            a, b, n = self.step, self.offset, len(pool)
            cells = self._cells[(ftype, delimiter)] = [pool[(r * a + b) % n] for r in range(PERIOD)]
        return cells

    def csv_column(self, ftype: str, indexes: Sequence[int], delimiter: str) -> list[str]:
        cells = self.period_cells(ftype, delimiter)
        return [cells[i % PERIOD] for i in indexes]


class NumberedGen(Generator):
    """``head + str(i) + tail`` with head/tail from pools: unique emails, names, numbers."""

    def __init__(self, heads: Sequence[str], tails: Sequence[str], step: int) -> None:
        self.heads, self.tails, self.step = list(heads), list(tails), step

    def value(self, i: int) -> str:
        k = i * self.step
        return f"{self.heads[k % len(self.heads)]}{i}{self.tails[k % len(self.tails)]}"

    def csv_column(self, ftype: str, indexes: Sequence[int], delimiter: str) -> list[str]:
        heads, tails, a = self.heads, self.tails, self.step
        nh, nt = len(heads), len(tails)
        cells = [f"{heads[i * a % nh]}{i}{tails[i * a % nt]}" for i in indexes]
        if any(delimiter in t or '"' in t for t in (*heads, *tails)):
            cells = [csv_quote(c, delimiter) for c in cells]
        return cells


class IdGen(Generator):
    """The record's own id."""

    def __init__(self, codec: IdCodec) -> None:
        self.codec = codec

    def value(self, i: int) -> str:
        return self.codec.make(i)

    def csv_column(self, ftype: str, indexes: Sequence[int], delimiter: str) -> list[str]:
        return self.codec.make_many(indexes)


class ReferenceGen(Generator):
    """The id of a seeded record of another object (None if that object has no records)."""

    def __init__(self, codec: IdCodec, target_count: int, step: int, offset: int) -> None:
        self.codec, self.count = codec, target_count
        self.step, self.offset = step, offset

    def value(self, i: int) -> str | None:
        if not self.count:
            return None
        return self.codec.make((i * self.step + self.offset) % self.count)

    def csv_column(self, ftype: str, indexes: Sequence[int], delimiter: str) -> list[str]:
        if not self.count:
            return [""] * len(indexes)
        a, b, n = self.step, self.offset, self.count
        return self.codec.make_many([(i * a + b) % n for i in indexes])


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

    def csv_column(self, ftype: str, indexes: Sequence[int], delimiter: str) -> list[str]:
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
        days = [_day(d) + "T" for d in range(first_day, max(seconds) // 86400 + 1)]
        clock = _whole_second_clock()
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
    nillable: bool = True
    custom: bool = False
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    compound_field_name: str | None = None
    picklist: tuple[str, ...] = ()
    updateable: bool = True
    components: tuple[str, ...] = ()
    soap_type: str = "xsd:string"

    @property
    def is_compound(self) -> bool:
        return self.type in COMPOUND_TYPES

    def describe(self) -> dict[str, Any]:
        """The field entry of an sObject describe response."""
        return {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "soapType": self.soap_type,
            "length": self.length,
            "byteLength": self.length * 3,
            "precision": self.precision,
            "scale": self.scale,
            "digits": 9 if self.type == "int" else 0,
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


_DATETIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})$"
)


def parse_datetime(text: str) -> int | None:
    """Epoch ms of ``2024-01-01T00:00:00Z`` / ``...00.000+0000`` / ``...+02:00``, else None."""
    match = _DATETIME.match(text)
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        moment = dt.datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
    except ValueError:
        return None
    offset = 0
    if zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = sign * (int(digits[:2]) * 60 + int(digits[2:])) * 60_000
    millis = int((fraction or "0")[:3].ljust(3, "0"))
    epoch = (moment - dt.datetime(1970, 1, 1)) // dt.timedelta(milliseconds=1)
    return epoch + millis - offset


def compound_key(compound: str, component: str) -> str:
    """JSON key of a component inside its compound value: BillingPostalCode -> postalCode."""
    stem = compound.removesuffix("__c") + "__" if compound.endswith("__c") else compound[:-7]
    part = component.removeprefix(stem).removesuffix("__s")
    return part[:1].lower() + part[1:]
