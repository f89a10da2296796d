"""``dagplane sync``: write one Airflow 3 DAG file per job into the DAG folder."""

from __future__ import annotations

import signal
import threading
import time
import traceback
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import click

from dagplane.cli._common import echo_json, packages_option, print_failures, project_config
from dagplane.errors import DagplaneError, MassPruneRefused

if TYPE_CHECKING:
    from dagplane.config import ProjectConfig
    from dagplane.dags.sync import SyncReport

# File names in a watch pass's one line; the rest are counted.
_SHOWN = 5


@click.command("sync")
@packages_option
@click.option(
    "--dags-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder to write DAG files into (default: [tool.dagplane] dags-dir, else ./dags).",
)
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if the folder is stale.")
@click.option(
    "--watch",
    is_flag=True,
    help="Keep syncing every --interval seconds (sidecar); a bad pass is logged and the last "
    "good files kept; SIGTERM or Ctrl-C stops it with exit 0.",
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0.1),
    default=30.0,
    show_default=True,
    envvar="DAGPLANE__SYNC_INTERVAL",
    show_envvar=True,
    help="Seconds between syncs in --watch mode.",
)
@click.option(
    "--allow-mass-prune",
    is_flag=True,
    help="Let this pass prune every owned DAG, or more than --max-prune-share of them (refused "
    "otherwise: a wrong --packages-dir looks like deleting every job).",
)
@click.option(
    "--max-prune-share",
    type=click.FloatRange(min=0.0, max=1.0),
    default=None,
    help="Refuse a pass that would prune more than this share of the owned DAGs when there are "
    "at least 4 (default: [tool.dagplane] max-prune-share or DAGPLANE__MAX_PRUNE_SHARE, "
    "else 0.5).",
)
@click.option("--json", "as_json", is_flag=True, help="Print what happened as JSON.")
def command(
    packages_dir: Path | None,
    dags_dir: Path | None,
    check: bool,
    watch: bool,
    interval: float,
    allow_mass_prune: bool,
    max_prune_share: float | None,
    as_json: bool,
) -> int:
    """Generate DAG files and their worker pod templates (pod_templates/ in the DAG folder);
    prune only dagplane's own; keep the last good DAG of a broken job.

    A pass whose packages folder is missing, or that would prune every owned DAG or more than
    --max-prune-share of them (with 4 or more), is refused and writes nothing.

    Exit 1 when a job module failed discovery, a hand-written file is in the way, the pass was
    refused, or (with --check) the folder is stale. With --watch, exit 0 when stopped.
    """
    if check and watch:
        raise click.UsageError("--check and --watch cannot be combined")
    config = project_config(packages_dir, dags_dir)
    if max_prune_share is not None:
        config = replace(config, max_prune_share=max_prune_share)
    if watch:
        return _watch(config, interval, as_json, allow_mass_prune)
    return _sync_once(config, check, as_json, allow_mass_prune)


def _sync_once(config: ProjectConfig, check: bool, as_json: bool, allow_mass_prune: bool) -> int:
    from dagplane.dags.sync import discover_for_sync, write_sync
    from dagplane.write import WriteReport, raise_for_conflicts

    dags_dir = config.dags_dir
    discovery = None
    try:
        discovery = discover_for_sync(config)
        report = write_sync(discovery, config, check=check, allow_mass_prune=allow_mass_prune)
    except MassPruneRefused as exc:
        failures = discovery.failures if discovery is not None else []
        if as_json:
            refused = {**WriteReport().as_dict(), "refused": exc.as_dict()}
            echo_json({**refused, "failures": [str(f) for f in failures]})
        print_failures(failures)
        click.secho(f"error: {exc}", fg="red", err=True)
        return 1
    except (DagplaneError, OSError) as exc:
        click.secho(f"error: {exc}", fg="red", err=True)
        return 1
    if as_json:
        failures = [str(f) for f in discovery.failures]
        echo_json({**report.as_dict(), "failures": failures})
    else:
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


def _watch(config: ProjectConfig, interval: float, as_json: bool, allow_mass_prune: bool) -> int:
    """Sync every ``interval`` seconds until SIGTERM or SIGINT; a stop waits for the pass."""
    stop = threading.Event()
    previous = {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            previous[sig] = signal.signal(sig, lambda *_: stop.set())
        except ValueError:  # not the main thread (an embedding caller): no handlers
            break
    _log(f"watching {config.packages_dir} into {config.dags_dir} every {interval:g}s")
    problems: list[str] = []
    try:
        while not stop.is_set():
            problems = _watch_pass(config, as_json, problems, allow_mass_prune)
            stop.wait(interval)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    _log("stopped")
    return 0


def _watch_pass(
    config: ProjectConfig, as_json: bool, before: list[str], allow_mass_prune: bool = False
) -> list[str]:
    """One pass: one line if files changed; problems logged when they change, not every pass
    (a module broken for a day must not bury the log). Returns this pass's problems."""
    from dagplane.dags.sync import discover_for_sync, write_sync
    from dagplane.write import raise_for_conflicts

    started = time.monotonic()
    try:
        discovery = discover_for_sync(config)
        report = write_sync(discovery, config, allow_mass_prune=allow_mass_prune)
    except MassPruneRefused as exc:
        # A packages folder gone for a moment (a volume remount, a checkout swap) must not
        # empty production: the last good DAGs stay until a pass looks sane again.
        problems = [f"sync refused, files left as they were: {exc}"]
        if as_json:
            echo_json({"error": str(exc), "refused": exc.as_dict()}, line=True)
    except (DagplaneError, OSError) as exc:
        problems = [f"sync failed, files left as they were: {exc}"]
        if as_json:
            echo_json({"error": problems[0]}, line=True)
    except Exception as exc:  # a bug must not stop the sidecar: the next pass tries again
        detail = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        problems = [f"sync crashed (a bug in dagplane), files left as they were: {detail}"]
        if as_json:
            echo_json({"error": f"{type(exc).__name__}: {exc}"}, line=True)
    else:
        if as_json:
            failures = [str(f) for f in discovery.failures]
            echo_json({**report.as_dict(), "failures": failures}, line=True)
        elif report.stale:
            _log(_summary(report, config.dags_dir, time.monotonic() - started))
        problems = [str(f) for f in discovery.failures]
        try:
            raise_for_conflicts(report, config.dags_dir)
        except DagplaneError as exc:
            problems.append(str(exc))
    if problems != before:
        for line in problems:
            _log(f"error: {line}", fg="red")
        if before and not problems:
            _log("recovered: every job module discovered, no file in the way, nothing refused")
    return problems


def _summary(report: SyncReport, dags_dir: Path, seconds: float) -> str:
    names = [*report.written, *(f"-{n}" for n in report.pruned)]
    shown = ", ".join(names[:_SHOWN]) + (f", +{len(names) - _SHOWN} more" if names[_SHOWN:] else "")
    return (
        f"{dags_dir}: wrote {len(report.written)}, pruned {len(report.pruned)}, "
        f"kept {len(report.kept)} in {seconds:.1f}s ({shown})"
    )


def _log(message: str, **style: str) -> None:
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    click.secho(f"{stamp} {message}", err=True, **style)


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
