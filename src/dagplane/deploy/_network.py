"""NetworkPolicies for worker pods: deny everything, then allow what a task needs.

Pure: ``DeployContext`` in, text out. Worker pods may resolve names (cluster DNS), reach the
API server's execution API, and reach each ``workers.egress`` destination; only the API
server may reach them, on the log server port it reads running tasks' logs from. Labels and
ports are the official chart's (1.22.0), cited beside each.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dagplane.deploy._context import owned_manifest
from dagplane.errors import ConfigError

if TYPE_CHECKING:
    from dagplane.deploy._context import DeployContext
    from dagplane.deploy._platform import Egress, Platform

__all__ = ["network_policy_objects", "render_network_policies", "worker_labels"]

FILE = "network-policies.yaml"
PREFIX = "dagplane-worker-"
# values.yaml `ports.apiServer` (api-server-deployment.yaml containerPort; the default
# [core] execution_api_server_url in configmaps/configmap.yaml points at it).
API_SERVER_PORT = 8080
# values.yaml `ports.workerLogs`: the worker's log server (workers/worker-networkpolicy.yaml).
WORKER_LOGS_PORT = 8793
DNS_PORT = 53


def worker_labels(platform: Platform) -> dict[str, str]:
    """The worker pods' labels (files/pod-template-file.kubernetes-helm-yaml)."""
    return {"tier": "airflow", "component": "worker", "release": platform.release}


def _api_server_pods(platform: Platform) -> dict[str, Any]:
    # api-server/api-server-deployment.yaml pod labels.
    labels = {"tier": "airflow", "component": "api-server", "release": platform.release}
    return {"podSelector": {"matchLabels": labels}}


def _policy(
    platform: Platform, name: str, purpose: str, types: list[str], rules: dict[str, Any]
) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": PREFIX + name,
            "namespace": platform.namespace,
            "labels": {"app.kubernetes.io/managed-by": "dagplane"},
            "annotations": {"dagplane.io/purpose": purpose},
        },
        "spec": {
            "podSelector": {"matchLabels": worker_labels(platform)},
            "policyTypes": types,
            **rules,
        },
    }


def _egress(platform: Platform, egress: Egress) -> dict[str, Any]:
    ports = [{"protocol": "TCP", "port": port} for port in sorted(set(egress.ports))]
    rule = {"to": [{"ipBlock": {"cidr": egress.cidr}}], "ports": ports}
    purpose = f"workers may reach {egress.name} ({egress.cidr})"
    return _policy(platform, f"egress-{egress.name}", purpose, ["Egress"], {"egress": [rule]})


def _check_egress(ctx: DeployContext) -> None:
    where = f"deploy/{ctx.env}/platform.yaml: workers.egress"
    seen: set[str] = set()
    for egress in ctx.platform.workers.egress:
        if egress.name in seen:
            raise ConfigError(
                f"{where}: two entries are named {egress.name!r}; each becomes NetworkPolicy "
                f"{PREFIX}egress-{egress.name} (fix: give each entry its own name)"
            )
        seen.add(egress.name)
        bad = [port for port in egress.ports if not 1 <= port <= 65535]
        if bad:
            raise ConfigError(
                f"{where}: {egress.name}: ports {bad} are not TCP ports (fix: use 1-65535)"
            )


def network_policy_objects(ctx: DeployContext) -> list[dict[str, Any]]:
    """The worker NetworkPolicies: default deny first, then one allow per destination."""
    _check_egress(ctx)
    platform = ctx.platform
    dns = {
        "to": [
            {
                "namespaceSelector": {
                    "matchLabels": {"kubernetes.io/metadata.name": "kube-system"}
                },
                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
            }
        ],
        "ports": [{"protocol": p, "port": DNS_PORT} for p in ("UDP", "TCP")],
    }
    execution_api = {
        "to": [_api_server_pods(platform)],
        "ports": [{"protocol": "TCP", "port": API_SERVER_PORT}],
    }
    logs = {
        "from": [_api_server_pods(platform)],
        "ports": [{"protocol": "TCP", "port": WORKER_LOGS_PORT}],
    }
    return [
        _policy(
            platform,
            "default-deny",
            "worker pods send and receive nothing not allowed below",
            ["Ingress", "Egress"],
            {},
        ),
        _policy(platform, "dns", "workers may resolve names", ["Egress"], {"egress": [dns]}),
        _policy(
            platform,
            "execution-api",
            "workers report task state through the API server's execution API",
            ["Egress"],
            {"egress": [execution_api]},
        ),
        _policy(
            platform,
            "logs-from-api-server",
            "the API server reads running tasks' logs from the worker's log server",
            ["Ingress"],
            {"ingress": [logs]},
        ),
        *(_egress(platform, egress) for egress in platform.workers.egress),
    ]


def render_network_policies(ctx: DeployContext) -> dict[str, str]:
    """``{"network-policies.yaml": text}``: the worker NetworkPolicies, one document each."""
    what = "workers.egress and the chart's worker and API server labels"
    return {FILE: owned_manifest(ctx, network_policy_objects(ctx), what)}
