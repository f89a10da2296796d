"""DAG sync patterns, asserted on the OFFICIAL chart rendered with the fragment merged in.

The chart is the one in ``../shared/charts/airflow`` (1.22.0), rendered by a ``helm`` binary
when one is on PATH, else by Helm's Go SDK in the ``helm-python-sdk`` wheel.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from dagplane.config import load_config
from dagplane.deploy import DeployContext, load_platform, platform_path
from dagplane.deploy._dag_sync import (
    DAGS_MOUNT_PATH,
    SYNC_CONTAINER,
    dag_sync_values,
    dags_claim_name,
    render_dag_sync,
    sync_schedule,
)
from dagplane.deploy._platform import GitSync
from dagplane.write import read_owner

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT.parent / "shared" / "charts" / "airflow"
K8S = "1.37.0"
IMAGE = "ghcr.io/example-org/dagplane-control-plane:sha-0123456789ab"
BASE_VALUES = {
    "executor": "KubernetesExecutor",
    "airflowVersion": "3.3.2",
    "defaultAirflowTag": "3.3.2",
    "postgresql": {"enabled": False},
    "data": {"metadataSecretName": "airflow-metadata"},
}
HARDENED = {
    "runAsNonRoot": True,
    "runAsUser": 50000,
    "runAsGroup": 0,
    "readOnlyRootFilesystem": True,
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
PACKAGES = "/opt/dagplane/project/packages"

needs_chart = pytest.mark.skipif(
    not (CHART / "Chart.yaml").is_file(),
    reason=f"the official Airflow chart is not at {CHART} (../shared/charts/airflow)",
)


def context(tmp_path: Path, distribution: str, *, pull_secret: str | None = None) -> DeployContext:
    """The production environment with another DAG distribution (and pull secret)."""
    config = load_config(cwd=ROOT)
    platform = load_platform(platform_path(config.deploy_dir, "production"), env="production")
    dags: dict[str, Any] = {"distribution": distribution}
    if distribution == "git-sync":
        dags["git_sync"] = GitSync(
            repo="git@github.com:org/repo.git", known_hosts="h ssh-ed25519 A"
        )
    images = platform.images.model_copy(update={"pull_secret": pull_secret})
    platform = platform.model_copy(
        update={"dags": platform.dags.model_copy(update=dags), "images": images}
    )
    return DeployContext(platform=platform, config=config, control_plane_image=IMAGE)


def render_chart(ctx: DeployContext, fragment: dict[str, Any], tmp_path: Path) -> list[dict]:
    """Every object the chart renders with ``BASE_VALUES`` and ``fragment`` (no overlap)."""
    values = {**BASE_VALUES, **fragment}
    release, namespace = ctx.platform.release, ctx.platform.namespace
    helm = shutil.which("helm")
    if helm:
        file = tmp_path / "values.json"
        file.write_text(json.dumps(values), encoding="utf-8")
        argv = [helm, "template", release, str(CHART), "-n", namespace, "-f", str(file)]
        texts = [subprocess.run(argv, capture_output=True, text=True, check=True).stdout]
    else:
        from helm_python import Chart

        rendered = Chart.load(str(CHART)).render(values, name=release, namespace=namespace)
        texts = [rendered[n] for n in sorted(rendered) if n.endswith(".yaml")]  # not NOTES
    return [doc for text in texts for doc in yaml.safe_load_all(text) if doc]


def find(objects: list[dict], kind: str, name: str) -> dict:
    (found,) = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


def validate(obj: dict) -> None:
    import kubernetes_validate

    kubernetes_validate.validate(obj, K8S, strict=True)


def pod_volume(pod: dict, name: str) -> dict:
    (volume,) = [v for v in pod["volumes"] if v["name"] == name]
    return volume


def test_git_sync_is_left_to_the_charts_git_sync_values(tmp_path) -> None:
    ctx = context(tmp_path, "git-sync")
    assert dag_sync_values(ctx) == {}
    assert render_dag_sync(ctx) == {}


@needs_chart
def test_sidecar_syncs_beside_the_dag_processor_into_the_charts_dag_claim(tmp_path) -> None:
    ctx = context(tmp_path, "sync-sidecar")
    assert render_dag_sync(ctx) == {}
    objects = render_chart(ctx, dag_sync_values(ctx), tmp_path)
    deployment = find(objects, "Deployment", "airflow-dag-processor")
    pod = deployment["spec"]["template"]["spec"]
    containers = {c["name"]: c for c in pod["containers"]}
    sync = containers[SYNC_CONTAINER]
    assert sync["image"] == IMAGE
    assert sync["args"] == [
        "sync",
        "--watch",
        "--interval",
        "60",
        "--dags-dir",
        DAGS_MOUNT_PATH,
        "--packages-dir",
        PACKAGES,
    ]
    assert sync["volumeMounts"] == [{"name": "dags", "mountPath": "/opt/airflow/dags"}]
    assert sync["securityContext"] == HARDENED
    assert sync["resources"]["requests"] and sync["resources"]["limits"]["memory"]
    # The DAG processor reads the same volume at the same path, and that volume is the claim.
    processor_mounts = {m["name"]: m for m in containers["dag-processor"]["volumeMounts"]}
    assert processor_mounts["dags"]["mountPath"] == DAGS_MOUNT_PATH
    claim = pod_volume(pod, "dags")["persistentVolumeClaim"]["claimName"]
    assert claim == dags_claim_name("airflow") == "airflow-dags"
    pvc = find(objects, "PersistentVolumeClaim", claim)
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]
    assert pvc["spec"]["resources"]["requests"]["storage"] == "1Gi"
    assert pvc["spec"]["storageClassName"] == "efs-sc"
    assert not [c for c in pod["initContainers"] if c["name"] == SYNC_CONTAINER]
    for obj in (deployment, pvc):
        validate(obj)


@needs_chart
def test_init_syncs_once_before_the_dag_processor_and_the_scheduler_needs_none(tmp_path) -> None:
    ctx = context(tmp_path, "sync-init", pull_secret="registry-creds")
    objects = render_chart(ctx, dag_sync_values(ctx), tmp_path)
    deployment = find(objects, "Deployment", "airflow-dag-processor")
    pod = deployment["spec"]["template"]["spec"]
    (init,) = [c for c in pod["initContainers"] if c["name"] == SYNC_CONTAINER]
    assert init["image"] == IMAGE
    assert init["args"] == ["sync", "--dags-dir", DAGS_MOUNT_PATH, "--packages-dir", PACKAGES]
    assert init["volumeMounts"] == [{"name": "dags", "mountPath": DAGS_MOUNT_PATH}]
    assert init["securityContext"] == HARDENED
    assert SYNC_CONTAINER not in {c["name"] for c in pod["containers"]}
    assert pod_volume(pod, "dags")["persistentVolumeClaim"]["claimName"] == "airflow-dags"
    assert pod["imagePullSecrets"] == [{"name": "registry-creds"}]
    # With a DAG processor (Airflow 3) and no Local executor, the chart mounts no DAG volume
    # in the scheduler: it reads DAGs from the database, so it needs no sync of its own.
    scheduler = find(objects, "Deployment", "airflow-scheduler")["spec"]["template"]["spec"]
    assert "dags" not in {v["name"] for v in scheduler["volumes"]}
    for container in scheduler["containers"]:
        assert "dags" not in {m["name"] for m in container.get("volumeMounts", [])}
    validate(deployment)


@needs_chart
def test_cronjob_mounts_the_claim_the_chart_creates(tmp_path) -> None:
    ctx = context(tmp_path, "sync-cronjob", pull_secret="registry-creds")
    fragment = dag_sync_values(ctx)
    assert "dagProcessor" not in fragment and "imagePullSecrets" not in fragment
    objects = render_chart(ctx, fragment, tmp_path)
    processor = find(objects, "Deployment", "airflow-dag-processor")["spec"]["template"]["spec"]
    assert SYNC_CONTAINER not in {c["name"] for c in processor["containers"]}
    claim = pod_volume(processor, "dags")["persistentVolumeClaim"]["claimName"]
    pvc = find(objects, "PersistentVolumeClaim", claim)

    files = render_dag_sync(ctx)
    assert list(files) == ["dag-sync.yaml"]
    path = tmp_path / "dag-sync.yaml"
    path.write_text(files["dag-sync.yaml"], encoding="utf-8")
    assert read_owner(path) == "deploy/production/platform.yaml"
    assert "# run `dagplane render deploy --env production`." in files["dag-sync.yaml"]
    (cronjob,) = [d for d in yaml.safe_load_all(files["dag-sync.yaml"]) if d]
    validate(cronjob)
    assert (cronjob["kind"], cronjob["metadata"]["namespace"]) == ("CronJob", "airflow")
    spec = cronjob["spec"]
    assert (spec["schedule"], spec["concurrencyPolicy"]) == ("* * * * *", "Forbid")
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["restartPolicy"] == "Never"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["imagePullSecrets"] == [{"name": "registry-creds"}]
    (container,) = pod["containers"]
    assert container["image"] == IMAGE
    assert container["args"] == ["sync", "--dags-dir", DAGS_MOUNT_PATH, "--packages-dir", PACKAGES]
    assert container["securityContext"] == HARDENED
    assert container["volumeMounts"] == [{"name": "dags", "mountPath": DAGS_MOUNT_PATH}]
    assert pod_volume(pod, "dags")["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"]
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]  # shared with the chart's pods


def test_cronjob_without_a_pull_secret_names_none_and_renders_the_same_twice(tmp_path) -> None:
    ctx = context(tmp_path, "sync-cronjob")
    first = render_dag_sync(ctx)
    assert first == render_dag_sync(ctx)
    assert "&id" not in first["dag-sync.yaml"]  # plain YAML, no anchors or aliases
    (cronjob,) = yaml.safe_load_all(first["dag-sync.yaml"])
    assert "imagePullSecrets" not in cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]


@pytest.mark.parametrize(
    ("seconds", "schedule"),
    [
        (5, "* * * * *"),
        (60, "* * * * *"),
        (61, "*/2 * * * *"),
        (300, "*/5 * * * *"),
        (420, "*/6 * * * *"),  # 7 does not divide the hour: the next even step below
        (2700, "*/30 * * * *"),
        (3600, "0 * * * *"),
        (5 * 3600, "0 */4 * * *"),
        (3 * 86400, "0 0 * * *"),
    ],
)
def test_schedule_is_never_later_than_the_interval(seconds: int, schedule: str) -> None:
    assert sync_schedule(seconds) == schedule


def test_a_context_without_the_control_plane_image_is_refused(tmp_path) -> None:
    ctx = context(tmp_path, "sync-sidecar")
    from dataclasses import replace

    with pytest.raises(ValueError, match="control_plane_image is empty"):
        dag_sync_values(replace(ctx, control_plane_image=""))
