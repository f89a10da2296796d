"""The platform's own Secrets (the chart's ``*SecretName`` values), synced by ExternalSecrets.

Pure: ``DeployContext`` in, text out. Each Secret holds exactly the keys the official chart
(1.22.0) reads from it; the chart template that reads each key is named beside it. In the
store, Secret ``<name>`` of environment ``<env>`` is the remote secret ``<env>/<name>`` and
each key is a property of it (``remoteRef: {key: <env>/<name>, property: <key>}``), so one
store serves every environment. Generated files hold names and keys, never values.

The metadata database's credentials are stored once (``username`` and ``password`` of
``<env>/<metadata secret>``); the Secrets built from them (the SQLAlchemy URL, PgBouncer's
``pgbouncer.ini`` with dagplane's computed pools and its ``users.txt``, the exporter's URL) are
External Secrets templates, so the pool sizes and hosts come from ``platform.yaml`` and a
rotated password reaches all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dagplane.deploy._context import owned_manifest
from dagplane.errors import ConfigError
from dagplane.secrets import EXTERNAL_SECRETS_API

if TYPE_CHECKING:
    from dagplane.deploy._context import DeployContext
    from dagplane.deploy._platform import Platform

__all__ = [
    "PlatformSecret",
    "chart_secret_refs",
    "declared_names",
    "pgbouncer_config_secret",
    "pgbouncer_stats_secret",
    "platform_secret_objects",
    "platform_secret_specs",
    "remote_key",
    "render_platform_secrets",
]

FILE = "platform-secrets.yaml"
REFRESH_INTERVAL = "1h"
PGBOUNCER_PORT = 6543  # the chart's ports.pgbouncer
# What the store holds for the metadata database (properties of <env>/<metadata secret>).
DB_CREDENTIALS = ("username", "password")
_USER = "{{ .username | urlquery }}:{{ .password | urlquery }}"


@dataclass(frozen=True)
class PlatformSecret:
    """One Secret the chart reads: its keys, who reads it, the chart value naming it, and the
    ``platform.yaml`` key its name comes from (``env_var``: the env var it becomes, if any)."""

    name: str
    keys: tuple[str, ...]
    purpose: str
    chart_value: str
    setting: str
    env_var: str | None = None
    # Built by an External Secrets template from the metadata database's credentials.
    template: dict[str, str] | None = None


def pgbouncer_config_secret(platform: Platform) -> str:
    """The Secret with ``pgbouncer.ini`` and ``users.txt`` (``pgbouncer.configSecretName``)."""
    return f"{platform.release}-pgbouncer-config"


def pgbouncer_stats_secret(platform: Platform) -> str:
    """The exporter's connection Secret (``pgbouncer.metricsExporterSidecar.statsSecretName``)."""
    return f"{platform.release}-pgbouncer-stats"


def remote_key(platform: Platform, name: str) -> str:
    """Where Secret ``name`` of this environment lives in the store."""
    return f"{platform.environment}/{name}"


def _metadata_url(platform: Platform) -> str:
    db = platform.metadata_db
    if platform.pgbouncer.enabled:  # PgBouncer's own database alias, inside the cluster
        host = f"{platform.release}-pgbouncer.{platform.namespace}:{PGBOUNCER_PORT}"
        return f"postgresql://{_USER}@{host}/{platform.release}-metadata"
    return f"postgresql://{_USER}@{db.host}:{db.port}/{db.database}?sslmode={db.sslmode}"


def _pgbouncer_ini(platform: Platform) -> str:
    """The chart's ``pgbouncer_config`` layout, with dagplane's pools and the real database."""
    from dagplane.deploy._values import pool_sizes

    db, pools = platform.metadata_db, pool_sizes(platform)
    lines = [
        "[databases]",
        f"{platform.release}-metadata = host={db.host} dbname={db.database} port={db.port} "
        f"pool_size={pools.metadata_pool_size}",
        "",
        "[pgbouncer]",
        "pool_mode = transaction",
        f"listen_port = {PGBOUNCER_PORT}",
        "listen_addr = *",
        "auth_type = scram-sha-256",
        "auth_file = /etc/pgbouncer/users.txt",
        "stats_users = {{ .username }}",
        "ignore_startup_parameters = extra_float_digits",
        f"max_client_conn = {pools.max_client_conn}",
        f"server_tls_sslmode = {db.sslmode}",
    ]
    if db.sslmode.startswith("verify"):
        lines.append("server_tls_ca_file = /etc/ssl/certs/ca-certificates.crt")
    return "\n".join(lines) + "\n"


