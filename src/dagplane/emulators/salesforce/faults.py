"""Faults a test can inject: each kind fires on the next ``count`` matching requests.

==================  ========================================================  ==================
kind                effect                                                    options
==================  ========================================================  ==================
expire_session      401 INVALID_SESSION_ID; the session used is revoked, so
                    a client must log in again (each firing revokes one)      -
rate_limit          403 REQUEST_LIMIT_EXCEEDED                                -
http_429            HTTP 429 with ``Retry-After``                             retry_after=1
server_error        5xx with an UNKNOWN_EXCEPTION / SERVER_UNAVAILABLE body    status=503
empty_body_error    an API call answered with this HTTP status and an EMPTY   status=420
                    body (no JSON error list), as a proxy may answer; 420
                    or 406
query_timeout       400 QUERY_TIMEOUT (REST) or a Failed Bulk job, only for   max_window_seconds
                    queries whose SystemModstamp window is wider than that    =86400
slow_page           a query page (REST or Bulk results) is delayed            delay=1.0
truncated_page      a Bulk results body is cut short; Sforce-NumberOfRecords  fraction=0.5
                    still announces the full page
malformed_page      a Bulk CSV page gets a broken row (stray quote, one cell
                    missing); a REST query page gets invalid JSON             -
nul_bytes           a NUL character inside a text value (Name, Description,
                    ...) of the first row of the next page: ``\x00`` in Bulk
                    CSV, ``\u0000`` in REST JSON (one firing per page)        -
bulk_job_failed     the next Bulk query job ends ``Failed`` with errorMessage message=...
bulk_job_free_text  the next Bulk query job ends ``Failed`` with a free-text   message="Retried
                    errorMessage that has no ``CODE:`` prefix                 more than thirty
                                                                              times"
drop_connection     the next request whose path starts with ``path`` gets no  path=""
                    answer: the connection is closed (a network failure;
                    e.g. path="/services/Soap" for a login cut off)
==================  ========================================================  ==================

The default free-text message is the one the Bulk API Developer Guide, "How Bulk Queries Are
Processed", names for a bulk query whose results could not be retrieved.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

from .errors import EmulatorUsageError

FAULT_OPTIONS: dict[str, dict[str, Any]] = {
    "expire_session": {},
    "rate_limit": {},
    "http_429": {"retry_after": 1},
    "server_error": {"status": 503},
    "query_timeout": {"max_window_seconds": 86_400.0},
    "slow_page": {"delay": 1.0},
    "truncated_page": {"fraction": 0.5},
    "malformed_page": {},
    "bulk_job_failed": {"message": "InternalServerError: the job could not be completed"},
    "bulk_job_free_text": {"message": "Retried more than thirty times"},
    "nul_bytes": {},
    "empty_body_error": {"status": 420},
    "drop_connection": {"path": ""},
}
EMPTY_BODY_STATUSES = (420, 406)
FAULT_KINDS = tuple(FAULT_OPTIONS)


@dataclass
class Fault:
    kind: str
    remaining: int
    options: dict[str, Any]


class Faults:
    """The armed faults; thread-safe. ``fired`` counts how often each kind took effect."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: dict[str, Fault] = {}
        self.fired: Counter[str] = Counter()

    def inject(self, kind: str, count: int = 1, **options: Any) -> None:
        """Arm ``kind`` for the next ``count`` matching requests (replaces an armed one)."""
        if kind not in FAULT_OPTIONS:
            raise EmulatorUsageError(f"unknown fault kind {kind!r}; known: {list(FAULT_KINDS)}")
        unknown = set(options) - set(FAULT_OPTIONS[kind])
        if unknown:
            raise EmulatorUsageError(f"fault {kind!r} has no option(s) {sorted(unknown)}")
        if count < 1:
            raise EmulatorUsageError("count must be at least 1")
        if kind == "empty_body_error" and options.get("status", 420) not in EMPTY_BODY_STATUSES:
            raise EmulatorUsageError(f"empty_body_error status is one of {EMPTY_BODY_STATUSES}")
        with self._lock:
            self._armed[kind] = Fault(kind, count, {**FAULT_OPTIONS[kind], **options})

    def clear(self) -> None:
        """Disarm every fault."""
        with self._lock:
            self._armed.clear()

    def armed(self, kind: str) -> dict[str, Any] | None:
        """The options of ``kind`` if it is armed, without using it up."""
        with self._lock:
            fault = self._armed.get(kind)
            return dict(fault.options) if fault else None

    def take(self, kind: str) -> dict[str, Any] | None:
        """Use up one firing of ``kind``: its options, or None if it is not armed."""
        with self._lock:
            fault = self._armed.get(kind)
            if fault is None:
                return None
            fault.remaining -= 1
            if fault.remaining <= 0:
                del self._armed[kind]
            self.fired[kind] += 1
            return dict(fault.options)

    def fire(self, kind: str) -> bool:
        """Use up one firing of ``kind``; True if it was armed."""
        return self.take(kind) is not None

    def pending(self) -> dict[str, int]:
        """How many firings each armed kind has left."""
        with self._lock:
            return {kind: fault.remaining for kind, fault in self._armed.items()}
