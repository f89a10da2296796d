"""Render the secret side of a deployment from the job specs. Pure: no I/O.

- ``allow_list``: per DAG, the Secrets and keys its job declared (and its image);
- one ``ExternalSecret`` per declared Secret with exactly the keys jobs read (the union
  across jobs). Required keys sync into the Secret (``creationPolicy: Owner``); each optional
  key lives in a Secret of its own (``Secret.key_secret``) with its own ExternalSecret, so a
  key missing in the store fails only that key, never the Secret;
- ``create-secrets.sh``: the same Secrets with ``kubectl create secret generic``, for clusters
  without the External Secrets Operator; values come from the environment, never the file;
- ``airflow_local_settings.py``: a ``pod_mutation_hook`` that rejects any worker pod
  referencing a Secret or key outside its DAG's allow-list (the worker base's own references,
  ``platform_refs``, are allowed in every pod).

Generated files hold Secret names and keys, never values.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from dagplane.jobs.spec import optional_key_secret
from dagplane.pods import base_pod, render_base_pod_template
from dagplane.pods._image import image_for, pod_images
from dagplane.secrets import _refs
from dagplane.write import OutputSet, owned_header

if TYPE_CHECKING:
    from dagplane.config import ProjectConfig
    from dagplane.jobs.discovery import DiscoveryResult

__all__ = [
    "EXTERNAL_SECRETS_API",
    "allow_list",
    "deploy_outputs",
    "platform_refs",
    "render_external_secrets",
    "render_kubectl_recipe",
    "render_local_settings",
    "secret_keys",
]

EXTERNAL_SECRETS_API = "external-secrets.io/v1"
STORE_KIND = "ClusterSecretStore"
_REGENERATE = "change the job modules and run `dagplane render secrets`"


def allow_list(
    discovery: DiscoveryResult, config: ProjectConfig, images: Mapping[str, str] | None = None
) -> dict[str, dict[str, Any]]:
    """``{dag_id: {"image": ..., "secrets": {name: [keys]}}}`` for every discovered job;
    ``images``: the plan's ``pod_images``, when the caller already has them."""
    images = images if images is not None else pod_images(discovery, config)
    return {
        spec.dag_id: {
            "image": image_for(spec, config, config.root, images),
            "secrets": {
                name: list(keys)
                for secret in spec.options.secrets
                for name, keys in secret.sources().items()
            },
        }
        for spec in sorted(discovery.jobs, key=lambda s: s.dag_id)
    }


def platform_refs(config: ProjectConfig) -> list[list[str | None]]:
    """``[secret, key]`` pairs the worker base puts in every pod (``key`` None: the whole
    Secret), say a git-sync key: the platform's, allowed for every DAG."""
    pairs = {(name, key) for _, name, key in _refs.secret_refs(base_pod(config))}
    return [list(pair) for pair in sorted(pairs, key=lambda p: (str(p[0]), str(p[1])))]


def secret_keys(discovery: DiscoveryResult) -> dict[str, dict[str, list[str]]]:
    """Per Secret, the keys jobs read: ``{"required": [...], "optional": [...]}``.

    A key one job requires and another reads optionally is required."""
    found: dict[str, dict[str, set[str]]] = {}
    for spec in discovery.jobs:
        for secret in spec.options.secrets:
            entry = found.setdefault(secret.name, {"required": set(), "optional": set()})
            entry["required"].update(secret.keys)
            entry["optional"].update(secret.optional_keys)
    return {
        name: {
            "required": sorted(entry["required"]),
            "optional": sorted(entry["optional"] - entry["required"]),
        }
        for name, entry in sorted(found.items())
    }


def external_secret_objects(
    name: str, keys: dict[str, list[str]], config: ProjectConfig
) -> list[dict[str, Any]]:
    """The ExternalSecrets for Secret ``name``: its required keys, then one Secret of its own
    per optional key (read from the same remote secret ``name``)."""

    def make(target: str, remote: str, data_keys: list[str]) -> dict[str, Any]:
        return {
            "apiVersion": EXTERNAL_SECRETS_API,
            "kind": "ExternalSecret",
            "metadata": {
                "name": target,
                "labels": {
                    "app.kubernetes.io/managed-by": "dagplane",
                    "dagplane.io/secret": name,
                },
            },
            "spec": {
                "refreshInterval": "1h",
                "secretStoreRef": {"name": config.secret_store, "kind": STORE_KIND},
                "target": {"name": target, "creationPolicy": "Owner"},
                "data": [
                    {"secretKey": key, "remoteRef": {"key": remote, "property": key}}
                    for key in data_keys
                ],
            },
        }

    objects = [make(name, name, keys["required"])] if keys["required"] else []
    for key in keys["optional"]:  # a Secret of its own each: see Secret.key_secret
        objects.append(make(optional_key_secret(name, key), name, [key]))
    return objects


