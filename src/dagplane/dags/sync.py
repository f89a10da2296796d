"""Sync: bring a DAG folder in line with the discovered jobs, through the one safe writer.

The DAG files are one ``OutputSet`` (``*.py`` in the folder); ``dagplane.write`` does the
rest: atomic write-if-changed, only dagplane-owned files overwritten or pruned, hand-written
DAGs never touched. A job whose module fails discovery keeps its last good DAG (``kept``).

A wrong or missing packages folder looks exactly like deleting every job, so ``write_sync``
dry-runs the pass first and ``prune_guard`` refuses it (``MassPruneRefused``, nothing written,
not even new files) when the packages folder is missing, or the pass would prune every owned
DAG, or more than ``max-prune-share`` (default 0.5) of them when there are at least
``MIN_OWNED_FOR_SHARE`` (4). ``allow_mass_prune`` overrides all but a missing folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from dagplane.dags.render import dag_filename, render_dag
from dagplane.errors import MassPruneRefused
from dagplane.jobs.discovery import DiscoveryResult, discover
from dagplane.write import (
    OutputSet,
    WriteReport,
    raise_for_conflicts,
    read_owner,
    write_atomic,
    write_outputs,
)

if TYPE_CHECKING:
    from dagplane.config import ProjectConfig

__all__ = [
    "MIN_OWNED_FOR_SHARE",
    "SyncReport",
    "dag_outputs",
    "discover_for_sync",
    "owned_dags",
    "prune_guard",
    "raise_for_conflicts",
    "read_owner",
    "sync_dags",
    "write_atomic",
    "write_sync",
]

# Below this many owned DAGs only pruning all of them is refused: in a small project removing
# two of three jobs is ordinary.
MIN_OWNED_FOR_SHARE = 4

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


def owned_dags(dags_dir: Path) -> list[str]:
    """The dagplane-owned DAG files in ``dags_dir`` now (what a sync could prune)."""
    if not dags_dir.is_dir():
        return []
    return sorted(
        p.name for p in dags_dir.glob("*.py") if p.is_file() and read_owner(p) is not None
    )


def prune_guard(
    report: SyncReport,
    *,
    owned: int,
    jobs_found: int,
    packages_dir: Path,
    dags_dir: Path,
    max_share: float,
) -> MassPruneRefused | None:
    """The refusal for a (dry-run) sync ``report`` that prunes too much, or ``None``.

    ``owned`` counts the owned DAG files before the pass and ``jobs_found`` the job modules
    discovery read (good or broken). Refused: pruning every owned DAG, or more than
    ``max_share`` of them when at least ``MIN_OWNED_FOR_SHARE`` are owned. Pod templates
    (``pod_templates/...``) follow their DAGs and are not counted.
    """
    pruned = [name for name in report.pruned if "/" not in name]
    owned = max(owned, len(pruned))
    if not pruned:
        return None
    if len(pruned) == owned:
        reason = "no-jobs" if jobs_found == 0 else "prune-all"
    elif owned >= MIN_OWNED_FOR_SHARE and len(pruned) / owned > max_share:
        reason = "prune-share"
    else:
        return None
    if reason == "no-jobs":
        why = "it has no job modules (*/jobs/*.py)"
    elif reason == "prune-all":
        why = f"none of its {jobs_found} job module(s) is behind an existing DAG"
    else:
        why = f"that is {len(pruned) / owned:.0%}, more than max-prune-share {max_share:g}"
    return MassPruneRefused(
        f"refusing to sync packages folder {packages_dir} into {dags_dir}: the pass would prune "
        f"{len(pruned)} of the {owned} dagplane-owned DAGs there and {why}; nothing was "
        "written (fix: pass the correct --packages-dir, or --allow-mass-prune if removing "
        "them is intended)",
        reason=reason,
        packages_dir=str(packages_dir),
        dags_dir=str(dags_dir),
        owned=owned,
        would_prune=pruned,
    )


def discover_for_sync(config: ProjectConfig) -> DiscoveryResult:
    """``discover`` for a sync: a missing packages folder is always refused (no override),
    naming the owned DAGs a sync from it would orphan."""
    if not config.packages_dir.is_dir():
        owned = owned_dags(config.dags_dir)
        raise MassPruneRefused(
            f"refusing to sync: packages folder {config.packages_dir} does not exist; syncing "
            f"from it would prune {len(owned)} of the {len(owned)} dagplane-owned DAGs in "
            f"{config.dags_dir}; nothing was written (fix: create it or pass the correct "
            "--packages-dir)",
            reason="packages-missing",
            packages_dir=str(config.packages_dir),
            dags_dir=str(config.dags_dir),
            owned=len(owned),
            would_prune=owned,
        )
    return discover(config.packages_dir, root=config.root)


def write_sync(
    discovery: DiscoveryResult,
    config: ProjectConfig,
    *,
    check: bool = False,
    allow_mass_prune: bool = False,
    max_prune_share: float | None = None,
) -> SyncReport:
    """Write the DAG folder (DAGs and pod templates) unless ``prune_guard`` refuses the pass.

    Raises ``MassPruneRefused`` before anything is written; with ``check`` writes nothing and
    returns the dry run. ``max_prune_share`` overrides ``config.max_prune_share``.
    """
    from dagplane.plan import SYNC_KINDS, build_plan, write_plan

    plan = build_plan(discovery, config, SYNC_KINDS)
    owned = owned_dags(plan.outputs["dags"].folder)
    dry = write_plan(plan, SYNC_KINDS, check=True)
    if not allow_mass_prune:
        refusal = prune_guard(
            dry,
            owned=len(owned),
            jobs_found=len(discovery.jobs) + len(discovery.failures),
            packages_dir=config.packages_dir,
            dags_dir=config.dags_dir,
            max_share=config.max_prune_share if max_prune_share is None else max_prune_share,
        )
        if refusal is not None:
            raise refusal
    return dry if check else write_plan(plan, SYNC_KINDS)
