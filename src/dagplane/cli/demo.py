"""``dagplane demo``: the whole flow on embedded defaults, end to end."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("demo")
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Keep AIRFLOW_HOME, DAGs, PostgreSQL data and outputs here "
    "(default: a temp folder, removed after).",
)
@click.option(
    "--records",
    type=click.IntRange(min=100),
    default=100_000,
    show_default=True,
    help="Rows the Salesforce emulator serves across its objects.",
)
@click.option(
    "--postgres-url",
    envvar="POSTGRES_URL",
    default=None,
    help="Load into this PostgreSQL instead of an embedded one [env: POSTGRES_URL].",
)
@click.option(
    "--real-salesforce",
    is_flag=True,
    help="Read a real org with the SALESFORCE_* credentials in the environment instead of the "
    "bundled emulator (skips the data-changing second run).",
)
@click.option("--examples", is_flag=True, help="Run the small example-jobs demo instead.")
def command(
    workdir: Path | None,
    records: int,
    postgres_url: str | None,
    real_salesforce: bool,
    examples: bool,
) -> int:
    """Run the Salesforce → PostgreSQL DAG through real Airflow 3, twice.

    Starts embedded PostgreSQL and the Salesforce emulator, syncs the DAGs, runs a full load,
    changes data in the emulator (updates, deletes, a new custom field) and runs again to
    show the incremental result.
    """
    if examples:
        from dagplane.demo import run_examples_demo

        return run_examples_demo(workdir=workdir)
    from dagplane.demo import run_salesforce_demo

    return run_salesforce_demo(
        workdir,
        records=records,
        postgres_url=postgres_url,
        real_salesforce=real_salesforce,
    )
