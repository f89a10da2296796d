"""The daily API usage guard: stop before a run eats the org's whole quota."""

from __future__ import annotations

import re
from dataclasses import dataclass

from dagplane.connectors.salesforce.errors import ApiUsageLimitError

__all__ = ["ApiUsage", "ApiUsageGuard", "parse_api_usage"]

_API_USAGE = re.compile(r"(?:^|[^-])api-usage=(\d+)/(\d+)")


@dataclass(frozen=True)
class ApiUsage:
    """Daily API requests used and allowed, from ``Sforce-Limit-Info``."""

    used: int
    limit: int


def parse_api_usage(header: str | None) -> ApiUsage | None:
    """``ApiUsage`` from a ``Sforce-Limit-Info`` value (``api-usage=N/M``), else ``None``."""
    match = _API_USAGE.search(header or "")
    if not match:
        return None
    return ApiUsage(int(match.group(1)), int(match.group(2)))


class ApiUsageGuard:
    """Raises ``ApiUsageLimitError`` once reported usage reaches ``max_share`` of the quota."""

    def __init__(self, max_share: float = 0.8) -> None:
        if not 0 < max_share <= 1:
            raise ValueError(f"max_share must be in (0, 1], not {max_share}")
        self.max_share = max_share
        self.last: ApiUsage | None = None

    def observe(self, header: str | None) -> None:
        """Record the usage a response reported; raise when it is at or over the share."""
        usage = parse_api_usage(header)
        if usage is None or usage.limit <= 0:
            return
        self.last = usage
        if usage.used >= usage.limit * self.max_share:
            raise ApiUsageLimitError(usage.used, usage.limit, self.max_share)
