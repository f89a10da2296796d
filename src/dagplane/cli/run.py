"""``dagplane run``: run one job locally, without Airflow."""

from __future__ import annotations

from pathlib import Path

import click

from dagplane.cli._common import packages_option, project_config
from dagplane.errors import JobNotFoundError


@click.command("run", context_settings={"ignore_unknown_options": True})
@click.argument("job_id")
@click.option("--partition", default=None, help="Run one partition of a partitioned job.")
@packages_option
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def command(job_id: str, partition: str | None, packages_dir: Path | None, args: tuple) -> int:
    """Run JOB_ID (a job id or dag id) with ARGS passed through after `--`.

    Exit 0 when the job succeeds, 1 when it fails (its message is printed).
    """
    from dagplane.jobs.discovery import discover
    from dagplane.jobs.runtime import run_module

    config = project_config(packages_dir)
    result = discover(config.packages_dir, root=config.root)
    spec = result.get(job_id)
    if spec is None:
        known = ", ".join(sorted(j.job_id for j in result.jobs)) or "none"
        broken = [f.path for f in result.failures]
        extra = f"; modules that failed discovery: {', '.join(broken)}" if broken else ""
        raise JobNotFoundError(f"no job {job_id!r} (jobs: {known}){extra}")
    partitions = spec.options.partitions
    if partitions and partition not in partitions:
        raise click.BadParameter(
            f"{partition!r} is not one of {', '.join(partitions)}"
            if partition is not None
            else f"{spec.job_id} is partitioned: choose one of {', '.join(partitions)}",
            param_hint="--partition",
        )
    if partition is not None and not partitions:
        raise click.BadParameter(f"{spec.job_id} has no partitions", param_hint="--partition")
    run_module(
        spec.module,
        job_id=spec.job_id,
        partition=partition,
        args=tuple(args),
        packages_dir=config.packages_dir,
    )
    click.secho(f"job {spec.job_id} succeeded", fg="green", err=True)
    return 0
