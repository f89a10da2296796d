"""Salesforce connector errors and the one boundary that translates third-party errors.

    SourceError (dagplane.errors)
    └── SalesforceError                 any Salesforce failure
        ├── SalesforceApiError          an error no class below covers (terminal)
        ├── SalesforceAuthError         login refused: bad credentials or TLS trust (terminal)
        ├── SessionExpiredError         INVALID_SESSION_ID: log in again and retry (transient)
        ├── RateLimitedError            REQUEST_LIMIT_EXCEEDED, HTTP 429, 420 or 406 (transient)
        ├── ServerError                 HTTP 5xx, an empty error body or a network failure
        │                               (transient)
        ├── QueryTimeoutError           QUERY_TIMEOUT: split the time window (terminal as is)
        ├── MalformedQueryError         MALFORMED_QUERY (terminal)
        ├── InvalidFieldError           INVALID_FIELD (terminal)
        ├── BulkJobFailedError          a Bulk 2.0 job ended Failed or Aborted (transient)
        ├── ApiUsageLimitError          the daily API quota guard tripped (terminal)
        └── MalformedPageError          a result page is short or not valid CSV (terminal)

``translate_errors()`` is the only place simple-salesforce and requests exceptions become these.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

import requests
import simple_salesforce.exceptions as sf_exc

from dagplane.errors import SourceError, TerminalError, TransientError

__all__ = [
    "ApiUsageLimitError",
    "BulkJobFailedError",
    "InvalidFieldError",
    "MalformedPageError",
    "MalformedQueryError",
    "QueryTimeoutError",
    "RateLimitedError",
    "SalesforceApiError",
    "SalesforceAuthError",
    "SalesforceError",
    "ServerError",
    "SessionExpiredError",
    "error_for",
    "error_from_text",
    "translate_errors",
]


class SalesforceError(SourceError):
    """A Salesforce call failed; ``code`` is Salesforce's errorCode or the HTTP status."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        self.code = code
        super().__init__(message)


class SalesforceApiError(SalesforceError, TerminalError):
    """A Salesforce or HTTP error no more specific class covers."""


class SalesforceAuthError(SalesforceError, TerminalError):
    """Salesforce refused the login, or its TLS certificate is not trusted."""


class SessionExpiredError(SalesforceError, TransientError):
    """The session id expired (``INVALID_SESSION_ID``); logging in again fixes it."""


class RateLimitedError(SalesforceError, TransientError):
    """Too many requests (``REQUEST_LIMIT_EXCEEDED`` or HTTP 429); back off and retry."""


class ServerError(SalesforceError, TransientError):
    """Salesforce answered 5xx or the connection failed; back off and retry."""


class QueryTimeoutError(SalesforceError, TerminalError):
    """The query ran too long (``QUERY_TIMEOUT``); a narrower time window may succeed."""


class MalformedQueryError(SalesforceError, TerminalError):
    """The SOQL is not valid (``MALFORMED_QUERY``)."""


class InvalidFieldError(SalesforceError, TerminalError):
    """The query names a field the object does not have (``INVALID_FIELD``)."""


class BulkJobFailedError(SalesforceError, TransientError):
    """A Bulk API 2.0 query job ended ``Failed`` or ``Aborted``."""


class ApiUsageLimitError(SalesforceError, TerminalError):
    """The org used too much of its daily API quota; extraction stopped before loading."""

    def __init__(self, used: int, limit: int, max_share: float) -> None:
        self.used = used
        self.limit = limit
        self.max_share = max_share
        super().__init__(
            f"Salesforce API usage is {used}/{limit} ({used / limit:.0%}), at or above the "
            f"configured share {max_share:.0%}: stopped before loading anything",
            code="API_USAGE_GUARD",
        )


class MalformedPageError(SalesforceError, TerminalError):
    """A result page does not hold what its headers announce; it must not be loaded."""


_CODE_ERRORS: dict[str, type[SalesforceError]] = {
    "INVALID_SESSION_ID": SessionExpiredError,
    "REQUEST_LIMIT_EXCEEDED": RateLimitedError,
    "QUERY_TIMEOUT": QueryTimeoutError,
    "MALFORMED_QUERY": MalformedQueryError,
    "INVALID_FIELD": InvalidFieldError,
    "INVALID_TYPE": InvalidFieldError,
}


