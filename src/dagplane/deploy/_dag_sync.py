"""DAG sync patterns: how ``dagplane sync`` from the control-plane image fills the DAG volume.

Pure: a ``DeployContext`` in, a Helm values fragment (deep-merged into the chart values) and
extra manifests out. Per ``dags.distribution``:

- ``sync-sidecar``: ``sync --watch`` beside the DAG processor (``dagProcessor.extraContainers``);
- ``sync-init``: a one-shot ``sync`` before it (``dagProcessor.extraInitContainers``). A job
  change moves the image tag, so the values change and the DAG processor rolls out;
- ``sync-cronjob``: a ``batch/v1`` CronJob (``dag-sync.yaml``) mounting the DAG claim;
- ``git-sync``: nothing here (the chart's gitSync values are rendered elsewhere).

The three sync patterns turn on the chart's ``dags.persistence``: one ReadWriteMany claim that
the DAG processor, triggerer and worker pods mount. With the KubernetesExecutor on Airflow 3
the chart mounts no DAG volume in the scheduler (the DAG processor parses), so the scheduler
needs no sync container. Chart facts (Airflow chart 1.22.0): the volume is named ``dags``, the
claim ``<release>-dags``, the mount ``dags.mountPath`` (set here to ``/opt/airflow/dags``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from dagplane.deploy._context import owned_manifest
from dagplane.images import CONTROL_PLANE_PROJECT

if TYPE_CHECKING:
    from dagplane.deploy._context import DeployContext

__all__ = [
    "DAGS_MOUNT_PATH",
    "DAGS_VOLUME",
    "SYNC_CONTAINER",
    "dag_sync_values",
    "dags_claim_name",
    "render_dag_sync",
    "sync_schedule",
]

# The chart's name for the DAG volume in its pod specs, and where it mounts it.
DAGS_VOLUME = "dags"
DAGS_MOUNT_PATH = "/opt/airflow/dags"
SYNC_CONTAINER = "dag-sync"
CRONJOB_FILE = "dag-sync.yaml"
_UID = 50000


def dags_claim_name(release: str) -> str:
    """The chart's DAG claim (``airflow_dags_volume_claim`` without ``existingClaim``)."""
    return f"{release}-dags"


def dag_sync_values(ctx: DeployContext) -> dict[str, Any]:
    """The Helm values fragment of the environment's DAG distribution (``{}`` for git-sync)."""
    dags = ctx.platform.dags
    if dags.distribution == "git-sync":
        return {}
    persistence: dict[str, Any] = {
        "enabled": True,
        "accessMode": "ReadWriteMany",
        "size": dags.volume_size,
    }
    if dags.storage_class:
        persistence["storageClassName"] = dags.storage_class
    values: dict[str, Any] = {
        "dags": {
            "mountPath": DAGS_MOUNT_PATH,
            "persistence": persistence,
            "gitSync": {"enabled": False},
        }
    }
    if dags.distribution == "sync-sidecar":
        values["dagProcessor"] = {"extraContainers": [_container(ctx, watch=True)]}
    elif dags.distribution == "sync-init":
        values["dagProcessor"] = {"extraInitContainers": [_container(ctx, watch=False)]}
    if dags.distribution != "sync-cronjob" and ctx.platform.images.pull_secret:
        values["imagePullSecrets"] = [ctx.platform.images.pull_secret]
    return values


def render_dag_sync(ctx: DeployContext) -> dict[str, str]:
    """The extra manifests of the DAG distribution: ``{"dag-sync.yaml": ...}`` for a CronJob."""
    if ctx.platform.dags.distribution != "sync-cronjob":
        return {}
    return {CRONJOB_FILE: _document(ctx, _cronjob(ctx))}


def sync_schedule(seconds: int) -> str:
    """A cron schedule at least as often as every ``seconds`` (never under a minute).

    ``*/N`` restarts every hour, so N is the largest divisor of 60 at most the asked minutes
    (even gaps, never later than asked); past an hour, the same in hours.
    """
    minutes = max(1, math.ceil(seconds / 60))
    if minutes < 60:
        step = max(d for d in (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30) if d <= minutes)
        return "* * * * *" if step == 1 else f"*/{step} * * * *"
    hours = minutes // 60
    if hours >= 24:
        return "0 0 * * *"
    step = max(d for d in (1, 2, 3, 4, 6, 8, 12) if d <= hours)
    return "0 * * * *" if step == 1 else f"0 */{step} * * *"


def _container(ctx: DeployContext, *, watch: bool) -> dict[str, Any]:
    if not ctx.control_plane_image:
        raise ValueError(
            "DeployContext.control_plane_image is empty: set it from "
            "dagplane.images.control_plane_image(config)"
        )
    packages = ctx.config.packages_dir.relative_to(ctx.config.root).as_posix()
    args = ["sync"]
    if watch:
        args += ["--watch", "--interval", str(ctx.platform.dags.sync_interval_seconds)]
    args += ["--dags-dir", DAGS_MOUNT_PATH, "--packages-dir", f"{CONTROL_PLANE_PROJECT}/{packages}"]
    return {
        "name": SYNC_CONTAINER,
        "image": ctx.control_plane_image,
        "imagePullPolicy": "IfNotPresent",
        "args": args,
        "volumeMounts": [{"name": DAGS_VOLUME, "mountPath": DAGS_MOUNT_PATH}],
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": _UID,
            "runAsGroup": 0,
            "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
    }


def _cronjob(ctx: DeployContext) -> dict[str, Any]:
    platform = ctx.platform
    labels = {
        "app.kubernetes.io/name": SYNC_CONTAINER,
        "app.kubernetes.io/part-of": "dagplane",
        "app.kubernetes.io/managed-by": "dagplane",
        "release": platform.release,
    }
    pod: dict[str, Any] = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": _UID,
            "runAsGroup": 0,
            "fsGroup": 0,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [_container(ctx, watch=False)],
        "volumes": [
            {
                "name": DAGS_VOLUME,
                "persistentVolumeClaim": {"claimName": dags_claim_name(platform.release)},
            }
        ],
    }
    if platform.images.pull_secret:
        pod["imagePullSecrets"] = [{"name": platform.images.pull_secret}]
    interval = platform.dags.sync_interval_seconds
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {
            "name": f"{platform.release}-{SYNC_CONTAINER}",
            "namespace": platform.namespace,
            "labels": dict(labels),
        },
        "spec": {
            "schedule": sync_schedule(interval),
            "concurrencyPolicy": "Forbid",
            "successfulJobsHistoryLimit": 1,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {
                "metadata": {"labels": dict(labels)},
                "spec": {
                    # The next run retries; a hung sync must not hold the Forbid slot for long.
                    "backoffLimit": 0,
                    "activeDeadlineSeconds": max(300, interval),
                    "template": {"metadata": {"labels": dict(labels)}, "spec": pod},
                },
            },
        },
    }


def _document(ctx: DeployContext, obj: dict[str, Any]) -> str:
    """One owned YAML document; no object is shared in ``obj``, so no YAML aliases."""
    return owned_manifest(ctx, [obj])


def _platform_source(ctx: DeployContext) -> str:
    from dagplane.deploy._platform import platform_path

    path = platform_path(ctx.config.deploy_dir, ctx.env)
    try:
        return path.relative_to(ctx.config.root).as_posix()
    except ValueError:
        return f"deploy/{ctx.env}/platform.yaml"