def render_external_secrets(discovery: DiscoveryResult, config: ProjectConfig) -> dict[str, str]:
    """``{<secret>.yaml: text}``: a multi-document YAML file per declared Secret."""
    files = {}
    for name, keys in secret_keys(discovery).items():
        docs = external_secret_objects(name, keys, config)
        body = "---\n".join(json.dumps(doc, indent=2) + "\n" for doc in docs)
        header = owned_header(
            body,
            source=f"secret {name}",
            made_from=f"the jobs that read Secret {name!r} (keys only, never values)",
            regenerate=_REGENERATE,
        )
        files[f"{name}.yaml"] = header + body
    return files


def render_kubectl_recipe(discovery: DiscoveryResult) -> str:
    """A shell script creating every declared Secret with kubectl, values from the environment."""
    lines = [
        "#!/bin/sh",
        "# Create the Secrets dagplane's jobs read, without the External Secrets Operator.",
        "# Export each KEY first (optional keys may stay unset); no value is in this file.",
        "# Values go to kubectl as files in a private folder, never on a command line (where",
        "# ps and /proc would show them); printf is a shell builtin, so it runs no process.",
        "set -eu",
        "umask 077",
        "values=$(mktemp -d)",
        "trap 'rm -rf \"$values\"' EXIT",
        "",
    ]
    for name, keys in secret_keys(discovery).items():
        lines.append(f"set -- kubectl create secret generic {name}")
        for key in keys["required"]:
            lines.append(f'printf %s "${{{key}:?export {key}}}" >"$values/{key}"')
            lines.append(f'set -- "$@" --from-file={key}="$values/{key}"')
        lines.append('"$@" --dry-run=client -o yaml | kubectl apply -f -')
        for key in keys["optional"]:  # each in a Secret of its own, made only when set
            lines.append(
                f'if [ -n "${{{key}:-}}" ]; then printf %s "${key}" >"$values/{key}"; '
                f"kubectl create secret generic {optional_key_secret(name, key)} "
                f'--from-file={key}="$values/{key}" --dry-run=client -o yaml '
                "| kubectl apply -f -; fi"
            )
        lines.append("")
    body = "\n".join(lines)
    header = owned_header(
        body,
        source="secrets recipe",
        made_from="the jobs' declared Secrets (keys only, never values)",
        regenerate=_REGENERATE,
    )
    # The shebang must come first; the marker stays within the first lines.
    first, rest = body.split("\n", 1)
    return first + "\n" + header + rest


