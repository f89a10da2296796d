"""The org-level REST resources: ``/services/data`` (API versions) and ``/vXX.X/limits``."""

from __future__ import annotations

from typing import Any

OLDEST_VERSION, NEWEST_VERSION = 31, 62
_SEASONS = ("Winter", "Spring", "Summer")

# REST API Developer Guide, "List Organization Limits": each limit is {"Max": n,
# "Remaining": n}. The allocations of a typical Enterprise Edition org; the daily API requests
# and Bulk API 2.0 query jobs are counted by the emulator.
_FIXED_LIMITS: dict[str, int] = {
    "ActiveScratchOrgs": 3,
    "ConcurrentAsyncGetReportInstances": 200,
    "ConcurrentSyncReportRuns": 20,
    "DailyAsyncApexExecutions": 250_000,
    "DailyBulkApiBatches": 15_000,
    "DailyBulkV2QueryFileStorageMB": 976_562,
    "DailyDurableGenericStreamingApiEvents": 10_000,
    "DailyDurableStreamingApiEvents": 10_000,
    "DailyGenericStreamingApiEvents": 10_000,
    "DailyStreamingApiEvents": 10_000,
    "DailyWorkflowEmails": 1_000_000,
    "DataStorageMB": 1_024,
    "FileStorageMB": 2_048,
    "HourlyAsyncReportRuns": 1_200,
    "HourlyDashboardRefreshes": 200,
    "HourlyODataCallout": 10_000,
    "HourlySyncReportRuns": 500,
    "HourlyTimeBasedWorkflow": 1_000,
    "MassEmail": 5_000,
    "SingleEmail": 5_000,
}
DAILY_BULK_V2_QUERY_JOBS = 10_000


def version_label(version: int) -> str:
    """The release of an API version: 31 -> "Summer '14", 62 -> "Winter '25".

    Three releases a year, Winter first, starting with Winter '11 at version 20.0.
    """
    year, season = divmod(version - 20, 3)
    return f"{_SEASONS[season]} '{11 + year:02d}"


def version_list() -> list[dict[str, str]]:
    """REST API Developer Guide, "List Available REST API Versions": label, url, version."""
    return [
        {"label": version_label(v), "url": f"/services/data/v{v}.0", "version": f"{v}.0"}
        for v in range(OLDEST_VERSION, NEWEST_VERSION + 1)
    ]


def org_limits(api_usage: tuple[int, int], bulk_jobs: int) -> dict[str, dict[str, Any]]:
    """The ``/limits`` body, keys sorted as Salesforce sends them."""
    used, total = api_usage
    limits = {name: {"Max": n, "Remaining": n} for name, n in _FIXED_LIMITS.items()}
    limits["DailyApiRequests"] = {"Max": total, "Remaining": max(total - used, 0)}
    remaining_jobs = max(DAILY_BULK_V2_QUERY_JOBS - bulk_jobs, 0)
    limits["DailyBulkV2QueryJobs"] = {"Max": DAILY_BULK_V2_QUERY_JOBS, "Remaining": remaining_jobs}
    return dict(sorted(limits.items()))
