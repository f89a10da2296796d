"""Entry point and error boundary.

Exit codes: 0 success; 1 a dagplane error (bad input, failed job, stale folder) printed as one
line; 2 wrong usage; 3 a bug in dagplane (traceback written to a log file); 130 interrupted.
"""

from __future__ import annotations

import sys
import tempfile
import traceback
from collections.abc import Sequence
from pathlib import Path

import click

from dagplane import __version__
from dagplane.cli import check, demo, deploy, dev, discover, emulator, images, render, run, sync
from dagplane.errors import DagplaneError

__all__ = ["cli", "main"]

EXIT_ERROR, EXIT_USAGE, EXIT_BUG, EXIT_INTERRUPTED = 1, 2, 3, 130


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dagplane")
def cli() -> None:
    """dagplane: find Python ETL jobs, turn them into Airflow 3 DAGs, and run them.

    \b
    Typical flow:
      dagplane discover          list the jobs in packages/<pkg>/jobs/
      dagplane sync --check      fail in CI when dags/ is stale
      dagplane check secrets     fail when a pod reads a Secret its job did not declare
      dagplane render secrets    ExternalSecrets, kubectl recipe, Secret guard for Airflow
      dagplane run JOB_ID        run one job locally, without Airflow
      dagplane demo              the whole thing end to end on embedded defaults
      dagplane images render     Dockerfiles and the CI workflow of the job images
    """


for command in (
    discover.command,
    sync.command,
    run.command,
    demo.command,
    emulator.group,
    dev.group,
    images.group,
    render.group,
    check.group,
):
    cli.add_command(command)
render.group.add_command(deploy.render_deploy)
check.group.add_command(deploy.check_deploy)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code; never raises for expected failures."""
    try:
        result = cli.main(args=list(argv) if argv is not None else None, standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("interrupted", err=True)
        return EXIT_INTERRUPTED
    except click.ClickException as exc:
        exc.show()
        return EXIT_USAGE if isinstance(exc, click.UsageError) else exc.exit_code
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return EXIT_INTERRUPTED
    except DagplaneError as exc:
        click.echo(f"error: {exc}", err=True)
        return EXIT_ERROR
    except Exception:
        log = _write_crash_log()
        click.echo(
            f"dagplane crashed: {sys.exc_info()[1]!r}. This is a bug; the traceback is in {log}",
            err=True,
        )
        return EXIT_BUG
    return result if isinstance(result, int) else 0


def _write_crash_log() -> Path:
    fd, name = tempfile.mkstemp(prefix="dagplane-crash-", suffix=".log")
    with open(fd, "w", encoding="utf-8") as handle:
        handle.write(traceback.format_exc())
    return Path(name)
