"""Options and output helpers shared by the commands."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from dagplane.config import ProjectConfig, load_config
from dagplane.errors import JobDeclarationError

F = TypeVar("F", bound=Callable[..., Any])

__all__ = [
    "echo_json",
    "packages_option",
    "print_failures",
    "print_write_report",
    "project_config",
    "stderr",
]


def packages_option(func: F) -> F:
    """``--packages-dir``: where ``<pkg>/jobs/*.py`` live."""
    return click.option(
        "--packages-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Folder holding <pkg>/jobs/*.py (default: [tool.dagplane] packages-dir, "
        "else ./packages).",
    )(func)


def project_config(packages_dir: Path | None = None, dags_dir: Path | None = None) -> ProjectConfig:
    """Resolve the project configuration with these flag values."""
    return load_config(packages_dir=packages_dir, dags_dir=dags_dir)


def echo_json(data: Any, *, line: bool = False) -> None:
    """Print machine-readable output on stdout; ``line`` prints one compact line (JSON lines,
    for commands that report repeatedly)."""
    indent = None if line else 2
    click.echo(json.dumps(data, indent=indent, sort_keys=True, default=str))


def stderr() -> Any:
    """A rich console on stderr for human-facing progress and tables."""
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def print_failures(failures: list[JobDeclarationError]) -> None:
    """One line per failed module, ``file:line: JOB.field: problem (fix: ...)``."""
    for failure in failures:
        click.secho(f"error: {failure}", fg="red", err=True)


def print_write_report(folder: Path, report: Any, *, check: bool, suffix: str = "") -> None:
    """What the writer did (or, with ``check``, would do) in ``folder``, one line per file."""
    verb = "would write" if check else "wrote"
    click.echo(
        f"{folder}: {verb} {len(report.written)}, unchanged {len(report.unchanged)}, "
        f"{'would prune' if check else 'pruned'} {len(report.pruned)}{suffix}",
        err=True,
    )
    for name in report.written:
        click.echo(f"  write {name}", err=True)
    for name in report.pruned:
        click.echo(f"  prune {name}", err=True)
