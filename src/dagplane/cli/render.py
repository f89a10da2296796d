"""``dagplane render secrets``: ExternalSecrets, a kubectl recipe and the runtime guard."""

from __future__ import annotations

from pathlib import Path

import click

from dagplane.cli._common import (
    echo_json,
    packages_option,
    print_failures,
    print_write_report,
    project_config,
)
from dagplane.errors import DagplaneError

SECRETS_KINDS = ("secrets", "airflow_settings", "base_pod")


@click.group("render")
def group() -> None:
    """Render deployment files from the job specs."""


@group.command("secrets")
@packages_option
@click.option(
    "--deploy-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder to write into (default: [tool.dagplane] deploy-dir, else ./deploy).",
)
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if the files are stale.")
@click.option("--recipe", is_flag=True, help="Also print the kubectl recipe (no values).")
@click.option("--json", "as_json", is_flag=True, help="Print what happened as JSON.")
def secrets(
    packages_dir: Path | None, deploy_dir: Path | None, check: bool, recipe: bool, as_json: bool
) -> int:
    """Write deploy/secrets/<secret>.yaml (ExternalSecrets with exactly the keys jobs read),
    deploy/secrets/create-secrets.sh (kubectl, values from the environment),
    deploy/airflow/airflow_local_settings.py (rejects pods reading undeclared Secrets) and
    deploy/pod-template.yaml (the base worker pod). Names and keys only, never values.

    Exit 1 when a job module failed, a hand-written file is in the way, or (with --check) a
    file is stale.
    """
    import dataclasses

    from dagplane.jobs.discovery import discover
    from dagplane.plan import build_plan, write_plan
    from dagplane.write import raise_for_conflicts

    config = project_config(packages_dir)
    if deploy_dir is not None:
        config = dataclasses.replace(config, deploy_dir=(Path.cwd() / deploy_dir).resolve())
    discovery = discover(config.packages_dir, root=config.root)
    kinds = ("base_pod", "secrets", "airflow_settings")
    plan = build_plan(discovery, config, kinds)
    report = write_plan(plan, kinds, check=check)
    if as_json:
        echo_json({**report.as_dict(), "failures": [str(f) for f in discovery.failures]})
    else:
        print_write_report(config.deploy_dir, report, check=check)
    if recipe:
        click.echo(plan.outputs["secrets"].files["create-secrets.sh"], nl=False)
    print_failures(discovery.failures)
    raise_for_conflicts(report, config.deploy_dir)
    if check and report.stale:
        raise DagplaneError(
            f"{config.deploy_dir} is stale: run `dagplane render secrets` and commit the result"
        )
    return 1 if discovery.failures else 0