def platform_secret_specs(platform: Platform) -> list[PlatformSecret]:
    """Every Secret the chart reads for ``platform``, in a fixed order."""
    db = platform.metadata_db
    via = " through PgBouncer" if platform.pgbouncer.enabled else ""
    specs = [
        # templates/_helpers.yaml standard_airflow_environment: AIRFLOW__DATABASE__SQL_ALCHEMY_CONN
        # and AIRFLOW_CONN_AIRFLOW_DB read key `connection` (metadata-connection-secret.yaml).
        PlatformSecret(
            db.secret,
            ("connection",),
            f"the SQLAlchemy URL of the metadata database{via}; read by every Airflow component",
            "data.metadataSecretName",
            "metadata_db.secret",
            template={"connection": _metadata_url(platform)},
        ),
        # _helpers.yaml: AIRFLOW__CORE__FERNET_KEY reads `fernet-key` (fernetkey-secret.yaml).
        PlatformSecret(
            platform.fernet_key_secret,
            ("fernet-key",),
            "encrypts connections and variables in the metadata database ([core] fernet_key)",
            "fernetKeySecretName",
            "fernet_key_secret",
        ),
        # _helpers.yaml: AIRFLOW__API__SECRET_KEY reads `api-secret-key`
        # (api-secret-key-secret.yaml, Airflow >= 3).
        PlatformSecret(
            platform.api_secret_key_secret,
            ("api-secret-key",),
            "signs the API server's sessions ([api] secret_key)",
            "apiSecretKeySecretName",
            "api_secret_key_secret",
        ),
        # _helpers.yaml: AIRFLOW__API_AUTH__JWT_SECRET reads `jwt-secret` (jwt-secret.yaml).
        PlatformSecret(
            platform.jwt_secret,
            ("jwt-secret",),
            "signs the task tokens workers use on the execution API ([api_auth] jwt_secret)",
            "jwtSecretName",
            "jwt_secret",
        ),
    ]
    git_sync = platform.dags.git_sync
    if platform.dags.distribution == "git-sync" and git_sync is not None:
        # _helpers.yaml git_sync_container mounts subPath `gitSshKey` of the git_sync_ssh_key
        # Secret (git-ssh-key-secret.yaml writes the same key).
        specs.append(
            PlatformSecret(
                git_sync.ssh_key_secret,
                ("gitSshKey",),
                "the deploy key git-sync clones the DAG repository with",
                "dags.gitSync.sshKeySecret",
                "dags.git_sync.ssh_key_secret",
            )
        )
    remote = platform.logging.remote
    if remote is not None and remote.connection_secret:
        # _helpers.yaml custom_airflow_environment: each `secret:` entry is an env var from
        # secretKeyRef {name: secretName, key: secretKey} (values.yaml `secret:`).
        specs.append(
            PlatformSecret(
                remote.connection_secret,
                ("connection",),
                f"the URI of Airflow connection {remote.connection_id!r}: remote task logs",
                "secret[].secretName",
                "logging.remote.connection_secret",
                env_var=f"AIRFLOW_CONN_{remote.connection_id.upper()}",
            )
        )
    if platform.pgbouncer.enabled:
        # pgbouncer/pgbouncer-deployment.yaml mounts subPaths `pgbouncer.ini` and `users.txt`
        # of pgbouncer_config_secret (pgbouncer-config-secret.yaml writes both).
        specs.append(
            PlatformSecret(
                pgbouncer_config_secret(platform),
                ("pgbouncer.ini", "users.txt"),
                "PgBouncer's config (the metadata database and pool) and its users' passwords",
                "pgbouncer.configSecretName",
                "release",
                template={
                    "pgbouncer.ini": _pgbouncer_ini(platform),
                    "users.txt": '"{{ .username }}" "{{ .password }}"\n',
                },
            )
        )
        # pgbouncer-deployment.yaml: the metrics exporter reads key `connection` of
        # pgbouncer_stats_secret unless statsSecretKey is set (pgbouncer-stats-secret.yaml).
        specs.append(
            PlatformSecret(
                pgbouncer_stats_secret(platform),
                ("connection",),
                "the metrics exporter's URI of PgBouncer's admin database (stats user)",
                "pgbouncer.metricsExporterSidecar.statsSecretName",
                "release",
                template={
                    "connection": f"postgresql://{_USER}@127.0.0.1:{PGBOUNCER_PORT}/pgbouncer"
                    "?sslmode=disable"
                },
            )
        )
    return specs


