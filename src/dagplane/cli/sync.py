"""``dagplane sync``: write one Airflow 3 DAG file per job into the DAG folder."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from dagplane.cli._common import echo_json, packages_option, print_failures, project_config
from dagplane.errors import DagplaneError

if TYPE_CHECKING:
    from dagplane.config import ProjectConfig
    from dagplane.dags.sync import SyncReport


@click.command("sync")
@packages_option
@click.option(
    "--dags-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder to write DAG files into (default: [tool.dagplane] dags-dir, else ./dags).",
)
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if the folder is stale.")
@click.option("--watch", is_flag=True, help="Keep syncing every --interval seconds (sidecar).")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.1),
    default=30.0,
    show_default=True,
    help="Seconds between syncs in --watch mode.",
)
@click.option("--json", "as_json", is_flag=True, help="Print what happened as JSON.")
def command(
    packages_dir: Path | None,
    dags_dir: Path | None,
    check: bool,
    watch: bool,
    interval: float,
    as_json: bool,
) -> int:
    """Generate DAG files and their worker pod templates (pod_templates/ in the DAG folder);
    prune only dagplane's own; keep the last good DAG of a broken job.

    Exit 1 when a job module failed discovery, a hand-written file is in the way, or (with
    --check) the folder is stale.
    """
    if check and watch:
        raise click.UsageError("--check and --watch cannot be combined")
    config = project_config(packages_dir, dags_dir)
    while True:
        code = _sync_once(config, check, as_json, watch)
        if not watch:
            return code
        time.sleep(interval)


def _sync_once(config: ProjectConfig, check: bool, as_json: bool, quiet: bool) -> int:
    from dagplane.jobs.discovery import discover
    from dagplane.plan import SYNC_KINDS, build_plan, write_plan
    from dagplane.write import raise_for_conflicts

    dags_dir = config.dags_dir
    try:
        discovery = discover(config.packages_dir, root=config.root)
        report = write_plan(build_plan(discovery, config, SYNC_KINDS), SYNC_KINDS, check=check)
    except (DagplaneError, OSError) as exc:  # in --watch mode, the next cycle tries again
        click.secho(f"error: {exc}", fg="red", err=True)
        return 1
    if as_json:
        failures = [str(f) for f in discovery.failures]
        echo_json({**report.as_dict(), "failures": failures}, line=quiet)
    elif not (quiet and not report.stale and not discovery.failures):
        _print_report(report, dags_dir, check)
    print_failures(discovery.failures)
    try:
        raise_for_conflicts(report, dags_dir)
    except DagplaneError as exc:
        click.secho(f"error: {exc}", fg="red", err=True)
        return 1
    if check and report.stale:
        click.secho(
            f"error: {dags_dir} is stale: run `dagplane sync` and commit the result", err=True
        )
        return 1
    return 1 if discovery.failures else 0


def _print_report(report: SyncReport, dags_dir: Path, check: bool) -> None:
    verb = "would write" if check else "wrote"
    verb_prune = "would prune" if check else "pruned"
    click.echo(
        f"{dags_dir}: {verb} {len(report.written)}, unchanged {len(report.unchanged)}, "
        f"{verb_prune} {len(report.pruned)}, kept {len(report.kept)}",
        err=True,
    )
    for label, names in (("write", report.written), ("prune", report.pruned)):
        for name in names:
            click.echo(f"  {label} {name}", err=True)
    for name in report.kept:
        click.echo(f"  kept {name} (its job module failed; last good DAG left in place)", err=True)
