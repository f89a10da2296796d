"""The unit that flows from a connector to a destination: one page of CSV rows."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["CsvPage"]


@dataclass(frozen=True)
class CsvPage:
    """One page of extracted rows in Salesforce Bulk API 2.0 CSV dialect.

    ``columns`` are the source field names in the order of the CSV; ``body`` holds the rows,
    RFC 4180 quoting (every value quoted or only where needed), LF or CRLF line ends, an empty
    value (quoted or not) for null, ``true``/``false`` for booleans and ISO-8601 for dates and
    datetimes. When ``header`` is true, ``body`` starts with the CSV header line (already
    checked against ``columns``) and a destination skips it: cutting it off would copy a
    large page only to drop one line.
    ``expected_rows`` is what the source said the page holds (``Sforce-NumberOfRecords`` or the
    REST batch size); a destination that loads a different number must reject the page.
    """

    object_name: str
    columns: tuple[str, ...]
    body: bytes
    expected_rows: int
    page_number: int = 0
    header: bool = False

    def rows(self) -> Iterator[list[str]]:
        """The rows parsed with the ``csv`` module, header skipped: slow, for small pages and
        tests (destinations load ``body`` unparsed)."""
        reader = csv.reader(io.StringIO(self.body.decode("utf-8"), newline=""))
        if self.header:
            next(reader, None)
        yield from reader
