"""Sync: bring a DAG folder in line with the discovered jobs, through the one safe writer.

The DAG files are one ``OutputSet`` (``*.py`` in the folder); ``dagplane.write`` does the
rest: atomic write-if-changed, only dagplane-owned files overwritten or pruned, hand-written
DAGs never touched. A job whose module fails discovery keeps its last good DAG (``kept``).
"""

from __future__ import annotations

from pathlib import Path

from dagplane.dags.render import dag_filename, render_dag
from dagplane.jobs.discovery import DiscoveryResult
from dagplane.write import (
    OutputSet,
    WriteReport,
    raise_for_conflicts,
    read_owner,
    write_atomic,
    write_outputs,
)

__all__ = [
    "SyncReport",
    "dag_outputs",
    "raise_for_conflicts",
    "read_owner",
    "sync_dags",
    "write_atomic",
]

SyncReport = WriteReport


def dag_outputs(discovery: DiscoveryResult, dags_dir: Path) -> OutputSet:
    """The DAG files the discovered jobs render to, and the ones a failed module keeps."""
    rendered = {dag_filename(spec): render_dag(spec) for spec in discovery.jobs}
    # A failed module keeps the file its job would render to; the name is derived from the
    # module's place (packages/<pkg>/jobs/<job>.py), never from paths that depend on the cwd.
    failed = {f"{Path(p).parent.parent.name}__{Path(p).stem}.py" for p in discovery.failed_paths}
    return OutputSet(dags_dir, rendered, pattern="*.py", keep=frozenset(failed))


def sync_dags(discovery: DiscoveryResult, dags_dir: Path, *, check: bool = False) -> SyncReport:
    """Write, keep and prune DAG files; with ``check`` only report what would change.

    A file dagplane would write that exists without dagplane's marker is left alone and listed
    in ``conflicts``; ``raise_for_conflicts`` turns that into an error.
    """
    return write_outputs(dag_outputs(discovery, dags_dir), check=check)
