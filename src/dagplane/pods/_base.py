"""The worker base: what the deployment puts in every worker pod, merged under dagplane's own.

A DAG's pod template *replaces* the executor's base template, so whatever the deployment wires
into workers must be inside every template: the Airflow configuration (which carries the
execution API URL and the logging settings), the DAG folder and the log volume. The deployment
owns that part, in the file ``[tool.dagplane] worker-base`` names (YAML, one ``v1`` Pod). Without
one, dagplane uses ``chart_worker_base()``: the official Airflow chart's conventions for the
release ``airflow``.

dagplane's part always wins: the hardened security contexts, no service-account token, a
writable ``/tmp`` that is also ``HOME``, and (per DAG) the image, the Secrets and resources.
The base's own Secret references are the platform's (say a git-sync key) and are allowed in
every pod, so they must never be a Secret a job declares.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from dagplane.errors import ConfigError
from dagplane.jobs.context import DEFAULT_SECRETS_DIR

__all__ = [
    "AIRFLOW_HOME",
    "RUN_AS_USER",
    "chart_worker_base",
    "hardened_pod",
    "load_worker_base",
]

AIRFLOW_HOME = "/opt/airflow"
RUN_AS_USER = 50000  # the official Airflow image's user
CHART_RELEASE = "airflow"

_POD_SECURITY = {
    "runAsNonRoot": True,
    "runAsUser": RUN_AS_USER,
    "runAsGroup": 0,
    "fsGroup": 0,
    "seccompProfile": {"type": "RuntimeDefault"},
}
_CONTAINER_SECURITY = {
    "runAsNonRoot": True,
    "runAsUser": RUN_AS_USER,
    "allowPrivilegeEscalation": False,
    "privileged": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
# The root filesystem is read-only: everything that writes (pip/uv caches, matplotlib, a
# library's ~/.config) must land in /tmp.
_ENV = [
    {"name": "AIRFLOW__CORE__EXECUTOR", "value": "LocalExecutor"},
    {"name": "HOME", "value": "/tmp"},
    {"name": "XDG_CACHE_HOME", "value": "/tmp/.cache"},
    {"name": "DAGPLANE__SECRETS_DIR", "value": str(DEFAULT_SECRETS_DIR)},
]
_VOLUMES = [{"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}}]
_MOUNTS = [{"name": "tmp", "mountPath": "/tmp"}]


def chart_worker_base(release: str = CHART_RELEASE) -> dict[str, Any]:
    """The official chart's worker wiring for ``release``: its ``airflow.cfg`` ConfigMap (which
    sets ``[core] execution_api_server_url`` to the release's API server), the DAG volume
    (``dags.persistence``) and an emptyDir for logs. No metadata-database or fernet Secrets:
    Airflow 3 workers reach the metadata only through the execution API."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "worker",
            "labels": {"tier": "airflow", "component": "worker", "release": release},
        },
        "spec": {
            "containers": [
                {
                    "name": "base",
                    "volumeMounts": [
                        {
                            "name": "config",
                            "mountPath": f"{AIRFLOW_HOME}/airflow.cfg",
                            "subPath": "airflow.cfg",
                            "readOnly": True,
                        },
                        {"name": "dags", "mountPath": f"{AIRFLOW_HOME}/dags", "readOnly": True},
                        {"name": "logs", "mountPath": f"{AIRFLOW_HOME}/logs"},
                    ],
                }
            ],
            "volumes": [
                {"name": "config", "configMap": {"name": f"{release}-config"}},
                {"name": "dags", "persistentVolumeClaim": {"claimName": f"{release}-dags"}},
                {"name": "logs", "emptyDir": {"sizeLimit": "1Gi"}},
            ],
        },
    }


def load_worker_base(path: Path | None) -> dict[str, Any]:
    """The deployment's worker base from ``path`` (YAML), or ``chart_worker_base()`` when
    ``path`` is ``None``. A bad file is an error naming the file, the field and the fix."""
    if path is None:
        return chart_worker_base()
    try:
        import yaml

        pod = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot read the worker base ({exc.strerror}) "
            "(fix: create it, or point [tool.dagplane] worker-base at your file)"
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    _check_base(path, pod)
    return pod


def _check_base(path: Path, pod: Any) -> None:
    def fail(field: str, problem: str, fix: str) -> None:
        raise ConfigError(f"{path}: {field}: {problem} (fix: {fix})")

    if not isinstance(pod, dict) or pod.get("kind") != "Pod" or pod.get("apiVersion") != "v1":
        fail(
            "kind",
            "the worker base must be one `apiVersion: v1`, `kind: Pod`",
            "start from `dagplane.pods.chart_worker_base()` or deploy/pod-template.yaml",
        )
    spec = pod.get("spec")
    if not isinstance(spec, dict):
        fail("spec", "missing or not a mapping", "add `spec: {containers: [{name: base}]}`")
    containers = spec.get("containers")
    if not isinstance(containers, list) or [c.get("name") for c in containers[:1]] != ["base"]:
        fail(
            "spec.containers[0].name",
            "the first container must be the task's, named `base` (the executor's name)",
            "name the first container `base`",
        )
    for name in ("image", "command", "args"):
        if name in containers[0]:
            fail(
                f"spec.containers[0].{name}",
                "set per DAG by dagplane and the executor, not by the base",
                f"remove `{name}`",
            )
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(field):
            fail(f"spec.{field}", "worker pods never share the node's namespaces", "remove it")
    for volume in spec.get("volumes") or []:
        if "hostPath" in volume:
            fail(
                f"spec.volumes[{volume.get('name')}].hostPath",
                "a worker must not mount the node's filesystem",
                "use a PersistentVolumeClaim, ConfigMap or emptyDir",
            )


def _by_key(items: list[dict[str, Any]], extra: list[dict[str, Any]], key: str) -> list[Any]:
    """``items`` then ``extra``; an ``extra`` entry replaces an item with the same ``key``."""
    replaced = {entry[key] for entry in extra}
    return [item for item in items if item.get(key) not in replaced] + copy.deepcopy(extra)


def hardened_pod(base: dict[str, Any]) -> dict[str, Any]:
    """``base`` with dagplane's hardening over it: the start of every worker pod."""
    pod = copy.deepcopy(base)
    metadata = pod.setdefault("metadata", {})
    metadata["name"] = metadata.get("name") or "worker"
    metadata.setdefault("labels", {})["app.kubernetes.io/managed-by"] = "dagplane"
    spec = pod["spec"]
    spec["automountServiceAccountToken"] = False
    spec["enableServiceLinks"] = False
    spec["restartPolicy"] = "Never"
    spec["securityContext"] = {**(spec.get("securityContext") or {}), **_POD_SECURITY}
    for list_name in ("initContainers", "containers"):
        for container in spec.get(list_name) or []:
            container["securityContext"] = copy.deepcopy(_CONTAINER_SECURITY)
    task = spec["containers"][0]
    task["imagePullPolicy"] = "IfNotPresent"
    task["env"] = _by_key(task.get("env") or [], _ENV, "name")
    task["volumeMounts"] = _by_key(task.get("volumeMounts") or [], _MOUNTS, "mountPath")
    spec["volumes"] = _by_key(spec.get("volumes") or [], _VOLUMES, "name")
    return pod