# Statuses Salesforce's edge answers under load, usually with no body at all: 420 and 406 are
# seen from Salesforce as throttling (other connectors retry them like 429).
_THROTTLING_STATUSES = frozenset({406, 420, 429})
# Words of a free-text failure (a Bulk job's errorMessage has no code prefix) that name a
# known condition; checked only when the text carries no errorCode.
_TEXT_ERRORS: tuple[tuple[re.Pattern[str], type[SalesforceError]], ...] = (
    (re.compile(r"\brunning for too long\b|\btimed? ?out\b", re.I), QueryTimeoutError),
    (re.compile(r"\blimit (?:was |has been )?(?:exceeded|reached)\b", re.I), RateLimitedError),
    (re.compile(r"\bsession (?:expired|invalid)\b|\binvalid session\b", re.I), SessionExpiredError),
)
_CODE_IN_TEXT = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b")


def error_for(action: str, code: str, message: str, status: int = 0) -> SalesforceError:
    """The connector error for a Salesforce errorCode, else for the HTTP status.

    An error with no body (no code, no message) is transient whatever its status, except
    an expired session (401) and a missing resource (404): nothing in it says retrying fails.
    """
    cls = _CODE_ERRORS.get(code)
    if cls is None:
        cls = SalesforceApiError
        if status in _THROTTLING_STATUSES:
            cls = RateLimitedError
        elif status == 401:
            cls = SessionExpiredError
        elif status >= 500 or (status and status != 404 and not code and not message.strip()):
            cls = ServerError
    where = f"HTTP {status} " if status else ""
    text = message.strip() or "(empty response body)"
    return cls(f"{action}: {where}{code or 'error'}: {text}", code=code or str(status))


def error_from_text(action: str, text: str) -> SalesforceError:
    """The connector error for a free-text failure such as a Bulk job's ``errorMessage``.

    An errorCode anywhere in the text decides (``Failed to process query: QUERY_TIMEOUT: ...``;
    an unknown code such as ``QUERY_TOO_COMPLICATED`` gives ``SalesforceApiError``); only text
    with no code at all is read for known wording (``Your query request was running for too
    long``); anything else is ``SalesforceApiError``, for the caller to refine.
    """
    codes = _CODE_IN_TEXT.findall(text)
    if codes:  # a code decides, known or not: wording never overrides one
        known = [code for code in codes if code in _CODE_ERRORS]
        return error_for(action, known[0] if known else codes[0], text)
    for pattern, cls in _TEXT_ERRORS:
        if pattern.search(text):
            return cls(f"{action}: {text}", code=None)
    return SalesforceApiError(f"{action}: {text}", code=None)


@contextlib.contextmanager
def translate_errors(action: str) -> Iterator[None]:
    """Re-raise simple-salesforce and requests errors as connector errors, ``from`` the original.

    ``action`` says what was being done (``"query Account"``) and starts every message.
    """
    try:
        yield
    except SalesforceError:
        raise
    except sf_exc.SalesforceAuthenticationFailed as exc:
        code = None if exc.code is None else str(exc.code)
        raise SalesforceAuthError(f"{action}: login failed: {exc}", code=code) from exc
    except sf_exc.SalesforceError as exc:
        code, message = _first_error(exc.content)
        raise error_for(action, code, message, exc.status) from exc
    except requests.exceptions.SSLError as exc:
        raise SalesforceAuthError(
            f"{action}: TLS verification failed (is the CA bundle right?): {exc}", code="TLS"
        ) from exc
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise ServerError(f"{action}: network error: {exc}", code="NETWORK") from exc
    except requests.exceptions.JSONDecodeError as exc:
        raise MalformedPageError(f"{action}: the response is not valid JSON: {exc}") from exc
    except requests.RequestException as exc:
        raise SalesforceApiError(f"{action}: request failed: {exc}") from exc
    except sf_exc.SalesforceOperationError as exc:
        raise SalesforceApiError(f"{action}: {exc}") from exc


def _first_error(content: Any) -> tuple[str, str]:
    """``(errorCode, message)`` from an error body (list or dict), else ``("", text)``."""
    if isinstance(content, list) and content and isinstance(content[0], dict):
        content = content[0]
    if isinstance(content, dict):
        code = content.get("errorCode") or content.get("error") or ""
        message = content.get("message") or content.get("error_description") or ""
        return str(code), str(message)
    if isinstance(content, bytes):
        content = content.decode("utf-8", "replace")
    return "", str(content or "")[:500]
