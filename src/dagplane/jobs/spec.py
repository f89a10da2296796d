"""What a job is: the ``Job`` users declare, and the ``JobSpec`` discovery hands to later stages.

A job module declares ``JOB = Job(entrypoint=run, ...)`` (typed) or the legacy
``JOB = (entrypoint, "description")``. Discovery reads that declaration without running the
module and produces a ``JobSpec``: the job's identity (package, id, module, file) plus its
validated ``JobOptions``. Rendering, images, pods and deployment all start from ``JobSpec``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from dagplane.jobs._validators import (
    FieldProblem,
    check_cron,
    check_dns_label,
    check_dns_subdomain,
    check_env_key,
    check_quantity,
    parse_duration,
)

__all__ = ["Job", "JobOptions", "JobSpec", "Resources", "Secret"]

_STRICT = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)


def optional_key_secret(secret: str, key: str) -> str:
    """The Kubernetes Secret of its own that holds optional ``key`` of Secret ``secret``."""
    slug = key.lower().replace("_", "-").strip("-")
    return f"{secret}-{slug}"[:253].rstrip("-.")


class Secret(BaseModel):
    """A Kubernetes Secret the job reads, and the keys it reads from it.

    Each key reaches the job as a file ``$DAGPLANE__SECRETS_DIR/<name>/<key>`` mounted
    read-only from the Secret (the default), or, with ``env=True``, as an environment variable
    of the same name (``secretKeyRef``). ``keys`` must exist in the Secret or the pod does not
    start; ``optional_keys`` may be absent (alternative logins, for example) and are mounted
    ``optional: true``. Either way the job reads them with ``ctx.secret(KEY)``.
    """

    model_config = _STRICT

    name: str
    keys: tuple[str, ...] = Field(min_length=1)
    optional_keys: tuple[str, ...] = ()
    env: bool = Field(default=False, strict=True)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_dns_subdomain(value, "secret name")

    @field_validator("keys", "optional_keys")
    @classmethod
    def _keys(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for key in value:
            check_env_key(key, "secret key")
        if len(set(value)) != len(value):
            raise FieldProblem("secret keys repeat", "list each key once")
        return value

    @model_validator(mode="after")
    def _disjoint(self) -> Secret:
        both = sorted(set(self.keys) & set(self.optional_keys))
        if both:
            raise FieldProblem(
                f"key(s) {', '.join(both)} are listed as required and optional",
                "list each key in keys or in optional_keys, not both",
            )
        return self

    @property
    def all_keys(self) -> tuple[str, ...]:
        """Every key the job may read from this Secret: required, then optional."""
        return (*self.keys, *self.optional_keys)

    def key_secret(self, key: str) -> str:
        """The Kubernetes Secret that holds ``key``: this one for a required key, a Secret of
        its own (``<name>-<key>``) for an optional one.

        An optional key lives alone so that its absence stops nothing: one ExternalSecret
        owns one Secret (the External Secrets Operator drops keys merged into a Secret another
        ExternalSecret owns), and the pod mounts it with ``optional: true`` into the same
        folder, so the job reads ``<name>/<KEY>`` either way.
        """
        return optional_key_secret(self.name, key) if key in self.optional_keys else self.name

    def sources(self) -> dict[str, tuple[str, ...]]:
        """``{Kubernetes Secret: keys read from it}``: this Secret, then one per optional key."""
        found: dict[str, tuple[str, ...]] = {self.name: self.keys}
        for key in self.optional_keys:
            found[self.key_secret(key)] = (key,)
        return found


class Resources(BaseModel):
    """CPU and memory requests (and optional limits) for the job's worker pod."""

    model_config = _STRICT

    cpu: str = "250m"
    memory: str = "512Mi"
    cpu_limit: str | None = None
    memory_limit: str | None = None

    @field_validator("cpu", "memory", "cpu_limit", "memory_limit", mode="before")
    @classmethod
    def _quantity(cls, value: object, info: Any) -> object:
        return None if value is None else check_quantity(value, info.field_name)


