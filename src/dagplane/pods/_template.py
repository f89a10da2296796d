"""Worker pods: the base every worker starts from, and each DAG's pod template. Pure.

A DAG's task names its pod template with ``executor_config={"pod_template_file": path}``; the
KubernetesExecutor then uses that file *instead of* its configured base template
(``get_base_pod_from_template``) and reconciles it with the pod it builds for the task. So each
DAG's template is complete: the base (``base_pod``: the deployment's worker wiring under
dagplane's hardening, see ``_base``) plus the DAG's own image, secrets, resources and labels.
Templates are JSON, which is YAML too, so the executor reads them as they are.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from dagplane.jobs.context import DEFAULT_SECRETS_DIR
from dagplane.pods._base import AIRFLOW_HOME, RUN_AS_USER, hardened_pod, load_worker_base
from dagplane.pods._image import image_for, pod_images
from dagplane.write import OutputSet, owned_header

if TYPE_CHECKING:
    from dagplane.config import ProjectConfig
    from dagplane.jobs.discovery import DiscoveryResult
    from dagplane.jobs.spec import JobSpec, Secret

__all__ = [
    "AIRFLOW_HOME",
    "POD_TEMPLATES_DIR",
    "RUN_AS_USER",
    "SECRETS_DIR",
    "base_pod",
    "label_value",
    "pod_outputs",
    "pod_template_filename",
    "render_base_pod_template",
    "render_pod_template",
    "secret_volume_name",
    "worker_pod",
]

POD_TEMPLATES_DIR = "pod_templates"  # beside the DAG files, inside the DAG folder
SECRETS_DIR = str(DEFAULT_SECRETS_DIR)
LABEL_PREFIX = "dagplane.io/"
_LABEL_BAD = re.compile(r"[^A-Za-z0-9_.-]+")


def label_value(text: str) -> str:
    """``text`` as a Kubernetes label value: at most 63 of ``[A-Za-z0-9_.-]``, alphanumeric
    at both ends; a long or rewritten value keeps a short hash so it stays distinct."""
    clean = _LABEL_BAD.sub("-", text).strip("-_.")
    if clean == text and len(text) <= 63:
        return text
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
    return f"{clean[:54].rstrip('-_.')}-{digest}".lstrip("-_.")


def secret_volume_name(secret: str) -> str:
    """The volume that mounts ``secret``: a DNS-1123 label derived from its name."""
    name = "secret-" + secret.replace(".", "-")
    if len(name) <= 63:
        return name
    digest = hashlib.sha256(secret.encode("utf-8")).hexdigest()[:8]
    return f"{name[:54].rstrip('-')}-{digest}"


def base_pod(config: ProjectConfig | None = None) -> dict[str, Any]:
    """What every worker pod gets, whatever its DAG: the deployment's worker base (the file
    ``[tool.dagplane] worker-base`` names, else the official chart's wiring) under dagplane's
    hardening. This is also the executor's own base template (``deploy/pod-template.yaml``)."""
    path = config.worker_base if config is not None else None
    return hardened_pod(load_worker_base(path))


def _secret_volume(secret: Secret) -> dict[str, Any]:
    """One projected volume per Secret: required keys, then optional ones (``optional``)."""
    sources = [
        {"secret": {"name": secret.name, "items": [{"key": k, "path": k} for k in secret.keys]}}
    ]
    for key in secret.optional_keys:  # each in a Secret of its own (see Secret.key_secret)
        item = [{"key": key, "path": key}]
        sources.append(
            {"secret": {"name": secret.key_secret(key), "items": item, "optional": True}}
        )
    return {
        "name": secret_volume_name(secret.name),
        "projected": {"sources": sources, "defaultMode": 0o440},
    }


def _secret_env(secret: Secret) -> list[dict[str, Any]]:
    env = []
    for key in secret.all_keys:
        ref: dict[str, Any] = {"name": secret.key_secret(key), "key": key}
        if key in secret.optional_keys:
            ref["optional"] = True
        env.append({"name": key, "valueFrom": {"secretKeyRef": ref}})
    return env


