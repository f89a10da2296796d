"""Bulk API 2.0 query jobs streamed as ``CsvPage``s, one ``Sforce-Locator`` page at a time.

Result bytes are not parsed: the header line is checked and cut off, and cheap byte counts
reject a page that cannot be whole (too few line ends for ``Sforce-NumberOfRecords``,
unbalanced quotes); the destination checks the exact row count when it loads the page.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence

from dagplane.connectors.pages import CsvPage
from dagplane.connectors.salesforce.client import SalesforceClient
from dagplane.connectors.salesforce.errors import (
    BulkJobFailedError,
    MalformedPageError,
    SalesforceApiError,
    SalesforceError,
    error_from_text,
)

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "check_page",
    "header_end",
    "job_pages",
    "run_query_job",
    "split_header",
]

DEFAULT_PAGE_SIZE = 50_000
JOBS = "jobs/query"


def run_query_job(
    client: SalesforceClient,
    soql: str,
    *,
    poll_interval: float = 0.05,
    max_poll_interval: float = 2.0,
    timeout: float = 3600.0,
) -> str:
    """Create a ``queryAll`` job (deleted rows included) and wait until it completes; its id.

    A job that ends ``Failed``/``Aborted`` raises the error its ``errorMessage`` names
    (``QUERY_TIMEOUT`` → ``QueryTimeoutError``), else ``BulkJobFailedError``.
    """
    body = {"operation": "queryAll", "query": soql, "contentType": "CSV", "lineEnding": "LF"}
    job = client.request("create Bulk query job", "POST", JOBS, json=body).json()
    job_id = str(job["id"])
    deadline = time.monotonic() + timeout
    wait = poll_interval
    while job["state"] not in ("JobComplete", "Failed", "Aborted"):
        if time.monotonic() > deadline:
            raise BulkJobFailedError(f"Bulk job {job_id} did not finish in {timeout:.0f}s")
        time.sleep(wait)
        wait = min(max_poll_interval, wait * 1.5)
        job = client.request(f"poll Bulk job {job_id}", "GET", f"{JOBS}/{job_id}").json()
    if job["state"] != "JobComplete":
        raise _job_error(job_id, job)
    return job_id


def job_pages(
    client: SalesforceClient,
    object_name: str,
    job_id: str,
    columns: Sequence[str],
    page_size: int = DEFAULT_PAGE_SIZE,
) -> Iterator[CsvPage]:
    """The completed job's results, ``page_size`` rows per request, checked but not parsed."""
    locator = ""
    page_number = 0
    while True:
        params: dict[str, str | int] = {"maxRecords": page_size}
        if locator:
            params["locator"] = locator
        headers, content = client.download(
            f"read Bulk job {job_id} results",
            f"{JOBS}/{job_id}/results",
            params=params,
            headers={"Accept": "text/csv", "Accept-Encoding": "gzip"},
        )
        what = f"{object_name} Bulk job {job_id} page {page_number}"
        try:
            expected = int(headers["Sforce-NumberOfRecords"])
        except (KeyError, ValueError):
            raise MalformedPageError(f"{what}: no valid Sforce-NumberOfRecords header") from None
        header = bool(content)
        if header:
            header_end(content, columns, what)
        check_page(content, expected, what, header=header)
        yield CsvPage(object_name, tuple(columns), content, expected, page_number, header)
        del content
        page_number += 1
        locator = headers.get("Sforce-Locator") or ""
        if not locator or locator == "null":
            _delete_job(client, job_id)
            return


def _delete_job(client: SalesforceClient, job_id: str) -> None:
    """Delete a fully read job (Salesforce would keep its results for days); best effort."""
    try:
        client.request(f"delete Bulk job {job_id}", "DELETE", f"{JOBS}/{job_id}")
    except SalesforceError as exc:
        log.warning("could not delete Bulk job %s: %s", job_id, exc)


def header_end(content: bytes, columns: Sequence[str], what: str) -> int:
    """Where the rows start, once the CSV header line is checked against ``columns``."""
    end = content.find(b"\n")
    header = content if end < 0 else content[:end]
    names = header.rstrip(b"\r").replace(b'"', b"").decode("utf-8", "replace").split(",")
    if [n.lower() for n in names] != [c.lower() for c in columns]:
        raise MalformedPageError(f"{what}: header {names[:5]}... does not match the query")
    return len(content) if end < 0 else end + 1


def split_header(content: bytes, columns: Sequence[str], what: str) -> bytes:
    """The rows after the CSV header line, once the header is checked against ``columns``."""
    return content[header_end(content, columns, what) :] if content else b""


def check_page(body: bytes, expected: int, what: str, *, header: bool = False) -> None:
    """Raise ``MalformedPageError`` unless ``body`` can hold exactly ``expected`` CSV rows.

    C-speed byte counts only: the page must end a row, its quotes must balance, and it must
    have at least one line end per row announced (exactly one when no value is quoted).
    Salesforce quotes every value, and values may hold line breaks, so more line ends than
    rows is not an error by itself; the destination compares the rows it parsed with
    ``expected`` before anything is committed (cutting quoted values out to count here took
    half the extraction time).
    """
    if body and not body.endswith(b"\n"):
        raise MalformedPageError(f"{what}: the page is cut off mid-row")
    if body.count(b'"') % 2:
        raise MalformedPageError(f"{what}: unbalanced quotes, the CSV is malformed")
    lines = body.count(b"\n") - header
    if lines < expected or (lines > expected and b'"' not in body):
        raise MalformedPageError(
            f"{what}: {lines} rows where Sforce-NumberOfRecords announced {expected}"
        )


def _job_error(job_id: str, job: dict[str, object]) -> SalesforceError:
    """The error a failed job's ``errorMessage`` names; free text without a code is read too.

    What no code or wording identifies is ``BulkJobFailedError``: retried, then read by REST.
    """
    message = str(job.get("errorMessage") or "no error message")
    action = f"Bulk job {job_id} ended {job['state']}"
    error = error_from_text(action, message)
    if type(error) is SalesforceApiError:
        return BulkJobFailedError(str(error), code=error.code)
    return error
