"""Every error dagplane raises on purpose, under one base class.

    DagplaneError                   anything dagplane reports as a one-line failure (exit 1)
    ├── UsageError                  the API or the CLI was called wrongly (a bug in the caller)
    ├── ConfigError                 bad or missing project / connection configuration
    ├── JobDeclarationError         a job module's ``JOB`` is missing, not static, or invalid
    │   └── DuplicateJobError       two modules declare the same job id
    ├── JobNotFoundError            ``dagplane run`` named a job that discovery did not find
    ├── SyncError                   the DAG folder could not be brought up to date
    │   ├── OwnershipConflictError  a file dagplane would write is not dagplane's
    │   └── MassPruneRefused        a sync would prune all or most owned DAGs: nothing written
    ├── JobFailedError              a job returned non-zero or raised
    ├── ImageError                  an image could not be planned, built or verified
    ├── SourceError                 an extraction source (Salesforce) failed
    └── DestinationError            a load destination (PostgreSQL) failed

Errors that may succeed when retried also inherit ``TransientError``; those that never will
inherit ``TerminalError``. Retrying is an ``isinstance(exc, TransientError)`` check.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DagplaneError",
    "DestinationError",
    "DuplicateJobError",
    "ImageError",
    "JobDeclarationError",
    "JobFailedError",
    "JobNotFoundError",
    "MassPruneRefused",
    "OwnershipConflictError",
    "SourceError",
    "SyncError",
    "TerminalError",
    "TransientError",
    "UsageError",
]


class DagplaneError(Exception):
    """Base class: a failure dagplane can explain in one line."""


class TransientError:
    """Mixin: retrying the same call may succeed (rate limits, 5xx, expired sessions)."""


class TerminalError:
    """Mixin: retrying will fail the same way (bad query, bad credentials, bad data)."""


class UsageError(DagplaneError, TerminalError):
    """dagplane's API or CLI was called wrongly."""


class ConfigError(DagplaneError, TerminalError):
    """Configuration is missing or invalid; the message lists what was tried."""


class JobDeclarationError(DagplaneError, TerminalError):
    """A job module's declaration cannot be turned into a job spec.

    Keeps ``path``, ``line`` and ``field`` so tools can point at the exact spot; the message
    reads as a breadcrumb: ``file:line: JOB.field: what is wrong`` and a hint that says the fix.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str,
        line: int | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.path = path
        self.line = line
        self.field = field
        self.reason = message
        self.hint = hint
        super().__init__(self._render())

    def _render(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        what = f"JOB.{self.field}: " if self.field else ""
        text = f"{where}: {what}{self.reason}"
        if self.hint:
            text += f" (fix: {self.hint})"
        return text


class DuplicateJobError(JobDeclarationError):
    """Two job modules declare the same job id."""


class JobNotFoundError(DagplaneError, TerminalError):
    """No discovered job has the requested id."""


class SyncError(DagplaneError):
    """The DAG folder could not be brought up to date."""


class OwnershipConflictError(SyncError, TerminalError):
    """A file dagplane would write exists and does not carry dagplane's marker."""


class MassPruneRefused(SyncError, TerminalError):
    """A sync pass refused to write: its packages folder is missing, or it would prune every
    owned DAG or more than the allowed share of them (a wrong ``--packages-dir`` looks
    exactly like deleting every job). Nothing was written."""

    def __init__(
        self,
        message: str,
        *,
        reason: str,
        packages_dir: str,
        dags_dir: str,
        owned: int,
        would_prune: list[str],
    ) -> None:
        self.reason = reason
        self.packages_dir = packages_dir
        self.dags_dir = dags_dir
        self.owned = owned
        self.would_prune = would_prune
        super().__init__(message)

    def as_dict(self) -> dict[str, object]:
        """JSON-ready: why, where, and what the pass would have pruned."""
        return {
            "reason": self.reason,
            "message": str(self),
            "packages_dir": self.packages_dir,
            "dags_dir": self.dags_dir,
            "owned": self.owned,
            "would_prune": self.would_prune,
        }


class JobFailedError(DagplaneError):
    """A job exited non-zero or raised; the message is the job's own."""

    def __init__(self, job_id: str, message: str, *, exit_code: int | None = None) -> None:
        self.job_id = job_id
        self.exit_code = exit_code
        self.reason = message
        super().__init__(f"job {job_id!r} failed: {message}")


class ImageError(DagplaneError, TerminalError):
    """A job image could not be planned (missing pyproject or lock), built or verified."""


class SourceError(DagplaneError):
    """An extraction source failed. Subclasses add ``TransientError`` or ``TerminalError``."""


class DestinationError(DagplaneError):
    """A load destination failed. Subclasses add ``TransientError`` or ``TerminalError``."""