class JobOptions(BaseModel):
    """Everything a job may declare besides its entrypoint; unknown fields are errors."""

    model_config = _STRICT

    description: str = ""
    schedule: str | None = None
    image: str | None = None
    secrets: tuple[Secret, ...] = ()
    partitions: tuple[str, ...] = ()
    retries: int = Field(default=1, ge=0, le=50)
    retry_delay: timedelta = timedelta(minutes=5)
    timeout: timedelta | None = None
    owner: str | None = None
    tags: tuple[str, ...] = ()
    resources: Resources = Resources()
    max_active_runs: int = Field(default=1, ge=1, le=256)

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str | None) -> str | None:
        return None if value is None else check_cron(value)

    @field_validator("image")
    @classmethod
    def _image(cls, value: str | None) -> str | None:
        return None if value is None else check_dns_label(value, "image group")

    @field_validator("retry_delay", "timeout", mode="before")
    @classmethod
    def _duration(cls, value: object, info: Any) -> object:
        return None if value is None else parse_duration(value, info.field_name)

    @field_validator("partitions")
    @classmethod
    def _partitions(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            if not item.strip() or len(item) > 200 or not item.isprintable():
                raise FieldProblem(
                    f"partition {item!r} must be 1-200 printable characters",
                    "use short names such as 'eu' or '2024-01'",
                )
            if any(mark in item for mark in ("{{", "{%", "{#")):
                raise FieldProblem(
                    f"partition {item!r} contains a Jinja delimiter, which Airflow would render",
                    "partitions are plain names: read dates from ctx.logical_date instead",
                )
        if len(set(value)) != len(value):
            raise FieldProblem("partitions repeat", "list each partition once")
        return value

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for tag in value:
            if not tag.strip() or len(tag) > 100:
                raise FieldProblem(f"tag {tag!r} must be 1-100 characters", "shorten the tag")
        return value

    @field_validator("owner")
    @classmethod
    def _owner(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or not value.isprintable()):
            raise FieldProblem(f"owner {value!r} is empty or not printable", "name a team")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> JobOptions:
        names = [s.name for s in self.secrets]
        if len(set(names)) != len(names):
            raise FieldProblem(
                "a secret is listed twice", "merge its keys into one Secret(...)", field="secrets"
            )
        keys = [k for s in self.secrets for k in s.all_keys]
        if len(set(keys)) != len(keys):
            raise FieldProblem(
                "a key is read from two secrets (both would set one variable)",
                "read each key from one secret",
                field="secrets",
            )
        if self.schedule == "@continuous" and self.max_active_runs > 1:
            raise FieldProblem(
                "a '@continuous' schedule allows one active run at a time",
                "set max_active_runs=1 or choose another schedule",
                field="max_active_runs",
            )
        return self


class Job(JobOptions):
    """A job declaration: ``JOB = Job(entrypoint=run, schedule="@daily", ...)``.

    ``entrypoint(ctx: JobContext) -> int | None`` runs the job; returning non-zero or raising
    fails it. Only literal values are allowed in the declaration: dagplane reads it without
    importing the module.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    entrypoint: Callable[..., Any]


class JobSpec(BaseModel):
    """A discovered job: where it lives and what it declared. Hashable and JSON-friendly."""

    model_config = ConfigDict(frozen=True)

    package: str
    job_id: str
    module: str
    path: str
    line: int
    entrypoint: str
    legacy: bool
    options: JobOptions

    @property
    def dag_id(self) -> str:
        """``<package>__<job>``: unique because names never contain a double underscore."""
        return f"{self.package}__{self.job_id}"

    @property
    def image(self) -> str:
        """The job's image group; defaults to its package name (as a DNS label)."""
        return self.options.image or self.package.replace("_", "-")

    @property
    def owner(self) -> str:
        """The declared owner, or the package name."""
        return self.options.owner or self.package

    def summary(self) -> dict[str, Any]:
        """A JSON-ready view for ``dagplane discover --json``."""
        o = self.options
        return {
            "package": self.package,
            "job_id": self.job_id,
            "dag_id": self.dag_id,
            "module": self.module,
            "path": self.path,
            "line": self.line,
            "legacy": self.legacy,
            "description": o.description,
            "schedule": o.schedule,
            "image": self.image,
            "secrets": [
                {
                    "name": s.name,
                    "keys": list(s.keys),
                    "optional_keys": list(s.optional_keys),
                    "env": s.env,
                }
                for s in o.secrets
            ],
            "partitions": list(o.partitions),
            "retries": o.retries,
            "retry_delay_seconds": int(o.retry_delay.total_seconds()),
            "timeout_seconds": None if o.timeout is None else int(o.timeout.total_seconds()),
            "owner": self.owner,
            "tags": list(o.tags),
            "resources": o.resources.model_dump(),
            "max_active_runs": o.max_active_runs,
        }
