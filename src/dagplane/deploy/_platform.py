"""The platform config: one ``deploy/<env>/platform.yaml`` per environment, validated.

Everything ``dagplane render deploy`` makes for an environment comes from this file and the
project's job specs. Keys are snake_case; unknown keys are errors (a typo never silently
falls back to a chart default). ``load_platform`` turns a validation failure into one line per
problem naming the file, the key path and the fix.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from dagplane.errors import ConfigError

__all__ = [
    "CHART_REPOSITORY",
    "Platform",
    "load_platform",
    "platform_path",
    "platform_schema",
]

CHART_REPOSITORY = "https://airflow.apache.org"
_DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
_QUANTITY = r"^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Resources(_Model):
    """Requests (and optional limits) of one component's containers."""

    cpu: str = Field(pattern=_QUANTITY)
    memory: str = Field(pattern=_QUANTITY)
    cpu_limit: str | None = Field(default=None, pattern=_QUANTITY)
    memory_limit: str | None = Field(default=None, pattern=_QUANTITY)

    def as_kubernetes(self) -> dict[str, Any]:
        out: dict[str, Any] = {"requests": {"cpu": self.cpu, "memory": self.memory}}
        limits = {k: v for k, v in (("cpu", self.cpu_limit), ("memory", self.memory_limit)) if v}
        if limits:
            out["limits"] = limits
        return out


class MetadataDatabase(_Model):
    """The external PostgreSQL that holds Airflow's metadata (never the chart's own)."""

    secret: str = Field(
        default="airflow-metadata",
        pattern=_DNS_LABEL,
        description="Secret with key `connection`: the SQLAlchemy URL (chart: metadataSecretName)",
    )
    host: str = Field(description="the database host, for the checklist and network policies")
    port: int = Field(default=5432, ge=1, le=65535)
    database: str = Field(default="airflow", description="the database holding the metadata")
    sslmode: Literal["require", "verify-ca", "verify-full", "prefer", "disable"] = "verify-full"
    max_connections: int = Field(
        default=100, ge=10, description="the server's max_connections, for PgBouncer's pool sizes"
    )


class PgBouncer(_Model):
    enabled: bool = True
    replicas: int = Field(default=2, ge=1)
    # Per Airflow process: SQLAlchemy's pool_size + max_overflow ([database] defaults 5 + 10).
    sql_alchemy_pool_size: int = Field(default=5, ge=1)
    sql_alchemy_max_overflow: int = Field(default=10, ge=0)


class GitSync(_Model):
    """The chart's git-sync: the generated DAG folder (``dags/``) pulled from this repository."""

    repo: str = Field(description="SSH URL of the repository, e.g. git@github.com:org/repo.git")
    branch: str = "main"
    sub_path: str = "dags"
    ssh_key_secret: str = Field(default="airflow-git-ssh", pattern=_DNS_LABEL)
    known_hosts: str = Field(description="the host keys of the git server, one per line")
    period_seconds: int = Field(default=60, ge=5)


class Dags(_Model):
    """How DAG files reach the scheduler, DAG processor and workers.

    ``git-sync``: the committed ``dags/`` folder through the chart's git-sync. ``sync-sidecar``,
    ``sync-init``, ``sync-cronjob``: ``dagplane sync`` from the control-plane image writes them
    into the shared DAG volume (the chart's ``dags.persistence`` claim) as a sidecar of the DAG
    processor, an init container, or a CronJob.
    """

    distribution: Literal["git-sync", "sync-sidecar", "sync-init", "sync-cronjob"] = "sync-sidecar"
    git_sync: GitSync | None = None
    sync_interval_seconds: int = Field(default=60, ge=5)
    volume_size: str = Field(default="1Gi", pattern=_QUANTITY)
    storage_class: str | None = Field(
        default=None, description="a ReadWriteMany class (the volume is shared by every pod)"
    )
    refresh_interval_seconds: int = Field(
        default=60, ge=5, description="[dag_processor] refresh_interval: how soon new files appear"
    )

    @model_validator(mode="after")
    def _git_sync_needs_its_settings(self) -> Dags:
        if self.distribution == "git-sync" and self.git_sync is None:
            raise ValueError("distribution git-sync needs a `git_sync` block (repo, known_hosts)")
        return self


class RemoteLogging(_Model):
    """Task logs in an object store, read back by the API server."""

    kind: Literal["s3", "gcs", "wasb"]
    base_folder: str = Field(description="e.g. s3://acme-airflow-logs/production")
    connection_id: str = Field(description="the Airflow connection with the store's credentials")
    connection_secret: str | None = Field(
        default=None,
        pattern=_DNS_LABEL,
        description="Secret whose key `connection` holds that connection's URI; none with "
        "IRSA / Workload Identity",
    )
    service_account_annotations: dict[str, str] = Field(
        default_factory=dict,
        description="IRSA (eks.amazonaws.com/role-arn) or Workload Identity "
        "(iam.gke.io/gcp-service-account) annotations for the Airflow service accounts",
    )

    @field_validator("base_folder")
    @classmethod
    def _folder_matches_kind(cls, value: str, info: Any) -> str:
        prefixes = {"s3": "s3://", "gcs": "gs://", "wasb": "wasb"}
        kind = info.data.get("kind")
        if kind and not value.startswith(prefixes[kind]):
            raise ValueError(f"a {kind} base_folder starts with {prefixes[kind]!r}")
        return value


class Logging(_Model):
    remote: RemoteLogging | None = None


