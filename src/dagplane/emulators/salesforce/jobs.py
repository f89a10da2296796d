"""Open REST query cursors and Bulk API 2.0 query jobs."""

from __future__ import annotations

import base64
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from .auth import USER_ID
from .csvout import CsvWriter
from .encoding import gzip_bytes
from .errors import ApiError
from .faultdata import nul_segments
from .fields import format_datetime
from .ids import IdCodec
from .query import Cursor, Plan

# Bulk API 2.0 and Bulk API Developer Guide, "Create a Query Job": columnDelimiter and
# lineEnding request parameters (the results are written with them).
DELIMITERS = {"COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^"}
DELIMITERS["BACKQUOTE"] = "`"
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
_MAX_OPEN_QUERIES = 1_000


@dataclass
class OpenQuery:
    """A REST query whose later pages are fetched through ``nextRecordsUrl``."""

    plan: Plan
    cursors: dict[int, Cursor] = field(default_factory=dict)


class QueryCursors:
    """REST query locators (``01g...-2000``), the newest ``_MAX_OPEN_QUERIES`` kept."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: OrderedDict[str, OpenQuery] = OrderedDict()
        self._codec = IdCodec("01g")
        self._next = 0

    def open(self, plan: Plan) -> tuple[str, OpenQuery]:
        """Register a new query; returns its id and state."""
        with self._lock:
            query_id = self._codec.make(self._next)
            self._next += 1
            opened = self._open[query_id] = OpenQuery(plan)
            while len(self._open) > _MAX_OPEN_QUERIES:
                self._open.popitem(last=False)
            return query_id, opened

    def find(self, locator: str) -> tuple[str, OpenQuery, Cursor]:
        """The query and cursor of ``<queryId>-<offset>``; INVALID_QUERY_LOCATOR if unknown."""
        query_id, _, offset = locator.rpartition("-")
        with self._lock:
            found = self._open.get(query_id)
            cursor = found.cursors.get(int(offset)) if found and offset.isdigit() else None
        if found is None or cursor is None:
            raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return query_id, found, cursor


@dataclass(frozen=True)
class ResultPage:
    """A Bulk results page: CSV bytes, how many rows, the cursor after it (None: last) and,
    when the client accepts gzip, the compressed body (made ahead, off the request path)."""

    body: bytes
    rows: int
    after: Cursor | None
    gzipped: bytes | None = None


class PageCache:
    """Rendered (and gzipped) Bulk result pages kept for repeats of the same query.

    Off unless asked for: benchmarks turn it on so that, after a first pass, serving a page
    costs about what it costs a remote org's client (TLS and sending), not this machine's CPU
    for rendering and compressing it. Keyed by the query and the store's revision, so a
    change to the data is never served from an older page. Oldest pages go first past
    ``max_bytes``.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._pages: OrderedDict[tuple[Any, ...], ResultPage] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0

    def get(self, key: tuple[Any, ...]) -> ResultPage | None:
        with self._lock:
            page = self._pages.get(key)
            if page is not None:
                self.hits += 1
            return page

    def put(self, key: tuple[Any, ...], page: ResultPage) -> None:
        size = len(page.body) + len(page.gzipped or b"")
        with self._lock:
            if key in self._pages or size > self.max_bytes:
                return
            self._pages[key] = page
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, old = self._pages.popitem(last=False)
                self._bytes -= len(old.body) + len(old.gzipped or b"")


