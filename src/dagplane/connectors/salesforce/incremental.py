"""Incremental extraction: SOQL for a cursor-field time window, and splitting windows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

__all__ = [
    "DEFAULT_CURSOR",
    "DEFAULT_OVERLAP",
    "Window",
    "build_soql",
    "soql_datetime",
    "window_since",
]

DEFAULT_CURSOR = "SystemModstamp"
DEFAULT_OVERLAP = timedelta(minutes=5)
# No Salesforce record is older than Salesforce: the lower bound when bisecting a full load.
EPOCH = datetime(1999, 1, 1, tzinfo=timezone.utc)
MIN_SPAN = timedelta(seconds=2)


def soql_datetime(value: datetime) -> str:
    """A SOQL datetime literal in UTC, whole seconds (naive values are taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Window:
    """A half-open range of the cursor field, ``start <= cursor < end``; ``None`` is unbounded."""

    start: datetime | None = None
    end: datetime | None = None

    def where(self, cursor_field: str) -> str:
        """The SOQL condition for this window, ``""`` when unbounded on both sides."""
        parts = []
        if self.start is not None:
            parts.append(f"{cursor_field} >= {soql_datetime(self.start)}")
        if self.end is not None:
            parts.append(f"{cursor_field} < {soql_datetime(self.end)}")
        return " AND ".join(parts)

    def split(self, now: datetime) -> tuple[Window, Window] | None:
        """Two bounded halves at the middle second, or ``None`` when too narrow to split.

        An open start is closed at 1999, an open end at ``now``: rows changed later are
        picked up by the next run, whose watermark comes from the rows loaded.
        """
        low = self.start or EPOCH
        high = self.end or now
        if high - low < MIN_SPAN:
            return None
        middle = (low + (high - low) / 2).replace(microsecond=0)
        return Window(low, middle), Window(middle, high)


def window_since(watermark: datetime | None, overlap: timedelta = DEFAULT_OVERLAP) -> Window:
    """The window to extract after ``watermark``: from ``watermark - overlap`` (whole seconds,
    rounded down) onwards; everything on a first run (no watermark)."""
    if watermark is None:
        return Window()
    if watermark.tzinfo is None:
        watermark = watermark.replace(tzinfo=timezone.utc)
    return Window(start=(watermark - overlap).replace(microsecond=0))


def build_soql(
    object_name: str, columns: Sequence[str], window: Window, cursor_field: str = DEFAULT_CURSOR
) -> str:
    """``SELECT <columns> FROM <object> [WHERE <window>]``."""
    soql = f"SELECT {', '.join(columns)} FROM {object_name}"
    where = window.where(cursor_field)
    return f"{soql} WHERE {where}" if where else soql
