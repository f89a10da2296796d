"""``SalesforceSource``: schema discovery and page-by-page extraction of one sObject at a time.

Bulk API 2.0 for large result sets and REST for small ones (chosen by a ``COUNT()`` query),
``QUERY_TIMEOUT`` answered by bisecting the cursor window, a failed Bulk job retried and then
replaced by REST.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from typing import Any, Literal

from dagplane.connectors.pages import CsvPage
from dagplane.connectors.salesforce.bulk import DEFAULT_PAGE_SIZE, job_pages, run_query_job
from dagplane.connectors.salesforce.client import RetryPolicy, SalesforceClient
from dagplane.connectors.salesforce.credentials import SalesforceCredentials
from dagplane.connectors.salesforce.errors import BulkJobFailedError, QueryTimeoutError
from dagplane.connectors.salesforce.fields import SalesforceField
from dagplane.connectors.salesforce.incremental import DEFAULT_CURSOR, Window, build_soql
from dagplane.connectors.salesforce.limits import ApiUsageGuard
from dagplane.connectors.salesforce.rest import rest_pages
from dagplane.connectors.salesforce.schema import FieldSelection, loadable_fields
from dagplane.errors import UsageError

__all__ = ["DEFAULT_BULK_THRESHOLD", "Mode", "SalesforceSource"]

log = logging.getLogger(__name__)

Mode = Literal["auto", "bulk", "rest"]
DEFAULT_BULK_THRESHOLD = 10_000


class SalesforceSource:
    """Reads sObjects from one org as a stream of ``CsvPage``s.

    ``mode="auto"`` uses Bulk API 2.0 when the window holds at least ``bulk_threshold`` rows,
    else REST. ``bulk_attempts`` Bulk jobs are tried before falling back to REST.
    """

    def __init__(
        self,
        client: SalesforceClient,
        *,
        mode: Mode = "auto",
        bulk_threshold: int = DEFAULT_BULK_THRESHOLD,
        page_size: int = DEFAULT_PAGE_SIZE,
        cursor_field: str = DEFAULT_CURSOR,
        bulk_attempts: int = 2,
        poll_interval: float = 0.05,
    ) -> None:
        _check_mode(mode)
        self.client = client
        self.mode = mode
        self.bulk_threshold = bulk_threshold
        self.page_size = page_size
        self.cursor_field = cursor_field
        self.bulk_attempts = bulk_attempts
        self.poll_interval = poll_interval

    @classmethod
    def from_credentials(
        cls,
        credentials: SalesforceCredentials,
        *,
        retry: RetryPolicy | None = None,
        max_api_share: float = 0.8,
        **options: Any,
    ) -> SalesforceSource:
        """A source with its own client; ``options`` are the constructor's keywords."""
        client = SalesforceClient(
            credentials, retry=retry, usage_guard=ApiUsageGuard(max_api_share)
        )
        return cls(client, **options)

    @classmethod
    def from_env(cls, **options: Any) -> SalesforceSource:
        """A source whose credentials come from ``SALESFORCE_*`` variables or secret files."""
        return cls.from_credentials(SalesforceCredentials.from_env(), **options)

    def __enter__(self) -> SalesforceSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()

    def fields(
        self, object_name: str, selection: FieldSelection | Sequence[str] | None = None
    ) -> list[SalesforceField]:
        """The object's loadable fields from ``describe()``, narrowed by ``selection``."""
        described = loadable_fields(self.client.describe(object_name))
        return FieldSelection.of(selection).apply(described, self.cursor_field)

    def count(self, object_name: str, window: Window | None = None) -> int:
        """Rows (deleted ones included) whose cursor lies in ``window``.

        Reads ``totalSize`` of a ``SELECT Id`` query's first, smallest (200-row) batch: as
        cheap as ``COUNT()`` in API calls, and understood by every server (the emulator too).
        """
        soql = build_soql(object_name, ["Id"], window or Window(), self.cursor_field)
        first = self.client.query(soql, include_deleted=True, batch_size=200)
        return int(first["totalSize"])

    def choose_mode(
        self, object_name: str, window: Window | None = None
    ) -> Literal["bulk", "rest"]:
        """``bulk`` when the window holds at least ``bulk_threshold`` rows, else ``rest``."""
        try:
            rows = self.count(object_name, window)
        except QueryTimeoutError:
            return "bulk"  # too many rows to even count quickly
        mode: Literal["bulk", "rest"] = "bulk" if rows >= self.bulk_threshold else "rest"
        log.info("%s: %d rows to extract, using %s", object_name, rows, mode)
        return mode

    def pages(
        self,
        object_name: str,
        fields: Sequence[SalesforceField],
        window: Window | None = None,
        *,
        mode: Mode | None = None,
    ) -> Iterator[CsvPage]:
        """The rows of ``fields`` whose cursor lies in ``window``, deleted ones included.

        Pages are numbered from 0 across window splits and fallbacks; nothing is requested
        before the first page is asked for.
        """
        mode = mode or self.mode
        _check_mode(mode)
        window = window or Window()
        columns = [field.name for field in fields]
        if mode == "auto":
            mode = self.choose_mode(object_name, window)
        pages = self._window_pages(object_name, columns, window, mode)
        for number, page in enumerate(pages):
            yield dataclasses.replace(page, page_number=number)

    def _window_pages(
        self, object_name: str, columns: list[str], window: Window, mode: str
    ) -> Iterator[CsvPage]:
        started = False
        try:
            for page in self._query_pages(object_name, columns, window, mode):
                started = True
                yield page
        except QueryTimeoutError:
            halves = None if started else window.split(datetime.now(timezone.utc))
            if halves is None:
                raise
            log.warning("%s: query timed out, splitting %s into halves", object_name, window)
            for half in halves:
                yield from self._window_pages(object_name, columns, half, mode)

    def _query_pages(
        self, object_name: str, columns: list[str], window: Window, mode: str
    ) -> Iterator[CsvPage]:
        soql = build_soql(object_name, columns, window, self.cursor_field)
        if mode == "rest":
            return rest_pages(self.client, object_name, soql, columns)
        for attempt in range(1, self.bulk_attempts + 1):
            try:
                job_id = run_query_job(self.client, soql, poll_interval=self.poll_interval)
            except BulkJobFailedError as exc:
                log.warning("%s: attempt %d: %s", object_name, attempt, exc)
                continue
            return job_pages(self.client, object_name, job_id, columns, self.page_size)
        log.warning("%s: Bulk failed %d times, reading with REST", object_name, self.bulk_attempts)
        return rest_pages(self.client, object_name, soql, columns)


def _check_mode(mode: str) -> None:
    if mode not in ("auto", "bulk", "rest"):
        raise UsageError(f"mode must be 'auto', 'bulk' or 'rest', not {mode!r}")
