"""Flux CD and Argo CD manifests of one environment. Pure: no I/O.

Paths are relative to the deploy dir::

    clusters/<env>/kustomization.yaml       what Flux applies (kustomize builds it as well)
    clusters/<env>/namespace.yaml
    clusters/<env>/helmrepository.yaml
    clusters/<env>/helmrelease.yaml         the official chart, pinned, values inline
    clusters/<env>/resources/               the other renderers' manifests, unchanged,
    clusters/<env>/resources/kustomization.yaml   listed here; Flux and Argo CD both read it
    flux/<env>/sync.yaml                    GitRepository + Flux Kustomization, applied once
    argocd/<env>/application.yaml           the Argo CD Application (chart + resources/)

``sync.yaml`` lives outside ``clusters/<env>``: inside, the Kustomization would apply (and
could prune) itself, and ``flux bootstrap --path`` writes its own ``flux-system/`` there.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from dagplane.deploy import _argo, _flux
from dagplane.deploy._context import owned_manifest
from dagplane.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from dagplane.deploy._context import DeployContext

__all__ = ["KUSTOMIZE_CONFIG_API", "render_gitops"]

KUSTOMIZE_CONFIG_API = "kustomize.config.k8s.io/v1beta1"
_CLUSTER_FILES = ("namespace.yaml", "helmrepository.yaml", "helmrelease.yaml")


def render_gitops(ctx: DeployContext, values: dict, resources: dict[str, str]) -> dict[str, str]:
    """Paths relative to the deploy dir -> file text.

    ``values``: the chart's Helm values, embedded unchanged; ``resources``: file name ->
    manifest text of the other renderers, copied unchanged into ``clusters/<env>/resources/``.
    """
    env = ctx.env
    deploy = _deploy_path(ctx)
    cluster = f"clusters/{env}"
    names = sorted(resources)
    for name in names:
        _check_resource_name(name)
    docs: dict[str, list[dict[str, Any]]] = {
        f"{cluster}/namespace.yaml": [_flux.namespace(ctx)],
        f"{cluster}/helmrepository.yaml": [_flux.helm_repository(ctx)],
        f"{cluster}/helmrelease.yaml": [_flux.helm_release(ctx, values)],
        f"{cluster}/kustomization.yaml": [
            _kustomization([*_CLUSTER_FILES, *(["resources"] if names else [])])
        ],
        f"flux/{env}/sync.yaml": _flux.sync(ctx, f"./{deploy}/{cluster}"),
        f"argocd/{env}/application.yaml": [
            _argo.application(ctx, values, f"{deploy}/{cluster}/resources" if names else None)
        ],
    }
    if names:
        docs[f"{cluster}/resources/kustomization.yaml"] = [_kustomization(names)]
    files = {path: owned_manifest(ctx, body) for path, body in docs.items()}
    files.update({f"{cluster}/resources/{name}": resources[name] for name in names})
    return dict(sorted(files.items()))


def _deploy_path(ctx: DeployContext) -> str:
    """The deploy dir relative to the repository root, as Flux and Argo CD name paths."""
    try:
        return ctx.config.deploy_dir.relative_to(ctx.config.root).as_posix()
    except ValueError:
        raise ConfigError(
            f"deploy-dir {ctx.config.deploy_dir} is outside the project {ctx.config.root}: "
            "Flux and Argo CD read manifests from the repository (fix: set [tool.dagplane] "
            "deploy-dir to a folder inside it)"
        ) from None


def _check_resource_name(name: str) -> None:
    path = PurePosixPath(name)
    if len(path.parts) != 1 or path.suffix not in {".yaml", ".yml"} or name.startswith("."):
        raise UsageError(f"resource {name!r}: expected a plain file name ending in .yaml")
    if path.stem == "kustomization":
        raise UsageError(f"resource {name!r}: the resources folder's kustomization is rendered")


def _kustomization(resources: list[str]) -> dict[str, Any]:
    return {"apiVersion": KUSTOMIZE_CONFIG_API, "kind": "Kustomization", "resources": resources}
