"""Every generated DAG's worker pod, built by the real provider, is valid and least-privilege."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from dagplane.config import load_config
from dagplane.images import image_reference
from dagplane.jobs.context import read_secret
from dagplane.jobs.discovery import discover
from dagplane.plan import SYNC_KINDS, build_plan, write_plan
from dagplane.pods import base_pod, image_for, render_base_pod_template

from .conftest import ROOT, build_worker_pod, validate

pytestmark = pytest.mark.airflow  # Airflow's DagBag and the cncf.kubernetes provider

SECRETS_DIR = "/var/run/secrets/dagplane"


@pytest.fixture(scope="module")
def repo():
    from airflow.dag_processing.dagbag import DagBag

    config = load_config(cwd=ROOT)
    discovery = discover(config.packages_dir, root=config.root)
    assert not discovery.failures
    bag = DagBag(dag_folder=str(config.dags_dir), safe_mode=True)
    assert bag.import_errors == {}
    return config, discovery, bag


def pods_of(config, discovery, bag, **kwargs):
    """``{dag_id: (spec, pod JSON)}`` for every job, built from its parsed DAG's task."""
    result = {}
    for spec in discovery.jobs:
        [task] = bag.dags[spec.dag_id].tasks
        pod = build_worker_pod(spec.dag_id, task.task_id, task.executor_config, **kwargs)
        result[spec.dag_id] = (spec, validate(pod))
    return result


def container(pod: dict) -> dict:
    [base] = [c for c in pod["spec"]["containers"] if c["name"] == "base"]
    return base


def test_every_dag_names_its_own_pod_template_as_an_absolute_path(repo) -> None:
    config, discovery, bag = repo
    for spec in discovery.jobs:
        [task] = bag.dags[spec.dag_id].tasks
        path = Path(task.executor_config["pod_template_file"])
        assert path.is_absolute() and path.is_file()
        assert path == config.dags_dir / "pod_templates" / f"{spec.dag_id}.yaml"


def test_worker_pods_run_the_jobs_image_hardened(repo) -> None:
    config, discovery, bag = repo
    pods = pods_of(config, discovery, bag)
    assert set(pods) == {s.dag_id for s in discovery.jobs}
    for dag_id, (spec, pod) in pods.items():
        base = container(pod)
        assert base["image"] == image_for(spec, config) == image_reference(config, spec.image)
        assert re.fullmatch(
            rf"ghcr\.io/example-org/dagplane-{spec.image}:sha-[0-9a-f]{{12}}", base["image"]
        )
        assert base["imagePullPolicy"] == "IfNotPresent"
        assert "imagePullSecrets" not in pod["spec"]  # none configured here
        assert pod["spec"]["automountServiceAccountToken"] is False
        assert pod["spec"]["securityContext"] == {
            "runAsNonRoot": True,
            "runAsUser": 50000,
            "runAsGroup": 0,
            "fsGroup": 0,
            "seccompProfile": {"type": "RuntimeDefault"},
        }
        assert base["securityContext"] == {
            "runAsNonRoot": True,
            "runAsUser": 50000,
            "allowPrivilegeEscalation": False,
            "privileged": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        }
        mounts = {m["mountPath"]: m["name"] for m in base["volumeMounts"]}
        volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
        assert "emptyDir" in volumes[mounts["/tmp"]]
        assert "emptyDir" in volumes[mounts["/opt/airflow/logs"]]
        labels = pod["metadata"]["labels"]
        assert labels["dagplane.io/dag"] == dag_id
        assert labels["dagplane.io/image"] == spec.image
        assert labels["dagplane.io/team"] == spec.owner
        assert pod["metadata"]["annotations"]["dag_id"] == dag_id  # what the guard reads
        resources = spec.options.resources
        assert base["resources"]["requests"] == {"cpu": resources.cpu, "memory": resources.memory}
        limits = {"cpu": resources.cpu_limit, "memory": resources.memory_limit}
        assert base["resources"].get("limits", {}) == {
            k: v for k, v in limits.items() if v is not None
        }


