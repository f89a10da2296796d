"""The unit that flows from a connector to a destination: one page of CSV rows."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CsvPage"]


@dataclass(frozen=True)
class CsvPage:
    """One page of extracted rows in Salesforce Bulk API 2.0 CSV dialect.

    ``columns`` are the source field names in the order of the CSV; ``body`` holds the rows
    only (no header line), RFC 4180 quoting, ``\\n`` line ends, an empty unquoted value for
    null, ``true``/``false`` for booleans and ISO-8601 for dates and datetimes.
    ``expected_rows`` is what the source said the page holds (``Sforce-NumberOfRecords`` or the
    REST batch size); a destination that loads a different number must reject the page.
    """

    object_name: str
    columns: tuple[str, ...]
    body: bytes
    expected_rows: int
    page_number: int = 0
