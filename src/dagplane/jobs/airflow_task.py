"""The bridge a generated DAG's task calls: Airflow context in, ``run_module`` out.

Imported lazily inside the task, so the scheduler never imports dagplane or job code.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from dagplane.errors import UsageError
from dagplane.jobs.context import present_secret_values
from dagplane.jobs.runtime import load_job, run_module

__all__ = ["args_from_conf", "packages_dir_from_env", "run_airflow_task"]


def packages_dir_from_env() -> Path | None:
    """``$DAGPLANE__PACKAGES_DIR``: where worker images put the job packages."""
    value = os.environ.get("DAGPLANE__PACKAGES_DIR")
    return Path(value) if value else None


def run_airflow_task(module: str, *, job_id: str, partition: str | None = None) -> None:
    """Run a job inside an Airflow task; a failure raises and so fails the task."""
    from airflow.sdk import get_current_context

    context = get_current_context()
    packages_dir = packages_dir_from_env()
    _mask_in_airflow(module, packages_dir)
    run_module(
        module,
        job_id=job_id,
        partition=partition,
        args=args_from_conf(context),
        packages_dir=packages_dir,
        context=_job_context_fields(context),
    )


def args_from_conf(context: Any) -> tuple[str, ...]:
    """The job's arguments: ``{"args": [...]}`` in the DAG run's conf (trigger with conf)."""
    dag_run = context.get("dag_run")
    args = (getattr(dag_run, "conf", None) or {}).get("args", [])
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise UsageError(
            f'dag_run.conf "args" must be a list of strings, e.g. {{"args": ["--full"]}}; '
            f"got {args!r}"
        )
    return tuple(args)


def _job_context_fields(context: Any) -> dict[str, Any]:
    ti = context.get("ti")
    return {
        "run_id": context.get("run_id"),
        "logical_date": context.get("logical_date"),
        "data_interval_start": context.get("data_interval_start"),
        "data_interval_end": context.get("data_interval_end"),
        "try_number": getattr(ti, "try_number", 1) or 1,
    }


def _mask_in_airflow(module: str, packages_dir: Path | None) -> None:
    """Register the job's secret values with Airflow's own log masker too."""
    from airflow.sdk.log import mask_secret

    _, _, job = load_job(module, packages_dir)
    if job is not None:
        for value in present_secret_values({s.name: s.all_keys for s in job.secrets}):
            mask_secret(value)
