"""The production checklist as code: each item is a named check over the rendered chart.

A check reads the platform, the generated values and the objects the real chart rendered from
them, and returns pass/fail with the value it saw and a fix. ``CHECKLIST.md`` is rendered from
the same results, so the document can never claim what the checks did not see.
"""

from __future__ import annotations

import configparser
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dagplane.deploy._context import DeployContext
from dagplane.deploy._values import pool_sizes
from dagplane.deploy.checks._chart import ChartRender

__all__ = ["CHECKS", "CheckResult", "run_checks"]


@dataclass(frozen=True)
class CheckResult:
    name: str
    title: str
    ok: bool
    value: str
    fix: str


@dataclass(frozen=True)
class _Inputs:
    ctx: DeployContext
    values: dict[str, Any]
    render: ChartRender
    backed_secrets: frozenset[str]  # Secret names an ExternalSecret creates
    extra_objects: tuple[dict[str, Any], ...]  # dagplane's own manifests (policies, CronJob)

    def airflow_cfg(self) -> configparser.ConfigParser:
        parser = configparser.ConfigParser(interpolation=None)
        cm = self.render.get("ConfigMap", f"{self.ctx.platform.release}-config")
        if cm is not None:
            parser.read_string(cm.get("data", {}).get("airflow.cfg", ""))
        return parser

    def cfg(self, section: str, key: str) -> str:
        return self.airflow_cfg().get(section, key, fallback="")


_Check = Callable[[_Inputs], tuple[bool, str]]
CHECKS: dict[str, tuple[str, str, _Check]] = {}


def _check(name: str, title: str, fix: str) -> Callable[[_Check], _Check]:
    def register(fn: _Check) -> _Check:
        CHECKS[name] = (title, fix, fn)
        return fn

    return register


def _containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    spec = obj.get("spec", {})
    pod = spec.get("template", {}).get("spec") or spec.get("jobTemplate", {}).get("spec", {}).get(
        "template", {}
    ).get("spec", {})
    return [*(pod.get("initContainers") or []), *(pod.get("containers") or [])]


def _workloads(inputs: _Inputs) -> list[dict[str, Any]]:
    kinds = {"Deployment", "StatefulSet", "Job", "CronJob", "DaemonSet"}
    return [o for o in (*inputs.render.objects, *inputs.extra_objects) if o["kind"] in kinds]


@_check(
    "external-metadata-db",
    "Metadata in an external PostgreSQL over TLS, not the chart's bundled one",
    "set metadata_db.secret and metadata_db.host; keep sslmode at verify-full or require",
)
def _external_db(i: _Inputs) -> tuple[bool, str]:
    db = i.ctx.platform.metadata_db
    bundled = i.render.get("StatefulSet", f"{i.ctx.platform.release}-postgresql") is not None
    secret = i.values.get("data", {}).get("metadataSecretName")
    tls = db.sslmode in {"require", "verify-ca", "verify-full"}
    ok = not bundled and secret == db.secret and tls
    return ok, f"{db.host}:{db.port} sslmode={db.sslmode}, Secret {secret}, bundled={bundled}"


@_check(
    "pgbouncer",
    "PgBouncer in front of the metadata database, pools sized for the replicas",
    "enable pgbouncer; raise metadata_db.max_connections or lower the replicas",
)
def _pgbouncer(i: _Inputs) -> tuple[bool, str]:
    bouncer = i.values.get("pgbouncer", {})
    if not bouncer.get("enabled"):
        return False, "disabled"
    pools = pool_sizes(i.ctx.platform)
    deployed = i.render.get("Deployment", f"{i.ctx.platform.release}-pgbouncer") is not None
    ini = _pgbouncer_ini(i, bouncer.get("configSecretName"))
    pool = re.search(r"pool_size=(\d+)", ini)
    clients = re.search(r"^max_client_conn = (\d+)$", ini, flags=re.M)
    applied = (
        pool is not None
        and int(pool.group(1)) == pools.metadata_pool_size
        and clients is not None
        and int(clients.group(1)) == pools.max_client_conn
    )
    fits = pools.server_connections <= pools.database_budget
    return deployed and applied and fits, (
        f"max_client_conn {pools.max_client_conn} for {pools.processes} Airflow processes; "
        f"pool_size {pools.metadata_pool_size} x {i.ctx.platform.pgbouncer.replicas} replicas = "
        f"{pools.server_connections} of a {pools.database_budget}-connection budget"
        + ("" if applied else "; NOT in the pgbouncer.ini its Secret gets")
    )


