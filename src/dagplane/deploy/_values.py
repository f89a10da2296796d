"""Helm values for the official Apache Airflow chart, from one environment's platform config.

Airflow 3 keys only (``apiServer``, ``apiSecretKeySecretName``, ``jwtSecretName``); every
credential comes from a Secret the platform names (synced by ExternalSecrets), so the chart
renders none of its own; the chart's defaults that are wrong for production are turned off
explicitly (bundled PostgreSQL, example DAGs, the default admin user, ``latest`` tags).
Pure: ``helm_values(ctx)`` is a dict; ``render_values`` is its text with dagplane's header.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

from dagplane.deploy._context import DeployContext
from dagplane.deploy._platform import Platform
from dagplane.write import owned_header

__all__ = ["PoolSizes", "deep_merge", "helm_values", "pool_sizes", "render_values", "to_yaml"]

API_SERVER_PORT = 8080  # the chart's ports.apiServer
# The chart's small sidecars (log groomers, PgBouncer's metrics exporter).
_GROOMER = {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "64Mi"}}


@dataclass(frozen=True)
class PoolSizes:
    """PgBouncer's pools, computed from the Airflow processes that hold metadata connections.

    Airflow 3 workers reach the metadata only through the API server, so the clients are the
    scheduler, API server workers, DAG processor and triggerer replicas. Each holds up to
    ``pool_size + max_overflow`` client connections; PgBouncer multiplexes them onto
    ``metadata_pool_size`` server connections per PgBouncer replica, which must fit the
    database's ``max_connections`` with 20% left for migrations, admins and monitoring.
    """

    processes: int
    max_client_conn: int
    metadata_pool_size: int
    server_connections: int
    database_budget: int


def pool_sizes(platform: Platform) -> PoolSizes:
    ha, bouncer = platform.ha, platform.pgbouncer
    processes = (
        ha.scheduler_replicas
        + ha.api_server_replicas * ha.api_server_workers
        + ha.dag_processor_replicas
        + ha.triggerer_replicas
    )
    per_process = bouncer.sql_alchemy_pool_size + bouncer.sql_alchemy_max_overflow
    max_client_conn = int(math.ceil(processes * per_process / 10.0) * 10)
    budget = int(platform.metadata_db.max_connections * 0.8)
    wanted = processes * bouncer.sql_alchemy_pool_size
    pool = max(1, min(wanted, budget // bouncer.replicas))
    return PoolSizes(processes, max_client_conn, pool, pool * bouncer.replicas, budget)


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``extra`` merged in: mappings recursively, anything else replaced."""
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _pdb(enabled: bool) -> dict[str, Any]:
    return {"enabled": enabled, "config": {"maxUnavailable": 1}}


def _remote_logging(platform: Platform) -> tuple[dict[str, Any], list[dict[str, str]]]:
    remote = platform.logging.remote
    if remote is None:
        return {"remote_logging": "False"}, []
    config = {
        "remote_logging": "True",
        "remote_base_log_folder": remote.base_folder,
        "remote_log_conn_id": remote.connection_id,
        "delete_local_logs": "True",
    }
    env_secrets = []
    if remote.connection_secret:  # else IRSA / Workload Identity: no credential at all
        env_secrets.append(
            {
                "envName": f"AIRFLOW_CONN_{remote.connection_id.upper()}",
                "secretName": remote.connection_secret,
                "secretKey": "connection",
            }
        )
    return config, env_secrets


