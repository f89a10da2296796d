"""Secrets: the allow-list of each DAG, ExternalSecrets, a kubectl recipe, the runtime guard."""

from dagplane.secrets._check import check_pod_templates
from dagplane.secrets._refs import secret_problems, secret_refs
from dagplane.secrets._render import (
    EXTERNAL_SECRETS_API,
    allow_list,
    deploy_outputs,
    render_external_secrets,
    render_kubectl_recipe,
    render_local_settings,
    secret_keys,
)

__all__ = [
    "EXTERNAL_SECRETS_API",
    "allow_list",
    "check_pod_templates",
    "deploy_outputs",
    "render_external_secrets",
    "render_kubectl_recipe",
    "render_local_settings",
    "secret_keys",
    "secret_problems",
    "secret_refs",
]
