"""Incremental Salesforce → PostgreSQL extraction: one mapped task per object, hourly.

Each task syncs one object: rows changed since its watermark (minus an overlap window) are
streamed from Salesforce (Bulk API 2.0 for large objects, REST for small ones) and merged into
``salesforce.<object>`` in PostgreSQL; data and watermark commit in one transaction.
Edit ``partitions`` to choose the objects; custom objects (``Invoice__c``) work the same way.
"""

from __future__ import annotations

from dagplane import Job, JobContext, Resources, Secret


def run(ctx: JobContext) -> int:
    """Sync the object named by this task's partition."""
    from dagplane.pipelines.salesforce import main

    return main(ctx)


JOB = Job(
    entrypoint=run,
    description=(
        "Incremental Salesforce to PostgreSQL extraction, one mapped task per object.\n\n"
        "Streams changed rows (SystemModstamp watermark with an overlap window) and merges them "
        "into salesforce.<object>; deletes are marked in _deleted_at."
    ),
    schedule="@hourly",
    image="salesforce",
    secrets=[
        Secret(
            name="salesforce-credentials",
            keys=["SALESFORCE_USERNAME", "SALESFORCE_PASSWORD", "SALESFORCE_SECURITY_TOKEN"],
            # OAuth client credentials and JWT bearer logins: present only where used.
            optional_keys=[
                "SALESFORCE_CLIENT_ID",
                "SALESFORCE_CLIENT_SECRET",
                "SALESFORCE_PRIVATE_KEY",
            ],
        ),
        Secret(name="warehouse-postgres", keys=["POSTGRES_URL"]),
    ],
    partitions=["Account", "Contact", "Opportunity", "Lead", "Case", "User"],
    retries=3,
    retry_delay="2m",
    timeout="2h",
    owner="data-platform",
    tags=["salesforce", "postgres", "incremental"],
    resources=Resources(cpu="500m", memory="256Mi", memory_limit="512Mi"),
    max_active_runs=1,
)
