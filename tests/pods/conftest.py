"""Build worker pods exactly as the KubernetesExecutor does, with the real provider."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
K8S_VERSION = "1.37.0"  # a current Kubernetes release known to kubernetes-validate

pytest.importorskip(
    "airflow.providers.cncf.kubernetes", reason="the cncf.kubernetes provider is a dev dependency"
)


def build_worker_pod(
    dag_id: str,
    task_id: str,
    executor_config: dict[str, Any] | None,
    *,
    base_template: Path = ROOT / "deploy" / "pod-template.yaml",
    kube_image: str | None = None,
    map_index: int = 0,
):
    """``KubernetesExecutor.execute_async`` + ``_build_pod_request``, minus the API calls."""
    from airflow.providers.cncf.kubernetes.executors.kubernetes_executor_utils import (
        get_base_pod_from_template,
    )
    from airflow.providers.cncf.kubernetes.kubernetes_helper_functions import create_unique_id
    from airflow.providers.cncf.kubernetes.pod_generator import PodGenerator

    override = PodGenerator.from_obj(executor_config)
    template = (executor_config or {}).get("pod_template_file")
    kube_config = SimpleNamespace(pod_template_file=str(base_template))
    base = get_base_pod_from_template(template, kube_config)
    return PodGenerator.construct_pod(
        dag_id=dag_id,
        task_id=task_id,
        pod_id=create_unique_id(dag_id, task_id),
        try_number=1,
        kube_image=kube_image,
        date=None,
        args=task_runner_args(dag_id, task_id, map_index),
        pod_override_object=override,
        base_worker_pod=base,
        namespace="airflow",
        scheduler_job_id="1",
        run_id="manual__1",
        map_index=map_index,
    )


def task_runner_args(dag_id: str, task_id: str, map_index: int = 0) -> list[str]:
    """The base container's args as the executor writes them (``workload_to_command_args``)."""
    import json

    workload = {
        "token": "not-a-real-token",
        "dag_rel_path": f"{dag_id}.py",
        "ti": {"dag_id": dag_id, "task_id": task_id, "run_id": "manual__1", "map_index": map_index},
        "type": "ExecuteTask",
    }
    return [
        "python",
        "-m",
        "airflow.sdk.execution_time.execute_workload",
        "--json-string",
        json.dumps(workload),
    ]


def as_json(pod) -> dict[str, Any]:
    from kubernetes.client import ApiClient

    return ApiClient().sanitize_for_serialization(pod)


def validate(pod) -> dict[str, Any]:
    """The pod's JSON after ``kubernetes-validate`` strict accepted it."""
    import kubernetes_validate

    data = as_json(pod)
    kubernetes_validate.validate(data, K8S_VERSION, strict=True)
    return data


@pytest.fixture
def worker_pod_of():
    return build_worker_pod