_SETTINGS = '''\
"""Airflow local settings generated by dagplane: least privilege for worker pods.

Put this file on the scheduler's PYTHONPATH (for example $AIRFLOW_HOME/config/). The
KubernetesExecutor calls ``pod_mutation_hook`` for every worker pod it builds; the hook finds
the DAG the pod will run from the task runner's workload (labels and annotations must agree
with it), rejects a pod that references a Secret or key outside that DAG's declared ones
(volumes, projections, env secretKeyRef, envFrom; none at all for DAGs dagplane does not
know) or whose command was overridden, and pins the pod's ``base`` container to the DAG's
image. Other pods (KubernetesPodOperator) are checked only when they claim a dagplane DAG.
This is defence in depth: RBAC and the namespace are the boundary. It holds Secret names and
keys, never values.
"""

from __future__ import annotations

import json

# Per DAG: its image and the Secrets (name -> keys) its job declared.
ALLOW = {allow}
# [secret, key] pairs the deployment's worker base gives every worker pod (key null: whole).
PLATFORM = {platform}


class PodSecretsRejected(Exception):
    """A worker pod references Secrets outside its DAG's allow-list."""


{refs}

# How the KubernetesExecutor starts a task in Airflow 3: the workload's JSON follows.
_RUNNER = ["python", "-m", "airflow.sdk.execution_time.execute_workload", "--json-string"]


def _base(data):
    for container in (data.get("spec") or {{}}).get("containers") or []:
        if container.get("name") == "base":
            return container
    return None


def _claimed_dag_ids(data):
    metadata = data.get("metadata") or {{}}
    claims = ((metadata.get("annotations") or {{}}).get("dag_id"),
              (metadata.get("labels") or {{}}).get("dag_id"))
    return {{claim for claim in claims if claim}}


def _workload_dag_id(base):
    """The DAG the pod will run, read from the task runner's workload, or None."""
    args = base.get("args") or []
    if base.get("command") or len(args) != len(_RUNNER) + 1 or args[:-1] != _RUNNER:
        return None
    try:
        workload = json.loads(args[-1])
    except ValueError:
        return None
    ti = workload.get("ti") if isinstance(workload, dict) else None
    return ti.get("dag_id") if isinstance(ti, dict) else None


def _is_executor_pod(data, base):
    labels = (data.get("metadata") or {{}}).get("labels") or {{}}
    env = {{e.get("name"): e.get("value") for e in (base or {{}}).get("env") or []}}
    marked = env.get("AIRFLOW_IS_K8S_EXECUTOR_POD") == "True"
    return labels.get("kubernetes_executor") == "True" or marked


def pod_mutation_hook(pod):
    """Reject a worker pod that reads undeclared Secrets; pin a dagplane DAG's image.

    The DAG is the one the task runner will run (its workload), not what the pod's labels
    or annotations claim: a DAG's own pod_override can set those, so they must agree with it.
    """
    from kubernetes.client import ApiClient

    data = ApiClient().sanitize_for_serialization(pod)
    base = _base(data)
    claims = _claimed_dag_ids(data)
    if base is not None and _is_executor_pod(data, base):
        dag_id = _workload_dag_id(base)
        if dag_id is None:
            raise PodSecretsRejected(
                "the worker pod's base container does not run the Airflow task runner "
                "unchanged (its command or args were overridden)"
            )
        if claims - {{dag_id}}:
            raise PodSecretsRejected(
                f"the worker pod claims DAG(s) {{sorted(claims)}} but runs DAG {{dag_id!r}}"
            )
    else:
        # Not an executor worker (KubernetesPodOperator and others): only pods that claim a
        # dagplane DAG are held to its allow-list; RBAC is the boundary for the rest.
        known = sorted(claim for claim in claims if claim in ALLOW)
        if not known:
            return
        dag_id = known[0]
    entry = ALLOW.get(dag_id)
    problems = secret_problems(dag_id, data, entry["secrets"] if entry else {{}}, PLATFORM)
    if problems:
        raise PodSecretsRejected("; ".join(problems))
    if entry and _is_executor_pod(data, base):
        for container in pod.spec.containers or []:
            if container.name == "base":
                container.image = entry["image"]
'''


def _refs_source() -> str:
    source = inspect.getsource(_refs)
    start = source.index("_CONTAINER_LISTS =")  # after the docstring, imports and __all__
    return source[start:].rstrip() + "\n\n"


def render_local_settings(
    discovery: DiscoveryResult, config: ProjectConfig, images: Mapping[str, str] | None = None
) -> str:
    """The ``airflow_local_settings.py`` that enforces every DAG's Secret allow-list."""
    allow = json.dumps(allow_list(discovery, config, images), indent=4, sort_keys=True)
    platform = json.dumps(platform_refs(config))
    body = _SETTINGS.format(allow=allow, platform=platform, refs=_refs_source())
    header = owned_header(
        body,
        source="airflow_local_settings",
        made_from="the jobs' declared Secrets and images",
        regenerate=_REGENERATE,
    )
    return header + body


def deploy_outputs(discovery: DiscoveryResult, config: ProjectConfig) -> dict[str, OutputSet]:
    """What ``dagplane render secrets`` writes under the deploy folder."""
    deploy = config.deploy_dir
    secrets = render_external_secrets(discovery, config)
    secrets["create-secrets.sh"] = render_kubectl_recipe(discovery)
    # A failed module may have declared Secrets: prune nothing until it is fixed.
    pattern = "*" if not discovery.failed_paths else "-prune-nothing-"
    return {
        "secrets": OutputSet(deploy / "secrets", secrets, pattern=pattern),
        "airflow_settings": OutputSet(
            deploy / "airflow",
            {"airflow_local_settings.py": render_local_settings(discovery, config)},
            pattern="airflow_local_settings.py",
        ),
        "base_pod": OutputSet(
            deploy,
            {"pod-template.yaml": render_base_pod_template(config)},
            pattern="pod-template.yaml",
        ),
    }