def test_salesforce_pod_mounts_exactly_its_declared_keys_and_optional_ones_optionally(
    repo,
) -> None:
    config, discovery, bag = repo
    _, pod = pods_of(config, discovery, bag)["salesforce__salesforce_to_postgres"]
    base = container(pod)
    env = {e["name"]: e for e in base["env"]}
    assert env["DAGPLANE__SECRETS_DIR"]["value"] == SECRETS_DIR
    assert not [e for e in base["env"] if "valueFrom" in e]  # files by default, not env
    mounts = {m["name"]: m for m in base["volumeMounts"] if m["name"].startswith("secret-")}
    assert {m["mountPath"] for m in mounts.values()} == {
        f"{SECRETS_DIR}/salesforce-credentials",
        f"{SECRETS_DIR}/warehouse-postgres",
    }
    assert all(m["readOnly"] is True for m in mounts.values())
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    sources = volumes["secret-salesforce-credentials"]["projected"]["sources"]
    required, *optional = (s["secret"] for s in sources)
    assert required["name"] == "salesforce-credentials" and "optional" not in required
    assert [i["key"] for i in required["items"]] == [
        "SALESFORCE_USERNAME",
        "SALESFORCE_PASSWORD",
        "SALESFORCE_SECURITY_TOKEN",
    ]
    # Each optional key comes from a Secret of its own, optional, into the same folder.
    assert optional == [
        {
            "name": f"salesforce-credentials-{key.lower().replace('_', '-')}",
            "items": [{"key": key, "path": key}],
            "optional": True,
        }
        for key in ("SALESFORCE_CLIENT_ID", "SALESFORCE_CLIENT_SECRET", "SALESFORCE_PRIVATE_KEY")
    ]
    [postgres] = (s["secret"] for s in volumes["secret-warehouse-postgres"]["projected"]["sources"])
    assert postgres == {
        "name": "warehouse-postgres",
        "items": [{"key": "POSTGRES_URL", "path": "POSTGRES_URL"}],
    }


def test_the_runtime_finds_secrets_where_the_pod_mounts_them(repo, tmp_path, monkeypatch) -> None:
    config, discovery, bag = repo
    _, pod = pods_of(config, discovery, bag)["salesforce__salesforce_to_postgres"]
    base = container(pod)
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    # Lay out the files the kubelet would project, under tmp_path instead of /.
    for mount in base["volumeMounts"]:
        volume = volumes[mount["name"]]
        for source in volume.get("projected", {}).get("sources", []):
            for item in source["secret"]["items"]:
                file = tmp_path / mount["mountPath"].lstrip("/") / item["path"]
                file.parent.mkdir(parents=True, exist_ok=True)
                file.write_text(f"value of {item['key']}\n")
    env = {e["name"]: e.get("value") for e in base["env"]}
    monkeypatch.setenv("DAGPLANE__SECRETS_DIR", str(tmp_path) + env["DAGPLANE__SECRETS_DIR"])
    for secret in discovery.jobs[-1].options.secrets:
        for key in secret.all_keys:
            monkeypatch.delenv(key, raising=False)
            assert read_secret(secret.name, key) == f"value of {key}"


def test_the_executors_image_setting_would_replace_the_templates_image(repo) -> None:
    """Why the rendered pod_mutation_hook pins the image: with a pod_template_file, the
    executor's own worker image (worker_container_repository:tag) wins over the template's."""
    config, discovery, bag = repo
    pods = pods_of(config, discovery, bag, kube_image="apache/airflow:3.3.2")
    assert {container(pod)["image"] for _, pod in pods.values()} == {"apache/airflow:3.3.2"}


def test_each_dag_template_holds_the_whole_base_template(repo) -> None:
    """The executor uses a DAG's template *instead of* the base one, so nothing of the base
    may be lost: merging the base under a DAG's pod changes nothing."""
    from airflow.providers.cncf.kubernetes.pod_generator import PodGenerator

    config, discovery, _bag = repo
    base_file = ROOT / "deploy" / "pod-template.yaml"
    assert base_file.read_text() == render_base_pod_template()
    base = PodGenerator.deserialize_model_file(str(base_file))
    validate(base)
    for spec in discovery.jobs:
        dag_file = config.dags_dir / "pod_templates" / f"{spec.dag_id}.yaml"
        dag_pod = PodGenerator.deserialize_model_file(str(dag_file))
        merged = PodGenerator.reconcile_pods(base, dag_pod)
        # Lists (env, mounts, volumes) are concatenated by the merge: compare as sets.
        assert _normal(merged) == _normal(dag_pod), spec.dag_id


