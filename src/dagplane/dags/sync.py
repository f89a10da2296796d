"""Sync: bring a DAG folder in line with the discovered jobs, safely.

- Writes are atomic (temp file in the same folder, then ``os.replace``); unchanged files are
  not rewritten.
- Only files that carry dagplane's marker are ever overwritten or pruned; hand-written DAGs in
  the same folder are never touched.
- A job whose module fails discovery keeps its last good DAG file (reported as ``kept``).
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from dagplane.dags.render import dag_filename, render_dag
from dagplane.errors import OwnershipConflictError
from dagplane.jobs.discovery import DiscoveryResult

__all__ = [
    "SyncReport",
    "plan_sync",
    "raise_for_conflicts",
    "read_owner",
    "sync_dags",
    "write_atomic",
]

# Markers of every format version dagplane ever wrote, so older files stay recognizable.
_MARKER_LINE = re.compile(r"^# dagplane-owned: v(?P<version>\d+) source=(?P<source>.+) sha256=")
_HEADER_LINES = 5


@dataclass
class SyncReport:
    """What a sync did (or, with ``check``, would do), by file name."""

    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)

    @property
    def stale(self) -> bool:
        """Whether the folder differs from what the jobs render to."""
        return bool(self.written or self.pruned)

    def as_dict(self) -> dict[str, list[str]]:
        """JSON-ready lists."""
        return {
            "written": self.written,
            "unchanged": self.unchanged,
            "pruned": self.pruned,
            "kept": self.kept,
            "conflicts": self.conflicts,
        }


@dataclass
class _Plan:
    report: SyncReport
    to_write: dict[str, str]
    to_prune: list[str]


def read_owner(file: Path) -> str | None:
    """The source recorded in a dagplane-owned file's header, or ``None`` if not ours."""
    try:
        with file.open(encoding="utf-8", errors="replace") as handle:
            for _ in range(_HEADER_LINES):
                line = handle.readline()
                if not line:
                    break
                match = _MARKER_LINE.match(line)
                if match:
                    return match.group("source")
    except OSError:
        return None
    return None


def plan_sync(discovery: DiscoveryResult, dags_dir: Path) -> _Plan:
    """Compare rendered DAGs with the folder, touching nothing."""
    rendered = {dag_filename(spec): render_dag(spec) for spec in discovery.jobs}
    report = SyncReport()
    to_write: dict[str, str] = {}
    existing = sorted(p for p in dags_dir.glob("*.py") if p.is_file()) if dags_dir.is_dir() else []
    owners = {p.name: read_owner(p) for p in existing}
    for name, text in sorted(rendered.items()):
        if name in owners and owners[name] is None:
            report.conflicts.append(name)
        elif name in owners and _read(dags_dir / name) == text:
            report.unchanged.append(name)
        else:
            to_write[name] = text
            report.written.append(name)
    # A failed module keeps the file its job would render to; the name is derived from the
    # module's place (packages/<pkg>/jobs/<job>.py), never from paths that depend on the cwd.
    failed = {f"{Path(p).parent.parent.name}__{Path(p).stem}.py" for p in discovery.failed_paths}
    to_prune = []
    for name, source in owners.items():
        if source is None or name in rendered:
            continue
        if name in failed:
            report.kept.append(name)
        else:
            to_prune.append(name)
            report.pruned.append(name)
    return _Plan(report, to_write, to_prune)


def sync_dags(discovery: DiscoveryResult, dags_dir: Path, *, check: bool = False) -> SyncReport:
    """Write, keep and prune DAG files; with ``check`` only report what would change.

    A file dagplane would write that exists without dagplane's marker is left alone and listed
    in ``conflicts``; ``raise_for_conflicts`` turns that into an error.
    """
    plan = plan_sync(discovery, dags_dir)
    if not check:
        dags_dir.mkdir(parents=True, exist_ok=True)
        for name, text in plan.to_write.items():
            write_atomic(dags_dir / name, text)
        for name in plan.to_prune:
            (dags_dir / name).unlink(missing_ok=True)
    return plan.report


def raise_for_conflicts(report: SyncReport, dags_dir: Path) -> None:
    """Raise ``OwnershipConflictError`` if the sync met hand-written files in its way."""
    if report.conflicts:
        names = ", ".join(report.conflicts)
        raise OwnershipConflictError(
            f"{dags_dir}: {names} already exist(s) without dagplane's marker; dagplane never "
            "overwrites a hand-written DAG (rename that file, or delete it to let dagplane own it)"
        )


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to a temp file beside ``path`` and rename it over ``path``."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # No fsync: readers never see a partial file (rename is atomic), and after a power
        # loss the next sync rewrites anything lost; an fsync per file quadruples a cold sync.
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