def _pgbouncer_ini(i: _Inputs, secret: str | None) -> str:
    """The ``pgbouncer.ini`` template of the ExternalSecret that builds ``secret``."""
    for obj in i.extra_objects:
        if obj["kind"] == "ExternalSecret" and obj["spec"]["target"]["name"] == secret:
            return (
                obj["spec"]["target"].get("template", {}).get("data", {}).get("pgbouncer.ini", "")
            )
    return ""


@_check(
    "no-chart-secrets",
    "The chart renders no Secret: every credential comes from the secret store",
    "set the chart's *SecretName values (dagplane does) and disable bundled components",
)
def _no_chart_secrets(i: _Inputs) -> tuple[bool, str]:
    names = sorted(o["metadata"]["name"] for o in i.render.of_kind("Secret"))
    return not names, ", ".join(names) or "none"


@_check(
    "secrets-backed",
    "Every Secret the chart reads is created by an ExternalSecret",
    "add the Secret to the platform secrets (dagplane renders them from platform.yaml)",
)
def _secrets_backed(i: _Inputs) -> tuple[bool, str]:
    named = _secret_names(i.values)
    missing = sorted(named - i.backed_secrets)
    return not missing, ("missing: " + ", ".join(missing)) if missing else ", ".join(sorted(named))


def _secret_names(values: dict[str, Any]) -> set[str]:
    names = {
        values.get("fernetKeySecretName"),
        values.get("apiSecretKeySecretName"),
        values.get("jwtSecretName"),
        values.get("data", {}).get("metadataSecretName"),
        values.get("dags", {}).get("gitSync", {}).get("sshKeySecret")
        if values.get("dags", {}).get("gitSync", {}).get("enabled")
        else None,
    }
    bouncer = values.get("pgbouncer", {})
    if bouncer.get("enabled"):
        names.add(bouncer.get("configSecretName"))
        names.add(bouncer.get("metricsExporterSidecar", {}).get("statsSecretName"))
    names.update(item.get("secretName") for item in values.get("secret", []))
    return {n for n in names if n}


def _replicas_and_pdb(i: _Inputs, kind: str, component: str, minimum: int) -> tuple[bool, str]:
    release = i.ctx.platform.release
    obj = i.render.get(kind, f"{release}-{component}")
    replicas = (obj or {}).get("spec", {}).get("replicas", 1)
    pdb = i.render.get("PodDisruptionBudget", f"{release}-{component}-pdb") is not None
    return replicas >= minimum and pdb, f"{replicas} replicas, disruption budget {pdb}"


@_check(
    "scheduler-ha",
    "At least two schedulers, with a disruption budget",
    "set ha.scheduler_replicas >= 2 and ha.disruption_budgets: true",
)
def _scheduler_ha(i: _Inputs) -> tuple[bool, str]:
    return _replicas_and_pdb(i, "Deployment", "scheduler", 2)


@_check(
    "api-server-ha",
    "At least two API servers, with a disruption budget",
    "set ha.api_server_replicas >= 2 and ha.disruption_budgets: true",
)
def _api_server_ha(i: _Inputs) -> tuple[bool, str]:
    return _replicas_and_pdb(i, "Deployment", "api-server", 2)


