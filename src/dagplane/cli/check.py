"""``dagplane check secrets``: no worker pod reads a Secret or key its job did not declare."""

from __future__ import annotations

from pathlib import Path

import click

from dagplane.cli._common import packages_option, print_failures, project_config


@click.group("check")
def group() -> None:
    """Check generated files against the job specs."""


@group.command("secrets")
@packages_option
@click.option(
    "--dags-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="DAG folder holding pod_templates/ (default: [tool.dagplane] dags-dir, else ./dags).",
)
def secrets(packages_dir: Path | None, dags_dir: Path | None) -> int:
    """Fail (exit 1, one line per problem naming DAG, Secret and key) when any DAG's pod
    template references a Secret or key its job did not declare, or exposes a whole Secret."""
    from dagplane.jobs.discovery import discover
    from dagplane.secrets import check_pod_templates

    config = project_config(packages_dir, dags_dir)
    discovery = discover(config.packages_dir, root=config.root)
    problems = check_pod_templates(discovery, config)
    for problem in problems:
        click.secho(f"error: {problem}", fg="red", err=True)
    print_failures(discovery.failures)
    if not problems:
        click.echo(
            f"{len(discovery.jobs)} DAG pod(s) read only the Secrets and keys their jobs declared",
            err=True,
        )
    return 1 if problems or discovery.failures else 0