def _metrics(platform: Platform) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(config.metrics, extra values)``."""
    metrics = platform.metrics
    if metrics.kind == "statsd":
        resources = platform.resources.statsd.as_kubernetes()
        return {"statsd_on": "True"}, {"statsd": {"enabled": True, "resources": resources}}
    if metrics.kind == "otel":
        config = {
            "otel_on": "True",
            "otel_host": metrics.otel_host,
            "otel_port": str(metrics.otel_port),
        }
        return config, {"statsd": {"enabled": False}}
    return {"statsd_on": "False"}, {"statsd": {"enabled": False}}


def _dags(platform: Platform) -> dict[str, Any]:
    dags = platform.dags
    if dags.distribution == "git-sync":
        git = dags.git_sync
        assert git is not None  # the model requires it for git-sync
        return {
            "persistence": {"enabled": False},
            "gitSync": {
                "enabled": True,
                "repo": git.repo,
                "branch": git.branch,
                "rev": "HEAD",
                "subPath": git.sub_path,
                "period": f"{git.period_seconds}s",
                "sshKeySecret": git.ssh_key_secret,
                "knownHosts": git.known_hosts,
                "resources": _GROOMER,
            },
        }
    persistence: dict[str, Any] = {
        "enabled": True,
        "size": dags.volume_size,
        "accessMode": "ReadWriteMany",  # the scheduler, DAG processor and workers share it
    }
    if dags.storage_class:
        persistence["storageClassName"] = dags.storage_class
    return {"persistence": persistence, "gitSync": {"enabled": False}}


def helm_values(
    ctx: DeployContext,
    *,
    pod_template: str = "",
    local_settings: str = "",
    fragments: tuple[dict[str, Any], ...] = (),
    pgbouncer_secrets: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """The chart values of ``ctx``'s environment.

    ``pod_template``: the worker base pod template text (``[kubernetes_executor]
    pod_template_file`` for tasks of DAGs dagplane does not know); ``local_settings``: the
    rendered ``airflow_local_settings.py`` (the Secret guard); ``fragments``: values from
    other renderers (the DAG sync pattern), merged last; ``pgbouncer_secrets``: the names of
    PgBouncer's config and stats Secrets.
    """
    platform = ctx.platform
    ha, res = platform.ha, platform.resources
    remote_config, env_secrets = _remote_logging(platform)
    metrics_config, metrics_values = _metrics(platform)
    annotations = (
        platform.logging.remote.service_account_annotations if platform.logging.remote else {}
    )
    sslmode = platform.metadata_db.sslmode

    values: dict[str, Any] = {
        "airflowVersion": platform.airflow_version,
        "defaultAirflowRepository": platform.images.airflow_repository,
        "defaultAirflowTag": platform.airflow_version,
        "images": {
            "airflow": {
                "repository": platform.images.airflow_repository,
                "tag": platform.airflow_version,
                "pullPolicy": "IfNotPresent",
            },
        },
        "executor": platform.executor,
        "uid": 50000,
        "gid": 0,
        # Every credential is a Secret synced from the store: the chart generates none.
        "fernetKeySecretName": platform.fernet_key_secret,
        "apiSecretKeySecretName": platform.api_secret_key_secret,
        "jwtSecretName": platform.jwt_secret,
        "data": {
            "metadataSecretName": platform.metadata_db.secret,
            # The chart always renders a Celery broker URL Secret pointing at a Redis that is
            # not deployed unless one is named; no pod reads it under the KubernetesExecutor.
            "brokerUrlSecretName": f"{platform.release}-celery-broker-unused",
        },
        "postgresql": {"enabled": False},
        "createUserJob": {"enabled": False},  # no default admin/admin: users come from SSO
        "migrateDatabaseJob": {"enabled": True, "useHelmHooks": False},
        "securityContexts": {
            "pod": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": {
                "allowPrivilegeEscalation": False,
                "capabilities": {"drop": ["ALL"]},
            },
        },
        "secret": env_secrets,
        "config": {
            "core": {
                "load_examples": "False",
                "parallelism": str(platform.workers.parallelism),
            },
            "database": {"sql_alchemy_pool_size": str(platform.pgbouncer.sql_alchemy_pool_size)},
            "logging": remote_config,
            "metrics": metrics_config,
            "dag_processor": {"refresh_interval": str(platform.dags.refresh_interval_seconds)},
            "kubernetes_executor": {"delete_worker_pods": "True"},
        },
        "scheduler": {
            "replicas": ha.scheduler_replicas,
            "podDisruptionBudget": _pdb(ha.disruption_budgets),
            "resources": res.scheduler.as_kubernetes(),
            "logGroomerSidecar": {"resources": _GROOMER},
            "serviceAccount": {"annotations": annotations},
        },
        "apiServer": {
            "replicas": ha.api_server_replicas,
            "podDisruptionBudget": _pdb(ha.disruption_budgets),
            "resources": res.api_server.as_kubernetes(),
            "env": [{"name": "AIRFLOW__API__WORKERS", "value": str(ha.api_server_workers)}],
            "serviceAccount": {"annotations": annotations},
        },
        "dagProcessor": {
            "enabled": True,
            "replicas": ha.dag_processor_replicas,
            "podDisruptionBudget": _pdb(ha.disruption_budgets and ha.dag_processor_replicas > 1),
            "resources": res.dag_processor.as_kubernetes(),
            "logGroomerSidecar": {"resources": _GROOMER},
        },
        "triggerer": {
            "replicas": ha.triggerer_replicas,
            "podDisruptionBudget": _pdb(ha.disruption_budgets and ha.triggerer_replicas > 1),
            "resources": res.triggerer.as_kubernetes(),
            "logGroomerSidecar": {"resources": _GROOMER},
            "serviceAccount": {"annotations": annotations},
        },
        "workers": {"kubernetes": {"serviceAccount": {"annotations": annotations}}},
        "dags": _dags(platform),
        "logs": {"persistence": {"enabled": False}},
        "networkPolicies": {"enabled": True},
        "pgbouncer": {"enabled": False},
        "redis": {"enabled": False},  # Celery only: its password Secret would be generated
        **metrics_values,
    }
    if platform.images.pull_secret:
        values["registry"] = {"secretName": platform.images.pull_secret}
        values["imagePullSecrets"] = [{"name": platform.images.pull_secret}]
    if pod_template:
        values["podTemplate"] = pod_template
    if local_settings:  # the Secret guard: its pod_mutation_hook runs in the scheduler
        values["airflowLocalSettings"] = local_settings
    if platform.pgbouncer.enabled:
        config_secret, stats_secret = pgbouncer_secrets or (
            f"{platform.release}-pgbouncer-config",
            f"{platform.release}-pgbouncer-stats",
        )
        values["pgbouncer"] = {
            "enabled": True,
            "replicas": platform.pgbouncer.replicas,
            # pgbouncer.ini (with the pools of `pool_sizes`) comes from this Secret, which an
            # External Secrets template builds; the chart's own pool values are then unused.
            "configSecretName": config_secret,
            "sslmode": sslmode,
            "podDisruptionBudget": _pdb(platform.pgbouncer.replicas > 1),
            "resources": res.pgbouncer.as_kubernetes(),
            "metricsExporterSidecar": {
                "statsSecretName": stats_secret,
                "sslmode": sslmode,
                "resources": _GROOMER,
            },
        }
    for fragment in fragments:
        values = deep_merge(values, fragment)
    return values


def to_yaml(data: Any) -> str:
    """Block-style YAML in the dict's own order; multi-line strings as ``|`` literals."""
    import yaml

    class _Dumper(yaml.SafeDumper):
        pass

    def _text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    _Dumper.add_representer(str, _text)
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, width=100, allow_unicode=True)


def render_values(ctx: DeployContext, values: dict[str, Any]) -> str:
    """``values.yaml`` for ``helm install -f`` (the GitOps manifests embed the same dict)."""
    body = to_yaml(values)
    header = owned_header(
        body,
        source=f"deploy/{ctx.env}/platform.yaml",
        made_from=f"deploy/{ctx.env}/platform.yaml (Helm values for the official Airflow chart "
        f"{ctx.platform.chart_version})",
        regenerate=f"run `dagplane render deploy --env {ctx.env}`",
    )
    return header + body
