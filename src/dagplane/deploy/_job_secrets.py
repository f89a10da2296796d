"""The jobs' ExternalSecrets for one environment, beside the platform's (``resources/``).

``deploy/secrets/`` (``dagplane render secrets``) is the environment-free form: no namespace,
remote keys named after the Secret. A deployment applies this one instead: the platform's
namespace and secret store, and every remote key under ``<environment>/``, like the platform's
own Secrets, so one store serves every environment.
"""

from __future__ import annotations

import copy
from typing import Any

from dagplane.deploy._context import DeployContext, owned_manifest
from dagplane.deploy._platform_secrets import remote_key

__all__ = ["FILE", "job_secret_objects", "render_job_secrets"]

FILE = "job-secrets.yaml"


def job_secret_objects(ctx: DeployContext) -> list[dict[str, Any]]:
    from dagplane.secrets._render import external_secret_objects

    platform, store = ctx.platform, ctx.platform.secrets_store
    objects = []
    for name, keys in sorted(ctx.job_secret_key_sets.items()):
        for obj in external_secret_objects(name, keys, ctx.config):
            obj = copy.deepcopy(obj)
            obj["metadata"]["namespace"] = platform.namespace
            obj["metadata"]["labels"]["dagplane.io/environment"] = platform.environment
            obj["spec"]["secretStoreRef"] = {"name": store.name, "kind": store.kind}
            for item in obj["spec"]["data"]:
                item["remoteRef"]["key"] = remote_key(platform, item["remoteRef"]["key"])
            objects.append(obj)
    return objects


def render_job_secrets(ctx: DeployContext) -> dict[str, str]:
    """``{"job-secrets.yaml": text}``, or nothing when no job declares a Secret."""
    objects = job_secret_objects(ctx)
    if not objects:
        return {}
    return {FILE: owned_manifest(ctx, objects, "the jobs' Secret names and keys, never values")}