class Metrics(_Model):
    kind: Literal["statsd", "otel", "none"] = "statsd"
    otel_host: str | None = None
    otel_port: int = Field(default=4318, ge=1, le=65535)

    @model_validator(mode="after")
    def _otel_needs_a_host(self) -> Metrics:
        if self.kind == "otel" and not self.otel_host:
            raise ValueError("metrics kind otel needs `otel_host` (the collector)")
        return self


class HighAvailability(_Model):
    scheduler_replicas: int = Field(default=2, ge=1)
    api_server_replicas: int = Field(default=2, ge=1)
    api_server_workers: int = Field(default=4, ge=1, description="uvicorn workers per replica")
    dag_processor_replicas: int = Field(default=1, ge=1)
    triggerer_replicas: int = Field(default=2, ge=1)
    disruption_budgets: bool = True


class ComponentResources(_Model):
    scheduler: Resources = Resources(cpu="1", memory="2Gi", memory_limit="2Gi")
    api_server: Resources = Resources(cpu="500m", memory="1Gi", memory_limit="2Gi")
    dag_processor: Resources = Resources(cpu="500m", memory="1Gi", memory_limit="1Gi")
    triggerer: Resources = Resources(cpu="250m", memory="512Mi", memory_limit="1Gi")
    pgbouncer: Resources = Resources(cpu="100m", memory="128Mi", memory_limit="256Mi")
    statsd: Resources = Resources(cpu="50m", memory="64Mi", memory_limit="128Mi")


class Egress(_Model):
    """A destination worker pods may reach (NetworkPolicies cannot name hosts: CIDRs)."""

    name: str = Field(pattern=_DNS_LABEL)
    cidr: str = Field(pattern=r"^[0-9.]+/[0-9]{1,2}$")
    ports: list[int] = Field(min_length=1)


class Workers(_Model):
    parallelism: int = Field(default=32, ge=1, description="[core] parallelism")
    egress: list[Egress] = Field(default_factory=list)


class Images(_Model):
    airflow_repository: str = Field(
        default="apache/airflow", description="the official image, or your mirror of it"
    )
    pull_secret: str | None = Field(default=None, pattern=_DNS_LABEL)


class SecretsStore(_Model):
    kind: Literal["ClusterSecretStore", "SecretStore"] = "ClusterSecretStore"
    name: str = "dagplane-secrets"


class GitOps(_Model):
    """Where Flux CD or Argo CD read this repository."""

    repo_url: str = Field(description="HTTPS or SSH URL of this repository")
    branch: str = "main"


class Platform(_Model):
    """One environment of the platform."""

    environment: str = Field(pattern=_DNS_LABEL)
    namespace: str = Field(default="airflow", pattern=_DNS_LABEL)
    release: str = Field(default="airflow", pattern=_DNS_LABEL)
    airflow_version: str = Field(pattern=r"^\d+\.\d+\.\d+$")
    chart_version: str = Field(default="1.22.0", pattern=r"^\d+\.\d+\.\d+$")
    executor: Literal["KubernetesExecutor"] = "KubernetesExecutor"
    metadata_db: MetadataDatabase
    pgbouncer: PgBouncer = PgBouncer()
    dags: Dags = Dags()
    logging: Logging = Logging()
    metrics: Metrics = Metrics()
    ha: HighAvailability = HighAvailability()
    resources: ComponentResources = ComponentResources()
    workers: Workers = Workers()
    images: Images = Images()
    secrets_store: SecretsStore = SecretsStore()
    gitops: GitOps
    # The platform's own Secrets (the chart's *SecretName values), synced by ExternalSecrets.
    fernet_key_secret: str = Field(default="airflow-fernet-key", pattern=_DNS_LABEL)
    api_secret_key_secret: str = Field(default="airflow-api-secret-key", pattern=_DNS_LABEL)
    jwt_secret: str = Field(default="airflow-jwt-secret", pattern=_DNS_LABEL)

    @field_validator("airflow_version")
    @classmethod
    def _airflow_3(cls, value: str) -> str:
        if not value.startswith("3."):
            raise ValueError("dagplane deploys Airflow 3 (its keys are not Airflow 2's)")
        return value


def platform_path(deploy_dir: Path, env: str) -> Path:
    """Where environment ``env``'s platform config lives."""
    return deploy_dir / env / "platform.yaml"


def platform_schema() -> dict[str, Any]:
    """The JSON schema of ``platform.yaml``, for editors (``# yaml-language-server: $schema``)."""
    return Platform.model_json_schema()


_FIXES = {
    "missing": "add it",
    "extra_forbidden": "remove it, or check its spelling against the schema",
    "string_pattern_mismatch": "use the pattern shown",
    "literal_error": "use one of the values shown",
}


def load_platform(path: Path, *, env: str | None = None) -> Platform:
    """Read and validate ``path``; every problem names the file, key path and fix."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no platform config for environment {env or path.parent.name!r} (fix: "
            f"create it; see deploy/production/platform.yaml and `dagplane render deploy --help`)"
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the platform config must be a mapping of keys")
    try:
        platform = Platform.model_validate(data)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"]) or "(top level)"
            message = re.sub(r"^Value error, ", "", error["msg"])
            fix = _FIXES.get(error["type"], "correct the value")
            lines.append(f"{path}: {where}: {message} (fix: {fix})")
        raise ConfigError("\n".join(lines)) from None
    if env is not None and platform.environment != env:
        raise ConfigError(
            f"{path}: environment: says {platform.environment!r} but the file is for {env!r} "
            f"(fix: set `environment: {env}`)"
        )
    return platform