@dataclass
class BulkJob:
    """One Bulk API 2.0 query job; its rows are computed when results are fetched."""

    id: str
    operation: str
    plan: Plan | None
    writer: CsvWriter | None
    version: str
    column_delimiter: str
    line_ending: str
    in_progress_polls: int
    prefetch: ThreadPoolExecutor | None = None
    state: str = "UploadComplete"
    final_state: str = "JobComplete"
    error_message: str | None = None
    created_ms: int = field(default_factory=lambda: int(time.time() * 1000))
    finished_ms: int = 0
    cache: PageCache | None = None
    cache_key: tuple[Any, ...] = ()
    _next_page: tuple[Cursor, int, Future[ResultPage]] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _render(self, cursor: Cursor, size: int, gzip: bool, nul: bool = False) -> ResultPage:
        assert self.plan is not None and self.writer is not None
        segments, after = self.plan.page(cursor, size)
        if nul:
            segments = nul_segments(self.plan, segments)
        rows = sum(1 if isinstance(s, dict) else len(s) for s in segments)
        body = self.writer.page(segments)
        return ResultPage(body, rows, after, gzip_bytes(body) if gzip else None)

    def results(self, cursor: Cursor, size: int, *, gzip: bool, nul: bool = False) -> ResultPage:
        """One page of CSV results; the following page (and its gzip form when the client
        accepts gzip) is prepared while this one is sent. ``nul`` fires the nul_bytes fault."""
        key = (*self.cache_key, cursor, size, gzip)
        if self.cache is not None and not nul and (cached := self.cache.get(key)) is not None:
            return cached
        with self._lock:
            ready, self._next_page = self._next_page, None
        if ready is not None and ready[:2] == (cursor, size) and not nul:
            page = ready[2].result()
            if gzip and page.gzipped is None:
                page = replace(page, gzipped=gzip_bytes(page.body))
            elif not gzip and page.gzipped is not None:  # made ahead for a gzip request
                page = replace(page, gzipped=None)
        else:
            page = self._render(cursor, size, gzip, nul)
        if self.cache is not None and not nul:
            self.cache.put(key, page)
        if page.after is not None and self.prefetch is not None:
            upcoming = self.prefetch.submit(self._render, page.after, size, gzip)
            with self._lock:
                self._next_page = (page.after, size, upcoming)
        return page

    def poll(self) -> dict[str, Any]:
        """Job info for ``GET /jobs/query/<id>``; advances UploadComplete -> InProgress -> done.

        Bulk API 2.0 and Bulk API Developer Guide, "Get Information About a Query Job": the
        create-time keys plus jobType, numberRecordsProcessed, retries, totalProcessingTime,
        isPkChunkingSupported, and errorMessage once the job is Failed.
        """
        if self.state in ("UploadComplete", "InProgress"):
            if self.in_progress_polls > 0:
                self.in_progress_polls -= 1
                self.state = "InProgress"
            else:
                self.state = self.final_state
                self.finished_ms = int(time.time() * 1000)
        info = self.info()
        done = self.state == "JobComplete" and self.plan is not None
        info["jobType"] = "V2Query"
        info["numberRecordsProcessed"] = self.plan.total if done and self.plan else 0
        info["retries"] = 0
        info["totalProcessingTime"] = max(self.finished_ms - self.created_ms, 0) if done else 0
        info["isPkChunkingSupported"] = True
        if self.error_message and self.state == "Failed":
            info["errorMessage"] = self.error_message
        return info

    def info(self) -> dict[str, Any]:
        """The job's JSON description as create and abort answer it.

        Bulk API 2.0 and Bulk API Developer Guide, "Create a Query Job" (response body): id,
        operation, object, createdById, createdDate, systemModstamp, state, concurrencyMode,
        contentType, apiVersion (a number), lineEnding, columnDelimiter.
        """
        stamp = format_datetime(self.created_ms, "+0000")
        return {
            "id": self.id,
            "operation": self.operation,
            "object": self.plan.obj.name if self.plan else "",
            "createdById": USER_ID,
            "createdDate": stamp,
            "systemModstamp": stamp,
            "state": self.state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(self.version),
            "lineEnding": self.line_ending,
            "columnDelimiter": self.column_delimiter,
        }


def encode_locator(cursor: Cursor) -> str:
    return base64.urlsafe_b64encode(".".join(map(str, cursor)).encode()).decode().rstrip("=")


def decode_locator(locator: str) -> Cursor:
    """The cursor inside a ``Sforce-Locator``; 400 INVALIDLOCATOR if it is not one of ours."""
    try:
        text = base64.urlsafe_b64decode(locator + "=" * (-len(locator) % 4)).decode()
        a, b, emitted = (int(part) for part in text.split("."))
    except ValueError as exc:
        raise ApiError(400, "INVALIDLOCATOR", f"Invalid locator: {locator}") from exc
    return a, b, emitted


class BulkJobs:
    """Every Bulk query job of this emulator run; thread-safe."""

    def __init__(self, cache: PageCache | None = None) -> None:
        self.cache = cache
        self._lock = threading.Lock()
        self._jobs: dict[str, BulkJob] = {}
        self._codec = IdCodec("750")
        self._next = 0
        self._prefetch: ThreadPoolExecutor | None = None

    def close(self) -> None:
        """Stop preparing pages ahead."""
        with self._lock:
            prefetch, self._prefetch = self._prefetch, None
        if prefetch is not None:
            prefetch.shutdown(wait=False, cancel_futures=True)

    def add(self, **fields: Any) -> BulkJob:
        with self._lock:
            if self._prefetch is None:
                self._prefetch = ThreadPoolExecutor(2, thread_name_prefix="sf-bulk-page")
            job = BulkJob(
                id=self._codec.make(self._next),
                prefetch=self._prefetch,
                cache=self.cache,
                **fields,
            )
            self._next += 1
            self._jobs[job.id] = job
            return job

    def get(self, job_id: str) -> BulkJob:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        return job

    def remove(self, job_id: str) -> None:
        with self._lock:
            self._jobs.pop(job_id, None)

    @property
    def created(self) -> int:
        """How many jobs were created (deleted ones included)."""
        with self._lock:
            return self._next

    def all(self) -> list[BulkJob]:
        with self._lock:
            return list(self._jobs.values())
