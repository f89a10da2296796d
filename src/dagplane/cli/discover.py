"""``dagplane discover``: list the jobs and every module that failed to load."""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from dagplane.cli._common import echo_json, packages_option, print_failures, project_config


@click.command("discover")
@packages_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def command(packages_dir: Path | None, as_json: bool) -> int:
    """List discovered jobs; exit 1 if any job module failed to load."""
    from dagplane.jobs.discovery import discover

    config = project_config(packages_dir)
    result = discover(config.packages_dir, root=config.root)
    if as_json:
        echo_json(
            {
                "jobs": [job.summary() for job in result.jobs],
                "failures": [
                    {"path": f.path, "line": f.line, "field": f.field, "message": str(f)}
                    for f in result.failures
                ],
            }
        )
    else:
        _print_table(result.jobs)
        print_failures(result.failures)
    return 1 if result.failures else 0


def _print_table(jobs: list) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"{len(jobs)} job(s)", title_justify="left")
    for column in ("package", "job id", "schedule", "image", "secrets", "partitions"):
        table.add_column(column, overflow="fold")
    for job in jobs:
        o = job.options
        cells = (
            job.package,
            job.job_id,
            o.schedule or "manual",
            job.image,
            "\n".join(f"{s.name}: {', '.join(s.all_keys)}" for s in o.secrets) or "-",
            ", ".join(o.partitions) or "-",
        )
        table.add_row(*(escape(cell) for cell in cells))
    Console(highlight=False, width=max(120, shutil.get_terminal_size().columns)).print(table)
