"""The Argo CD ``Application`` of one environment, as a plain dict.

Two sources: the official chart at the pinned version with the values inline, and this
repository's ``clusters/<env>/resources`` folder (a kustomization Argo CD builds itself).

No ``ignoreDifferences``: the chart renders nothing random when the platform names its own
fernet, API and JWT Secrets (it always does), so every render is the same and nothing drifts.
No ``resources-finalizer``: deleting the Application leaves the running platform alone, as
Flux's never-pruned namespace does; removing it is a deliberate ``kubectl delete``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dagplane.deploy._platform import CHART_REPOSITORY

if TYPE_CHECKING:
    from dagplane.deploy._context import DeployContext

__all__ = ["ARGO_API", "ARGO_NAMESPACE", "application"]

ARGO_API = "argoproj.io/v1alpha1"
# Argo CD only reads Applications from its own namespace unless apps-in-any-namespace is on.
ARGO_NAMESPACE = "argocd"
IN_CLUSTER = "https://kubernetes.default.svc"
SYNC_OPTIONS = [
    "CreateNamespace=true",
    # Client-side apply copies each object into its last-applied-configuration annotation
    # (annotations are capped at 256 KiB), and the chart's config ConfigMap grows with the
    # jobs: airflow_local_settings holds every DAG's Secret allow-list. Server-side apply keeps
    # no copy and tracks field owners, so fields other controllers set are not fought over.
    "ServerSideApply=true",
]


def application(
    ctx: DeployContext, values: dict[str, Any], resources_path: str | None
) -> dict[str, Any]:
    """The Application; ``resources_path`` (repository-relative) is left out when ``None``."""
    platform = ctx.platform
    sources: list[dict[str, Any]] = [
        {
            "repoURL": CHART_REPOSITORY,
            "chart": "airflow",
            "targetRevision": platform.chart_version,
            # Without it Argo CD names the release after the Application.
            "helm": {"releaseName": platform.release, "valuesObject": values},
        }
    ]
    if resources_path is not None:
        sources.append(
            {
                "repoURL": platform.gitops.repo_url,
                "targetRevision": platform.gitops.branch,
                "path": resources_path,
            }
        )
    return {
        "apiVersion": ARGO_API,
        "kind": "Application",
        "metadata": {
            "name": f"{platform.release}-{platform.environment}",
            "namespace": ARGO_NAMESPACE,
        },
        "spec": {
            "project": "default",
            "destination": {"server": IN_CLUSTER, "namespace": platform.namespace},
            "sources": sources,
            "syncPolicy": {
                "automated": {"prune": True, "selfHeal": True},
                "syncOptions": list(SYNC_OPTIONS),
                "retry": {
                    "limit": 5,
                    "backoff": {"duration": "30s", "factor": 2, "maxDuration": "5m"},
                },
            },
        },
    }