@_check(
    "dag-distribution",
    "DAG files reach every component: git-sync with pinned host keys, or the shared volume "
    "that dagplane sync fills",
    "git-sync: set dags.git_sync.known_hosts; sync-*: keep the ReadWriteMany volume",
)
def _dag_distribution(i: _Inputs) -> tuple[bool, str]:
    dags = i.values.get("dags", {})
    distribution = i.ctx.platform.dags.distribution
    if distribution == "git-sync":
        git = dags.get("gitSync", {})
        hosts = (git.get("knownHosts") or "").strip()
        ok = bool(git.get("enabled") and hosts and git.get("sshKeySecret"))
        return ok, f"git-sync {git.get('repo')}@{git.get('branch')}/{git.get('subPath')}, " + (
            f"{len(hosts.splitlines())} known host key(s)" if hosts else "no known hosts"
        )
    claim = i.render.get("PersistentVolumeClaim", f"{i.ctx.platform.release}-dags")
    modes = (claim or {}).get("spec", {}).get("accessModes", [])
    writers = [
        c["name"]
        for w in _workloads(i)
        for c in _containers(w)
        if "sync" in (c.get("args") or []) or "sync" in (c.get("command") or [])
    ]
    ok = claim is not None and modes == ["ReadWriteMany"] and bool(writers)
    return ok, f"{distribution}: volume {modes or 'missing'}, writers {writers or 'none'}"


@_check(
    "remote-logging",
    "Task logs go to an object store",
    "set logging.remote (kind, base_folder, connection_id)",
)
def _remote_logging(i: _Inputs) -> tuple[bool, str]:
    on = i.cfg("logging", "remote_logging") == "True"
    folder = i.cfg("logging", "remote_base_log_folder")
    return on and bool(folder), f"remote_logging={on} {folder}".strip()


@_check(
    "worker-pod-template",
    "The executor's base worker pod is dagplane's hardened template",
    "keep podTemplate in the values (dagplane sets it from deploy/pod-template.yaml)",
)
def _worker_template(i: _Inputs) -> tuple[bool, str]:
    import yaml

    cm = i.render.get("ConfigMap", f"{i.ctx.platform.release}-config") or {}
    text = cm.get("data", {}).get("pod_template_file.yaml", "")
    pod = yaml.safe_load(text) if text else {}
    spec = (pod or {}).get("spec", {})
    base = next((c for c in spec.get("containers", []) if c.get("name") == "base"), {})
    context = base.get("securityContext", {})
    ok = (
        spec.get("automountServiceAccountToken") is False
        and spec.get("securityContext", {}).get("runAsNonRoot") is True
        and context.get("readOnlyRootFilesystem") is True
        and context.get("allowPrivilegeEscalation") is False
        and context.get("capabilities", {}).get("drop") == ["ALL"]
    )
    return ok, "hardened" if ok else f"securityContext {context or 'missing'}"


@_check(
    "secret-guard",
    "The scheduler runs dagplane's Secret guard (pod_mutation_hook with every DAG's allow-list)",
    "keep airflowLocalSettings in the values (dagplane sets it from the jobs' Secrets)",
)
def _secret_guard(i: _Inputs) -> tuple[bool, str]:
    cm = i.render.get("ConfigMap", f"{i.ctx.platform.release}-config") or {}
    settings = cm.get("data", {}).get("airflow_local_settings.py", "")
    scheduler = i.render.get("Deployment", f"{i.ctx.platform.release}-scheduler") or {}
    mounted = any(
        m.get("subPath") == "airflow_local_settings.py"
        for c in _containers(scheduler)
        for m in c.get("volumeMounts", [])
    )
    ok = "def pod_mutation_hook" in settings and "ALLOW = " in settings and mounted
    return ok, "mounted in the scheduler" if ok else f"settings {bool(settings)}, mounted {mounted}"


_TAGGED = re.compile(r"^[^@]+:(?P<tag>[^:/@]+)$|@sha256:[0-9a-f]{64}$")


@_check(
    "pinned-images",
    "Every image is pinned to a version or digest (no `latest`, no bare name)",
    "set the image's tag; dagplane pins Airflow to airflow_version",
)
def _pinned(i: _Inputs) -> tuple[bool, str]:
    bad = sorted(
        {
            c.get("image", "")
            for w in _workloads(i)
            for c in _containers(w)
            if not (m := _TAGGED.search(c.get("image", ""))) or m.group("tag") == "latest"
        }
    )
    return not bad, ("unpinned: " + ", ".join(bad)) if bad else "all pinned"


@_check(
    "no-examples-no-default-user",
    "No example DAGs and no default admin user",
    "keep load_examples False and createUserJob disabled (users come from your SSO)",
)
def _no_defaults(i: _Inputs) -> tuple[bool, str]:
    examples = i.cfg("core", "load_examples")
    user_job = i.render.get("Job", f"{i.ctx.platform.release}-create-user") is not None
    return examples == "False" and not user_job, f"load_examples={examples}, user job {user_job}"


