"""A job that fails on purpose, to show how a failure reaches Airflow."""

from __future__ import annotations

from dagplane import Job, JobContext


def run(ctx: JobContext) -> int:
    """Raise, as a job does when its input is missing."""
    raise RuntimeError(f"upstream export for {ctx.run_id} is missing: nothing to load")


JOB = Job(
    entrypoint=run,
    description="Fails every time (an example of a failing job).",
    schedule=None,
    retries=0,
    tags=["example"],
)