def _normal(pod) -> str:
    from .conftest import as_json

    data = as_json(pod)
    spec = data["spec"]
    for field in ("volumes",):
        spec[field] = sorted({json.dumps(v, sort_keys=True) for v in spec.get(field) or []})
    for c in spec["containers"]:
        for field in ("env", "volumeMounts"):
            c[field] = sorted({json.dumps(v, sort_keys=True) for v in c.get(field) or []})
    return json.dumps(data, sort_keys=True)


def test_env_secrets_pull_secret_and_label_values(write_job, packages, tmp_path) -> None:
    write_job(
        "team_x",
        "report",
        """\
        from dagplane import Job, Resources, Secret

        def run(ctx):
            return 0

        JOB = Job(
            entrypoint=run,
            owner="Data Platform (EMEA)",
            secrets=[
                Secret(name="api.tokens", keys=["API_TOKEN"], optional_keys=["API_OLD"], env=True),
                Secret(name="files", keys=["CERT"]),
            ],
            resources=Resources(cpu="1", memory="1Gi", cpu_limit="2", memory_limit="2Gi"),
        )
        """,
    )
    config = dataclasses.replace(
        load_config(cwd=tmp_path),
        root=tmp_path,
        packages_dir=packages,
        dags_dir=tmp_path / "dags",
        image_pull_secret="regcred",  # pragma: allowlist secret
    )
    discovery = discover(packages, root=tmp_path)
    assert not discovery.failures
    write_plan(build_plan(discovery, config, SYNC_KINDS), SYNC_KINDS)
    [spec] = discovery.jobs
    template = config.dags_dir / "pod_templates" / f"{spec.dag_id}.yaml"
    pod = validate(build_worker_pod(spec.dag_id, spec.job_id, {"pod_template_file": str(template)}))
    assert pod["spec"]["imagePullSecrets"] == [{"name": "regcred"}]
    base = container(pod)
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in base["env"] if "valueFrom" in e}
    assert refs == {
        "API_TOKEN": {"name": "api.tokens", "key": "API_TOKEN"},
        "API_OLD": {"name": "api.tokens-api-old", "key": "API_OLD", "optional": True},
    }
    secret_volumes = [v for v in pod["spec"]["volumes"] if "projected" in v]
    assert [v["projected"]["sources"][0]["secret"]["name"] for v in secret_volumes] == ["files"]
    assert base["resources"] == {
        "requests": {"cpu": "1", "memory": "1Gi"},
        "limits": {"cpu": "2", "memory": "2Gi"},
    }
    labels = pod["metadata"]["labels"]
    assert all(len(v) <= 63 for v in labels.values())
    assert labels["dagplane.io/team"].startswith("Data-Platform-EMEA-")


def test_base_pod_is_the_hardened_start_of_every_template() -> None:
    spec = base_pod()["spec"]
    assert spec["automountServiceAccountToken"] is False
    assert spec["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is True


def test_image_pull_secret_is_configuration(tmp_path, monkeypatch) -> None:
    (tmp_path / "pyproject.toml").write_text(
        # pragma: allowlist nextline secret
        '[tool.dagplane]\nimage-pull-secret = "regcred"\nregistry = "registry.example.com"\n'
    )
    config = load_config(cwd=tmp_path)
    assert (config.image_pull_secret, config.registry) == ("regcred", "registry.example.com")
    monkeypatch.setenv("DAGPLANE__IMAGE_PULL_SECRET", "other")
    assert load_config(cwd=tmp_path).image_pull_secret == "other"  # pragma: allowlist secret
    (tmp_path / "pyproject.toml").write_text("[tool.dagplane]\n")
    monkeypatch.delenv("DAGPLANE__IMAGE_PULL_SECRET")
    assert load_config(cwd=tmp_path).image_pull_secret == ""