def declared_names(platform: Platform) -> set[str]:
    """Every Secret name, key and stored property the platform's ExternalSecrets name."""
    names = {n for s in platform_secret_specs(platform) for n in (s.name, *s.keys)}
    return names | set(DB_CREDENTIALS)


def chart_secret_refs(platform: Platform) -> list[tuple[str, str, str]]:
    """``(secret name, key, chart value)`` for every key the chart reads, for Helm-values checks."""
    return [(s.name, key, s.chart_value) for s in platform_secret_specs(platform) for key in s.keys]


def _check_names(specs: list[PlatformSecret], ctx: DeployContext) -> None:
    where = f"deploy/{ctx.env}/platform.yaml"
    seen: dict[str, PlatformSecret] = {}
    for spec in specs:
        other = seen.setdefault(spec.name, spec)
        if other is not spec:
            raise ConfigError(
                f"{where}: {spec.setting} and {other.setting} both name Secret {spec.name!r} "
                f"(for {spec.chart_value} and {other.chart_value}); each ExternalSecret owns its "
                f"Secret (fix: give one of them another name)"
            )
    jobs = set(ctx.job_secrets)
    for spec in specs:
        if spec.name in jobs:
            raise ConfigError(
                f"{where}: {spec.setting}: platform Secret {spec.name!r} ({spec.chart_value}) "
                f"has the name of job Secret {spec.name!r}; a job would get the platform's keys "
                f"and two ExternalSecrets would own one Secret (fix: rename the platform Secret "
                f"with `{spec.setting}` or the job's Secret)"
            )


def platform_secret_objects(ctx: DeployContext) -> list[dict[str, Any]]:
    """One ExternalSecret per platform Secret; ``ConfigError`` if a name is taken."""
    platform = ctx.platform
    specs = platform_secret_specs(platform)
    _check_names(specs, ctx)
    store = platform.secrets_store
    return [_external_secret(platform, spec, store) for spec in specs]


def _external_secret(platform: Platform, spec: PlatformSecret, store: Any) -> dict[str, Any]:
    target: dict[str, Any] = {"name": spec.name, "creationPolicy": "Owner"}
    keys, remote = spec.keys, remote_key(platform, spec.name)
    if spec.template is not None:
        target["template"] = {"engineVersion": "v2", "data": spec.template}
        keys, remote = DB_CREDENTIALS, remote_key(platform, platform.metadata_db.secret)
    return {
        "apiVersion": EXTERNAL_SECRETS_API,
        "kind": "ExternalSecret",
        "metadata": {
            "name": spec.name,
            "namespace": platform.namespace,
            "labels": {
                "app.kubernetes.io/managed-by": "dagplane",
                "dagplane.io/secret": spec.name,
                "dagplane.io/environment": platform.environment,
            },
            "annotations": {
                "dagplane.io/purpose": spec.purpose,
                "dagplane.io/chart-value": spec.chart_value,
            },
        },
        "spec": {
            "refreshInterval": REFRESH_INTERVAL,
            "secretStoreRef": {"name": store.name, "kind": store.kind},
            "target": target,
            "data": [
                {
                    "secretKey": key,
                    "remoteRef": {"key": remote, "property": key},
                }
                for key in keys
            ],
        },
    }


def render_platform_secrets(ctx: DeployContext) -> dict[str, str]:
    """``{"platform-secrets.yaml": text}``: the ExternalSecrets, one YAML document each."""
    what = "the platform's Secret names and keys, never values"
    return {FILE: owned_manifest(ctx, platform_secret_objects(ctx), what)}
