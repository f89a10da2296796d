"""Steps both demos share: a local Airflow with the project's DAGs synced into it."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from dagplane.config import load_config
from dagplane.dags.local_airflow import LocalAirflow
from dagplane.dags.sync import sync_dags
from dagplane.jobs.discovery import DiscoveryResult, discover

__all__ = ["prepare_airflow"]


def prepare_airflow(
    work: Path, env: dict[str, str], console: Console
) -> tuple[LocalAirflow, DiscoveryResult]:
    """Sync the project's jobs into ``work/dags`` and migrate an Airflow home in ``work``."""
    config = load_config()
    airflow = LocalAirflow(
        home=work / "airflow",
        dags_dir=work / "dags",
        packages_dir=config.packages_dir,
        extra_env=env,
    )
    with console.status("discovering jobs and syncing DAG files"):
        discovery = discover(config.packages_dir, root=config.root)
        report = sync_dags(discovery, airflow.dags_dir)
    console.print(
        f"[green]✓[/] {len(discovery.jobs)} jobs discovered, {len(report.written)} DAG files "
        f"written to {airflow.dags_dir}"
    )
    with console.status("creating the Airflow metadata database (SQLite)"):
        airflow.migrate()
    console.print(f"[green]✓[/] Airflow 3 ready in {airflow.home}")
    return airflow, discovery
