"""Flux CD objects of one environment, as plain dicts (``_gitops`` turns them into files).

- ``namespace``, ``helm_repository``, ``helm_release``: what ``clusters/<env>/`` applies;
- ``sync``: the ``GitRepository`` and Flux ``Kustomization`` that point Flux at that folder.

The HelmRepository and HelmRelease live in the target namespace, beside what they install:
the environment is self-contained (no cross-namespace source reference, so it works when
helm-controller runs with ``--no-cross-namespace-refs``, Flux's multi-tenancy lockdown), and
two environments sharing a cluster never contend for one object in ``flux-system``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from dagplane.deploy._platform import CHART_REPOSITORY

if TYPE_CHECKING:
    from dagplane.deploy._context import DeployContext

__all__ = [
    "HELM_API",
    "HELM_REPOSITORY_NAME",
    "KUSTOMIZE_API",
    "SOURCE_API",
    "flux_git_url",
    "helm_release",
    "helm_repository",
    "namespace",
    "sync",
]

HELM_API = "helm.toolkit.fluxcd.io/v2"
SOURCE_API = "source.toolkit.fluxcd.io/v1"
KUSTOMIZE_API = "kustomize.toolkit.fluxcd.io/v1"
HELM_REPOSITORY_NAME = "apache-airflow"
FLUX_NAMESPACE = "flux-system"
# `flux bootstrap` stores the deploy key of the repository in this Secret.
BOOTSTRAP_SECRET = "flux-system"  # pragma: allowlist secret (a Secret's name)
# Install and upgrade wait for every object; the migration job and rolling 2+ replicas of each
# component take longer than Helm's 5 minutes on a busy metadata database.
RELEASE_TIMEOUT = "15m"
REMEDIATION_RETRIES = 3
_SCP_URL = re.compile(r"^(?P<user>[^@/:]+)@(?P<host>[^:/]+):(?P<path>.+)$")


def namespace(ctx: DeployContext) -> dict[str, Any]:
    """The target namespace, never pruned by Flux.

    It also holds what Flux did not make (the DAG volume's data, Secrets created with the
    ``create-secrets.sh`` recipe): renaming or removing the environment must not delete those.
    """
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": ctx.platform.namespace,
            "annotations": {"kustomize.toolkit.fluxcd.io/prune": "disabled"},
        },
    }


def helm_repository(ctx: DeployContext) -> dict[str, Any]:
    """The official chart repository (an HTTP index; the chart version is pinned anyway)."""
    return {
        "apiVersion": SOURCE_API,
        "kind": "HelmRepository",
        "metadata": {"name": HELM_REPOSITORY_NAME, "namespace": ctx.platform.namespace},
        "spec": {"url": CHART_REPOSITORY, "interval": "1h"},
    }


def helm_release(ctx: DeployContext, values: dict[str, Any]) -> dict[str, Any]:
    """The official chart at exactly ``chart_version`` with ``values`` inline.

    No ``targetNamespace``: the release lives where the HelmRelease does, and setting it
    would change the default release name to ``<namespace>-<name>``. ``releaseName`` is
    explicit so object names match a plain ``helm install <release>``.
    """
    platform = ctx.platform
    return {
        "apiVersion": HELM_API,
        "kind": "HelmRelease",
        "metadata": {"name": platform.release, "namespace": platform.namespace},
        "spec": {
            "releaseName": platform.release,
            "interval": "10m",
            "timeout": RELEASE_TIMEOUT,
            "chart": {
                "spec": {
                    "chart": "airflow",
                    "version": platform.chart_version,
                    "sourceRef": {
                        "kind": "HelmRepository",
                        "name": HELM_REPOSITORY_NAME,
                        "namespace": platform.namespace,
                    },
                    "interval": "1h",
                }
            },
            # The namespace comes from namespace.yaml (applied first), not from Helm.
            "install": {"createNamespace": False, "remediation": {"retries": REMEDIATION_RETRIES}},
            "upgrade": {
                "cleanupOnFail": True,
                "remediation": {
                    "retries": REMEDIATION_RETRIES,
                    "remediateLastFailure": True,
                    "strategy": "rollback",
                },
            },
            # Hand edits of chart objects (kubectl edit/scale) are reverted to the release.
            "driftDetection": {"mode": "enabled"},
            "values": values,
        },
    }


def flux_git_url(url: str) -> str:
    """``url`` as GitRepository accepts it: scp-like ``git@host:path`` becomes ``ssh://``."""
    match = _SCP_URL.match(url)
    if match and "://" not in url:
        return f"ssh://{match['user']}@{match['host']}/{match['path']}"
    return url


def sync(ctx: DeployContext, path: str) -> list[dict[str, Any]]:
    """The GitRepository of this repository and the Kustomization applying ``path`` from it.

    Both live in ``flux-system``, where Flux's controllers reconcile with their own service
    account; ``wait`` makes the Kustomization ready only once the HelmRelease is.
    """
    platform = ctx.platform
    name = f"dagplane-{platform.environment}"
    url = flux_git_url(platform.gitops.repo_url)
    source: dict[str, Any] = {
        "interval": "1m",
        "url": url,
        "ref": {"branch": platform.gitops.branch},
    }
    if url.startswith("ssh://"):
        source["secretRef"] = {"name": BOOTSTRAP_SECRET}
    return [
        {
            "apiVersion": SOURCE_API,
            "kind": "GitRepository",
            "metadata": {"name": name, "namespace": FLUX_NAMESPACE},
            "spec": source,
        },
        {
            "apiVersion": KUSTOMIZE_API,
            "kind": "Kustomization",
            "metadata": {"name": name, "namespace": FLUX_NAMESPACE},
            "spec": {
                "interval": "10m",
                "retryInterval": "2m",
                "timeout": "20m",
                "path": path,
                "prune": True,
                "wait": True,
                "sourceRef": {"kind": "GitRepository", "name": name},
            },
        },
    ]
