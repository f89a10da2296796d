"""How values are written: Bulk API 2.0 CSV cells (two dialects), REST JSON values, datetimes.

Internal value representation: datetime = int epoch milliseconds (UTC), date = "YYYY-MM-DD",
time = "HH:MM:SS.sssZ", numbers = int/float, boolean = bool, text types = str, null = None.

CSV dialects: ``"salesforce"`` (the default) writes what Bulk API 2.0 sends: every header name
and every value double-quoted, a null as ``""``, numbers as Java's ``Double.toString`` writes
them (``"23.0"``, ``"1.2345E9"``). ``"minimal"`` is the emulator's older dialect: quotes only
where RFC 4180 needs them, a null as an empty unquoted cell, numbers as Python prints them.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

CSV_DIALECTS = ("salesforce", "minimal")
NUMERIC_TYPES = frozenset({"int", "double", "currency", "percent"})
_FRACTIONAL_TYPES = frozenset({"double", "currency", "percent"})
_EPOCH = dt.date(1970, 1, 1)
_DAY_MS = 86_400_000
_days: dict[int, str] = {}
_times_of_day: list[str] = []
_clock: list[str] = []


def day_text(days: int) -> str:
    """``YYYY-MM-DD`` of a day number since 1970-01-01 (cached)."""
    text = _days.get(days)
    if text is None:
        text = _days[days] = (_EPOCH + dt.timedelta(days=days)).isoformat()
    return text


def _time_of_day(seconds: int) -> str:
    if not _times_of_day:
        # Built whole, then put in place in one step: the server's other threads read this
        # list, and a half-extended one made them fail with IndexError under parallel load.
        table = [
            f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)
        ]
        _times_of_day[:] = table
    return _times_of_day[seconds]


def whole_second_clock() -> list[str]:
    """``HH:MM:SS.000Z`` for every second of a day."""
    if not _clock:
        _time_of_day(0)
        _clock[:] = [f"{t}.000Z" for t in _times_of_day]  # in one step, as above
    return _clock


def format_datetime(ms: int, zone: str = "Z") -> str:
    """``2024-01-31T12:00:00.000Z`` (Bulk CSV) or with ``zone="+0000"`` (REST JSON)."""
    days, rest = divmod(ms, _DAY_MS)
    seconds, millis = divmod(rest, 1000)
    return f"{day_text(days)}T{_time_of_day(seconds)}.{millis:03d}{zone}"


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


def java_double(value: float) -> str:
    """``value`` as Java's ``Double.toString`` writes it: ``23.0``, ``0.001``, ``1.2345E9``.

    Salesforce's back end is Java and writes numbers of every numeric field type this way in
    Bulk API 2.0 CSV: plain notation with at least one fraction digit for 1e-3 <= |x| < 1e7,
    otherwise computerized scientific notation (Salesforce Knowledge Article 000221617, "Why do
    I see exponential values for custom number field?", and the type table of Celigo's
    "Salesforce Bulk API 2.0 Guide": Number 23 -> "23.0", Currency 100 -> 100.0). Digits are
    the shortest that round-trip, as in Java 19 and later.
    """
    x = float(value)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "-0.0" if math.copysign(1.0, x) < 0 else "0.0"
    magnitude = abs(x)
    if 1e-3 <= magnitude < 1e7:
        return repr(x)  # Python's repr is plain with a fraction digit in this range
    sign = "-" if x < 0 else ""
    mantissa, _, exponent = repr(magnitude).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    point = len(whole) + int(exponent or 0)
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    stripped = stripped.rstrip("0") or "0"
    return f"{sign}{stripped[0]}.{stripped[1:] or '0'}E{point - 1}"


def csv_quote(text: str, delimiter: str) -> str:
    """Quote a CSV cell only if it needs it (RFC 4180 style; the ``minimal`` dialect)."""
    if delimiter in text or '"' in text or "\n" in text or "\r" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


@dataclass(frozen=True)
class CsvDialect:
    """How one Bulk job writes cells: ``name`` (salesforce / minimal) and the column delimiter."""

    name: str = "salesforce"
    delimiter: str = ","

    @property
    def full(self) -> bool:
        """True when every cell is quoted (the ``salesforce`` dialect)."""
        return self.name == "salesforce"

    def text(self, ftype: str, value: Any) -> str:
        """A value's text before quoting."""
        if value is None:
            return ""
        if ftype == "datetime":
            return format_datetime(value)
        if value is True:
            return "true"
        if value is False:
            return "false"
        if self.full and ftype in NUMERIC_TYPES:
            # Bulk API 2.0 and Bulk API Developer Guide, "Valid CSV Record Rows": doubles may be
            # written in scientific notation; see ``java_double`` for the exact shape.
            return java_double(value)
        return str(value)

    def quote(self, text: str) -> str:
        """One cell: always quoted (salesforce) or quoted only when needed (minimal)."""
        if self.full:
            # Bulk API 2.0 and Bulk API Developer Guide, "Get Results for a Query Job": result
            # cells come double-quoted, embedded quotes doubled (as the simple-salesforce issue
            # #765 "Bulk2 Query Result Issue with enumerate" shows); a null is "".
            return '"' + text.replace('"', '""') + '"' if '"' in text else f'"{text}"'
        return csv_quote(text, self.delimiter)

    def cell(self, ftype: str, value: Any) -> str:
        return self.quote(self.text(ftype, value))

    def header(self, names: Iterable[str]) -> str:
        return self.delimiter.join(map(self.quote, names))


def to_json_value(ftype: str, value: Any) -> Any:
    """A value as the REST API writes it in JSON."""
    if value is None:
        return None
    if ftype == "datetime":
        return format_datetime(value, "+0000")
    if ftype in _FRACTIONAL_TYPES and not isinstance(value, bool):
        # Salesforce Knowledge Article 000221617, "Why do I see exponential values for custom
        # number field?": REST returns non-integer field types as doubles (1234567.0).
        return float(value)
    if ftype == "int" and isinstance(value, float) and value.is_integer():
        return int(value)
    return value
