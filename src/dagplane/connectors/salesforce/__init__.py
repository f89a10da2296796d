"""The Salesforce connector: credentials, a retrying client and page-by-page extraction.

Names are imported lazily, so importing this package does not import simple-salesforce.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dagplane.connectors.salesforce.client import RetryPolicy, SalesforceClient, build_session
    from dagplane.connectors.salesforce.credentials import AuthMode, SalesforceCredentials
    from dagplane.connectors.salesforce.errors import (
        ApiUsageLimitError,
        BulkJobFailedError,
        InvalidFieldError,
        MalformedPageError,
        MalformedQueryError,
        QueryTimeoutError,
        RateLimitedError,
        SalesforceApiError,
        SalesforceAuthError,
        SalesforceError,
        ServerError,
        SessionExpiredError,
    )
    from dagplane.connectors.salesforce.extract import Mode, SalesforceSource
    from dagplane.connectors.salesforce.fields import SalesforceField
    from dagplane.connectors.salesforce.incremental import Window, build_soql, window_since
    from dagplane.connectors.salesforce.limits import ApiUsageGuard
    from dagplane.connectors.salesforce.rest import records_to_csv
    from dagplane.connectors.salesforce.schema import FieldSelection

_MODULES = {
    "client": ("RetryPolicy", "SalesforceClient", "build_session"),
    "credentials": ("AuthMode", "SalesforceCredentials"),
    "errors": (
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
    ),
    "extract": ("Mode", "SalesforceSource"),
    "fields": ("SalesforceField",),
    "incremental": ("Window", "build_soql", "window_since"),
    "limits": ("ApiUsageGuard",),
    "rest": ("records_to_csv",),
    "schema": ("FieldSelection",),
}
_WHERE = {name: module for module, names in _MODULES.items() for name in names}

__all__ = [
    "ApiUsageGuard",
    "ApiUsageLimitError",
    "AuthMode",
    "BulkJobFailedError",
    "FieldSelection",
    "InvalidFieldError",
    "MalformedPageError",
    "MalformedQueryError",
    "Mode",
    "QueryTimeoutError",
    "RateLimitedError",
    "RetryPolicy",
    "SalesforceApiError",
    "SalesforceAuthError",
    "SalesforceClient",
    "SalesforceCredentials",
    "SalesforceError",
    "SalesforceField",
    "SalesforceSource",
    "ServerError",
    "SessionExpiredError",
    "Window",
    "build_session",
    "build_soql",
    "records_to_csv",
    "window_since",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
