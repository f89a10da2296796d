"""A typed job: scheduled daily, one task per region, reads a secret it never prints."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from dagplane import Job, JobContext, Resources, Secret

log = logging.getLogger(__name__)


def run(ctx: JobContext) -> int:
    """Write a small report for one region into ``$DAGPLANE_EXAMPLES_OUTPUT``."""
    token = ctx.secret("REPORTING_API_TOKEN")
    # The runtime masks declared secrets: this line shows *** in every log.
    log.warning("calling the reporting API for %s with token %s", ctx.partition, token)
    out = Path(os.environ.get("DAGPLANE_EXAMPLES_OUTPUT", "."))
    out.mkdir(parents=True, exist_ok=True)
    report = {
        "region": ctx.partition,
        "run_id": ctx.run_id,
        "logical_date": ctx.logical_date.isoformat() if ctx.logical_date else None,
        "orders": 100 + sum(map(ord, ctx.partition or "")) % 50,
    }
    (out / f"regional_report_{ctx.partition}.json").write_text(json.dumps(report), "utf-8")
    print(f"wrote the {ctx.partition} report: {report['orders']} orders")
    return 0


JOB = Job(
    entrypoint=run,
    description="Daily orders report, one mapped task per region.\n\nWrites JSON files.",
    schedule="0 6 * * *",
    image="reports",
    secrets=[Secret(name="reporting-api", keys=["REPORTING_API_TOKEN"])],
    partitions=["emea", "amer", "apac"],
    retries=2,
    retry_delay="5m",
    timeout="30m",
    owner="analytics",
    tags=["reports", "example"],
    resources=Resources(cpu="250m", memory="256Mi", memory_limit="512Mi"),
    max_active_runs=1,
)
