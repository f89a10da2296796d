"""``dagplane demo``: the whole flow on embedded defaults, end to end."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("demo")
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Keep AIRFLOW_HOME, DAGs and outputs here (default: a temp folder, removed after).",
)
def command(workdir: Path | None) -> int:
    """Sync the example jobs into a temporary Airflow 3 and run one DAG for real."""
    from dagplane.demo import run_demo

    return run_demo(workdir=workdir)
