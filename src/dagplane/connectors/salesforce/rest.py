"""REST ``queryAll`` paging (``nextRecordsUrl``), each JSON batch turned into a ``CsvPage``."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from dagplane.connectors.pages import CsvPage
from dagplane.connectors.salesforce.client import SalesforceClient

__all__ = ["records_to_csv", "rest_pages"]


def rest_pages(
    client: SalesforceClient, object_name: str, soql: str, columns: Sequence[str]
) -> Iterator[CsvPage]:
    """One ``CsvPage`` per REST batch of a ``queryAll`` (deleted rows included)."""
    result = client.query(soql, include_deleted=True)
    page_number = 0
    while True:
        records = result["records"]
        if records:
            body = records_to_csv(records, columns)
            yield CsvPage(object_name, tuple(columns), body, len(records), page_number)
            page_number += 1
        if result.get("done", True):
            return
        result = client.query_more(result["nextRecordsUrl"])


def records_to_csv(records: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> bytes:
    """Rows in the Bulk API 2.0 CSV dialect (no header): ``true``/``false``, null as empty.

    Only ``columns`` are written, so ``attributes`` never is; a compound (dict) value is
    written as empty, its components being ordinary fields.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for record in records:
        writer.writerow([_cell(record.get(column)) for column in columns])
    return buffer.getvalue().encode("utf-8")


def _cell(value: Any) -> Any:
    if value is None or isinstance(value, dict):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value
