"""``dagplane dev up|status|down``: the whole platform on this machine."""

from __future__ import annotations

import time
from pathlib import Path

import click

from dagplane.cli._common import echo_json, packages_option, project_config
from dagplane.errors import DagplaneError

__all__ = ["group"]

_WORKDIR = click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the platform keeps its state (default: .dagplane/dev in the project). A "
    "second `up` on the same folder reuses its databases.",
)


def _workdir(workdir: Path | None, root: Path) -> Path:
    return (workdir or root / ".dagplane" / "dev").resolve()


@click.group("dev")
def group() -> None:
    """Run the whole platform locally: Airflow 3 (API server, scheduler, DAG processor,
    triggerer; LocalExecutor), PostgreSQL, the DAG sync sidecar and the Salesforce emulator."""


@group.command("up")
@packages_option
@_WORKDIR
@click.option("--port", type=int, default=8080, show_default=True, help="The UI and API port.")
@click.option("--metadata-url", help="Your own PostgreSQL for Airflow's metadata.")
@click.option("--warehouse-url", help="Your own PostgreSQL for the jobs' warehouse.")
@click.option("--no-emulator", is_flag=True, help="Do not start the Salesforce emulator.")
@click.option(
    "--records", type=int, default=20_000, show_default=True, help="Emulator records in all."
)
@click.option("--paused", is_flag=True, help="New DAGs arrive paused (production's default).")
def up(
    packages_dir: Path | None,
    workdir: Path | None,
    port: int,
    metadata_url: str | None,
    warehouse_url: str | None,
    no_emulator: bool,
    records: int,
    paused: bool,
) -> int:
    """Start the platform and supervise it until Ctrl-C (or `dagplane dev down`), which stops
    every process it started. Prints the UI URL, the login and where the logs are."""
    from dagplane.dev import DevOptions, run_platform

    config = project_config(packages_dir)

    def report(line: str) -> None:
        click.echo(f"[dev {time.strftime('%H:%M:%S')}] {line}", err=True)

    return run_platform(
        DevOptions(
            root=config.root,
            packages_dir=config.packages_dir,
            workdir=_workdir(workdir, config.root),
            port=port,
            metadata_url=metadata_url,
            warehouse_url=warehouse_url,
            emulator=not no_emulator,
            records=records,
            unpause=not paused,
            report=report,
        )
    )


@group.command("status")
@_WORKDIR
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def status(workdir: Path | None, as_json: bool) -> int:
    """Each process's health. Exit 1 when the platform is not running or not healthy."""
    from dagplane.dev import platform_status

    config = project_config()
    report = platform_status(_workdir(workdir, config.root))
    if as_json:
        echo_json(report)
    else:
        if not report["running"]:
            click.echo(f"no dev platform runs from {report['workdir']}", err=True)
        for name, info in report["processes"].items():
            mark = click.style("ok  ", fg="green") if info["ok"] else click.style("DOWN", fg="red")
            click.echo(f"{mark} {name:<14} {info['detail']}", err=True)
        if report["running"]:
            click.echo(f"UI {report['ui']}; logs in {report['logs']}", err=True)
    return 0 if report["healthy"] else 1


@group.command("down")
@_WORKDIR
def down(workdir: Path | None) -> int:
    """Stop the platform started from the workdir, and every process it started."""
    from dagplane.dev import stop_platform

    config = project_config()
    folder = _workdir(workdir, config.root)
    stopped = stop_platform(folder)
    if stopped is None:
        raise DagplaneError(f"no dev platform runs from {folder}")
    click.echo(f"stopped the dev platform of {folder} ({stopped} processes)", err=True)
    return 0
