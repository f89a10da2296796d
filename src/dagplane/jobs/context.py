"""The ``JobContext`` a running job receives."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from dagplane.errors import ConfigError

__all__ = ["DEFAULT_SECRETS_DIR", "JobContext"]

DEFAULT_SECRETS_DIR = Path("/var/run/secrets/dagplane")


@dataclass(frozen=True)
class JobContext:
    """What a job knows about the run it is part of.

    ``logical_date`` and the data interval are set when Airflow runs the job; a local
    ``dagplane run`` leaves them ``None`` unless given.
    """

    job_id: str
    run_id: str
    partition: str | None = None
    args: tuple[str, ...] = ()
    logical_date: datetime | None = None
    data_interval_start: datetime | None = None
    data_interval_end: datetime | None = None
    try_number: int = 1
    secret_names: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def secret(self, key: str) -> str:
        """A declared secret value, from the environment or a mounted secret file."""
        for name, keys in self.secret_names.items():
            if key in keys:
                return read_secret(name, key)
        declared = sorted(k for keys in self.secret_names.values() for k in keys)
        raise ConfigError(
            f"job {self.job_id!r} did not declare the secret key {key!r} "
            f"(declared: {', '.join(declared) or 'none'}); add it to Job(secrets=[...])"
        )

    def env(self) -> dict[str, str]:
        """The context as ``DAGPLANE_*`` environment variables (for legacy jobs and children)."""
        values = {
            "DAGPLANE_JOB_ID": self.job_id,
            "DAGPLANE_RUN_ID": self.run_id,
            "DAGPLANE_PARTITION": self.partition or "",
            "DAGPLANE_TRY_NUMBER": str(self.try_number),
        }
        for key, when in (
            ("DAGPLANE_LOGICAL_DATE", self.logical_date),
            ("DAGPLANE_DATA_INTERVAL_START", self.data_interval_start),
            ("DAGPLANE_DATA_INTERVAL_END", self.data_interval_end),
        ):
            values[key] = when.isoformat() if when else ""
        return values


def secrets_dir() -> Path:
    """Where Kubernetes mounts secrets: ``$DAGPLANE__SECRETS_DIR`` or the default."""
    return Path(os.environ.get("DAGPLANE__SECRETS_DIR") or DEFAULT_SECRETS_DIR)


def read_secret(name: str, key: str) -> str:
    """The value of ``key`` from the environment, else from ``<secrets dir>/<name>/<key>``."""
    if key in os.environ:
        return os.environ[key]
    file = secrets_dir() / name / key
    try:
        return file.read_text(encoding="utf-8").rstrip("\n")
    except OSError:
        raise ConfigError(
            f"secret {name}/{key} is not set: tried the environment variable {key} "
            f"and the file {file}"
        ) from None


def present_secret_values(secret_names: dict[str, tuple[str, ...]]) -> list[str]:
    """Every declared secret value that is available, for redaction."""
    values = []
    for name, keys in secret_names.items():
        for key in keys:
            try:
                values.append(read_secret(name, key))
            except ConfigError:
                continue
    return values