def worker_pod(
    spec: JobSpec,
    config: ProjectConfig,
    images: Mapping[str, str] | None = None,
    base: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The complete pod template of ``spec``'s DAG: ``base`` (default ``base_pod(config)``)
    plus the job's own image, Secrets, resources and labels."""
    pod = copy.deepcopy(base) if base is not None else base_pod(config)
    options = spec.options
    labels = {
        f"{LABEL_PREFIX}dag": label_value(spec.dag_id),
        f"{LABEL_PREFIX}image": label_value(spec.image),
        f"{LABEL_PREFIX}team": label_value(spec.owner),
    }
    pod["metadata"]["name"] = spec.dag_id.replace("_", "-")[:63].strip("-")
    pod["metadata"]["labels"].update(labels)
    pod["metadata"]["annotations"] = {f"{LABEL_PREFIX}dag-id": spec.dag_id}
    pod_spec = pod["spec"]
    if config.image_pull_secret:
        pod_spec["imagePullSecrets"] = [{"name": config.image_pull_secret}]
    container = pod_spec["containers"][0]
    container["image"] = image_for(spec, config, config.root, images)
    resources = options.resources
    container["resources"] = {"requests": {"cpu": resources.cpu, "memory": resources.memory}}
    limits = {
        name: value
        for name, value in (("cpu", resources.cpu_limit), ("memory", resources.memory_limit))
        if value is not None
    }
    if limits:
        container["resources"]["limits"] = limits
    for secret in options.secrets:
        if secret.env:
            container["env"].extend(_secret_env(secret))
            continue
        volume = _secret_volume(secret)
        pod_spec["volumes"].append(volume)
        container["volumeMounts"].append(
            {
                "name": volume["name"],
                "mountPath": str(PurePosixPath(SECRETS_DIR, secret.name)),
                "readOnly": True,
            }
        )
    return pod


def pod_template_filename(spec: JobSpec) -> str:
    """The template's path relative to the DAG folder."""
    return f"{POD_TEMPLATES_DIR}/{spec.dag_id}.yaml"


def _as_yaml(pod: dict[str, Any]) -> str:
    return json.dumps(pod, indent=2, sort_keys=False) + "\n"


def render_pod_template(
    spec: JobSpec,
    config: ProjectConfig,
    images: Mapping[str, str] | None = None,
    base: dict[str, Any] | None = None,
) -> str:
    """The text of ``spec``'s pod template file, with dagplane's ownership header."""
    from dagplane.dags.render import job_owned

    body = _as_yaml(worker_pod(spec, config, images, base))
    return job_owned(spec, body, "; it names Secrets and keys, never values")


def render_base_pod_template(config: ProjectConfig | None = None) -> str:
    """The deployment's base worker pod template (``[kubernetes_executor] pod_template_file``)."""
    body = _as_yaml(base_pod(config))
    worker_base = config.worker_base if config is not None else None
    made_from = "the official chart's worker wiring (chart_worker_base)"
    if config is not None and worker_base is not None:  # relative: the header is portable
        made_from = os.path.relpath(worker_base, config.root).replace(os.sep, "/")
    header = owned_header(
        body,
        source="dagplane.pods",
        made_from=f"{made_from} under dagplane's hardening (the start of every DAG's pod template)",
        regenerate="run `dagplane render secrets`",
    )
    return header + body


def pod_outputs(discovery: DiscoveryResult, config: ProjectConfig) -> OutputSet:
    """The pod template files of the discovered jobs, in ``<dags dir>/pod_templates/``."""
    images = pod_images(discovery, config)
    base = base_pod(config)
    files = {
        Path(pod_template_filename(spec)).name: render_pod_template(spec, config, images, base)
        for spec in discovery.jobs
    }
    failed = {f"{Path(p).parent.parent.name}__{Path(p).stem}.yaml" for p in discovery.failed_paths}
    return OutputSet(
        config.dags_dir / POD_TEMPLATES_DIR, files, pattern="*.yaml", keep=frozenset(failed)
    )