@_check(
    "metrics",
    "Metrics are exported (StatsD or OpenTelemetry)",
    "set metrics.kind to statsd or otel",
)
def _metrics(i: _Inputs) -> tuple[bool, str]:
    statsd = i.render.get("Deployment", f"{i.ctx.platform.release}-statsd") is not None
    otel = i.cfg("metrics", "otel_on") == "True"
    return (statsd and i.cfg("metrics", "statsd_on") == "True") or otel, (
        "statsd" if statsd else "otel" if otel else "none"
    )


@_check(
    "network-policies",
    "Network policies: the chart's, and worker egress limited to DNS, the API server and "
    "declared hosts",
    "keep networkPolicies enabled; list worker destinations in workers.egress",
)
def _network(i: _Inputs) -> tuple[bool, str]:
    chart = len(i.render.of_kind("NetworkPolicy"))
    workers = [
        o["metadata"]["name"]
        for o in i.extra_objects
        if o["kind"] == "NetworkPolicy"
        and o.get("spec", {}).get("podSelector", {}).get("matchLabels", {}).get("component")
        == "worker"
    ]
    return chart > 0 and bool(workers), f"{chart} chart policies, worker policies {workers}"


@_check(
    "resources",
    "Every long-running container requests CPU and memory",
    "set resources.<component> in platform.yaml",
)
def _resources(i: _Inputs) -> tuple[bool, str]:
    missing = sorted(
        f"{w['metadata']['name']}/{c['name']}"
        for w in _workloads(i)
        if w["kind"] in {"Deployment", "StatefulSet"}
        for c in _containers(w)
        if not c.get("resources", {}).get("requests") and c["name"] not in _SIDECARS_WITHOUT_VALUES
    )
    return not missing, ("no requests: " + ", ".join(missing)) if missing else "all set"


# Small helper containers whose resources the chart does not expose separately.
_SIDECARS_WITHOUT_VALUES = frozenset({"wait-for-airflow-migrations"})


@_check(
    "worker-base-matches",
    "Worker pods get this platform's wiring (airflow.cfg ConfigMap, DAG volume)",
    "point [tool.dagplane] worker-base at a base for this release and DAG distribution (for "
    "git-sync: the chart's git-sync init container and an emptyDir `dags`)",
)
def _worker_base(i: _Inputs) -> tuple[bool, str]:
    release = i.ctx.platform.release
    volumes = {v["name"]: v for v in i.ctx.worker_base.get("spec", {}).get("volumes", [])}
    config = volumes.get("config", {}).get("configMap", {}).get("name")
    problems = []
    if config != f"{release}-config":
        problems.append(f"config ConfigMap {config!r}, not '{release}-config'")
    claim = volumes.get("dags", {}).get("persistentVolumeClaim", {}).get("claimName")
    if i.ctx.platform.dags.distribution != "git-sync":
        if claim != f"{release}-dags":
            problems.append(f"DAG claim {claim!r}, not '{release}-dags'")
    else:  # no claim exists: each worker must clone the DAGs itself before the task starts
        inits = i.ctx.worker_base.get("spec", {}).get("initContainers", [])
        if claim or not inits:
            problems.append(
                "git-sync deploys no DAG volume, but the worker base "
                + (f"mounts claim {claim!r}" if claim else "has no init container to clone them")
            )
    return not problems, "; ".join(problems) or f"ConfigMap {config}, DAG volume of {release}"


def run_checks(
    ctx: DeployContext,
    values: dict[str, Any],
    render: ChartRender,
    *,
    backed_secrets: frozenset[str] = frozenset(),
    extra_objects: tuple[dict[str, Any], ...] = (),
) -> list[CheckResult]:
    """Every checklist item, in order."""
    inputs = _Inputs(ctx, values, render, backed_secrets, extra_objects)
    results = []
    for name, (title, fix, fn) in CHECKS.items():
        ok, value = fn(inputs)
        results.append(CheckResult(name, title, ok, value, fix))
    return results
