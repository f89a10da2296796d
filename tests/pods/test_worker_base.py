"""The deployment's worker base reaches every worker pod, under dagplane's hardening."""

from __future__ import annotations

import dataclasses
import textwrap

import pytest

from dagplane.cli import main
from dagplane.config import load_config
from dagplane.errors import ConfigError
from dagplane.jobs.discovery import discover
from dagplane.plan import SYNC_KINDS, build_plan, write_plan
from dagplane.pods import base_pod, load_worker_base

from .conftest import build_worker_pod, validate

JOB = """\
from dagplane import Job, Secret

def run(ctx):
    return 0

JOB = Job(entrypoint=run, secrets=[Secret(name="warehouse", keys=["POSTGRES_URL"])])
"""

# A git-sync deployment: the DAGs come from an init container with an SSH key Secret, the
# Airflow configuration from the release's ConfigMap. It also tries to weaken the pod.
GIT_SYNC_BASE = """\
apiVersion: v1
kind: Pod
metadata:
  name: worker
  labels: {tier: airflow, component: worker, release: prod}
spec:
  serviceAccountName: airflow-worker
  automountServiceAccountToken: true
  securityContext: {runAsUser: 0}
  initContainers:
    - name: git-sync-init
      image: registry.k8s.io/git-sync/git-sync:v4.4.0
      securityContext: {privileged: true}
      env:
        - {name: GITSYNC_ONE_TIME, value: "true"}
      volumeMounts:
        - {name: dags, mountPath: /git}
        - {name: git-sync-ssh-key, mountPath: /etc/git-secret/ssh, subPath: gitSshKey}
  containers:
    - name: base
      env:
        - {name: AIRFLOW__LOGGING__REMOTE_LOGGING, value: "True"}
        - {name: HOME, value: /home/airflow}
      volumeMounts:
        - {name: config, mountPath: /opt/airflow/airflow.cfg, subPath: airflow.cfg, readOnly: true}
        - {name: dags, mountPath: /opt/airflow/dags, readOnly: true}
        - {name: logs, mountPath: /opt/airflow/logs}
  volumes:
    - {name: config, configMap: {name: prod-config}}
    - {name: dags, emptyDir: {}}
    - {name: logs, emptyDir: {}}
    - name: git-sync-ssh-key
      secret:
        secretName: prod-git-ssh
        items: [{key: gitSshKey, path: gitSshKey}]
"""


def _project(write_job, packages, tmp_path, base_text: str | None):
    write_job("team", "load", JOB)
    table = "[tool.dagplane]\n"
    if base_text is not None:
        (tmp_path / "worker-base.yaml").write_text(base_text)
        table += 'worker-base = "worker-base.yaml"\n'
    (tmp_path / "pyproject.toml").write_text(table)
    config = dataclasses.replace(
        load_config(cwd=tmp_path), packages_dir=packages, dags_dir=tmp_path / "dags"
    )
    discovery = discover(packages, root=tmp_path)
    assert not discovery.failures
    write_plan(build_plan(discovery, config, SYNC_KINDS), SYNC_KINDS)
    return config, discovery


def _worker(config, discovery) -> dict:
    [spec] = discovery.jobs
    template = config.dags_dir / "pod_templates" / f"{spec.dag_id}.yaml"
    return validate(
        build_worker_pod(spec.dag_id, spec.job_id, {"pod_template_file": str(template)})
    )


def _env(container: dict) -> dict[str, str]:
    return {e["name"]: e.get("value") for e in container.get("env") or []}


@pytest.mark.airflow
def test_without_a_base_every_pod_gets_the_official_charts_worker_wiring(
    write_job, packages, tmp_path
) -> None:
    config, discovery = _project(write_job, packages, tmp_path, None)
    assert config.worker_base is None
    pod = _worker(config, discovery)
    [base] = pod["spec"]["containers"]
    mounts = {m["mountPath"]: m for m in base["volumeMounts"]}
    # The chart's airflow.cfg carries [core] execution_api_server_url and the logging settings.
    assert mounts["/opt/airflow/airflow.cfg"] == {
        "name": "config",
        "mountPath": "/opt/airflow/airflow.cfg",
        "subPath": "airflow.cfg",
        "readOnly": True,
    }
    assert mounts["/opt/airflow/dags"]["readOnly"] is True
    assert {"/opt/airflow/logs", "/tmp"} <= set(mounts)
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert volumes["config"] == {"name": "config", "configMap": {"name": "airflow-config"}}
    assert volumes["dags"]["persistentVolumeClaim"] == {"claimName": "airflow-dags"}
    assert _env(base)["HOME"] == "/tmp" and _env(base)["XDG_CACHE_HOME"] == "/tmp/.cache"
    labels = pod["metadata"]["labels"]
    assert (labels["component"], labels["release"]) == ("worker", "airflow")


@pytest.mark.airflow
def test_a_deployments_base_is_kept_and_cannot_weaken_the_pod(
    write_job, packages, tmp_path, capsys, monkeypatch
) -> None:
    config, discovery = _project(write_job, packages, tmp_path, GIT_SYNC_BASE)
    monkeypatch.chdir(tmp_path)
    assert config.worker_base == tmp_path / "worker-base.yaml"
    pod = _worker(config, discovery)
    spec = pod["spec"]
    [init] = spec["initContainers"]
    assert init["name"] == "git-sync-init" and _env(init) == {"GITSYNC_ONE_TIME": "true"}
    [base] = spec["containers"]
    env = _env(base)
    assert env["AIRFLOW__LOGGING__REMOTE_LOGGING"] == "True"
    assert env["HOME"] == "/tmp"  # the root filesystem is read-only: dagplane's value wins
    assert list(env).count("HOME") == 1
    assert {v["name"]: v for v in spec["volumes"]}["config"]["configMap"] == {"name": "prod-config"}
    assert pod["metadata"]["labels"]["release"] == "prod"
    assert spec["serviceAccountName"] == "airflow-worker"
    # What the base tried to loosen is dagplane's again, in every container.
    assert spec["automountServiceAccountToken"] is False
    assert spec["securityContext"]["runAsUser"] == 50000
    for container in (init, base):
        context = container["securityContext"]
        assert context["privileged"] is False and context["allowPrivilegeEscalation"] is False
        assert context["capabilities"] == {"drop": ["ALL"]}
    # The base's git key is the platform's: allowed in every pod, by the check too.
    assert main(["check", "secrets", "--packages-dir", str(packages)]) == 0
    assert "read only the Secrets" in capsys.readouterr().err


def test_a_base_that_hands_a_jobs_secret_to_every_pod_fails_the_check(
    write_job, packages, tmp_path, capsys, monkeypatch
) -> None:
    leaky = GIT_SYNC_BASE.replace("secretName: prod-git-ssh", "secretName: warehouse").replace(
        "key: gitSshKey", "key: POSTGRES_URL"
    )
    _project(write_job, packages, tmp_path, leaky)
    monkeypatch.chdir(tmp_path)
    assert main(["check", "secrets", "--packages-dir", str(packages)]) == 1
    err = capsys.readouterr().err
    assert "Secret 'warehouse' is in every worker pod, but it is DAG team__load's" in err
    assert "worker-base.yaml" in err


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("apiVersion: v1\nkind: Deployment\n", "kind"),
        (
            "apiVersion: v1\nkind: Pod\nspec:\n  containers: [{name: worker}]\n",
            "containers[0].name",
        ),
        (
            "apiVersion: v1\nkind: Pod\nspec:\n  containers: [{name: base, image: x:latest}]\n",
            "containers[0].image",
        ),
        (
            "apiVersion: v1\nkind: Pod\nspec:\n  containers: [{name: base}]\n"
            "  volumes: [{name: root, hostPath: {path: /}}]\n",
            "volumes[root].hostPath",
        ),
        ("apiVersion: v1\nkind: Pod\nspec: [\n", "not valid YAML"),
    ],
)
def test_a_bad_base_is_an_error_naming_the_file_and_field(tmp_path, text, field) -> None:
    path = tmp_path / "worker-base.yaml"
    path.write_text(textwrap.dedent(text))
    with pytest.raises(ConfigError) as caught:
        load_worker_base(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and field in message


def test_a_missing_base_file_says_how_to_fix_it(tmp_path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.dagplane]\nworker-base = "nope.yaml"\n')
    config = load_config(cwd=tmp_path)
    with pytest.raises(ConfigError, match=r"nope\.yaml: cannot read the worker base .*fix:"):
        base_pod(config)


@pytest.mark.airflow
def test_the_runtime_guard_allows_the_bases_secrets_and_nothing_more(
    write_job, packages, tmp_path
) -> None:
    from kubernetes.client import V1EnvVar, V1EnvVarSource, V1SecretKeySelector

    from tests.secrets.test_secrets import load_hook

    config, discovery = _project(write_job, packages, tmp_path, GIT_SYNC_BASE)
    hook = load_hook(config, discovery, tmp_path)
    assert hook.PLATFORM == [["prod-git-ssh", "gitSshKey"]]
    [spec] = discovery.jobs
    template = str(config.dags_dir / "pod_templates" / f"{spec.dag_id}.yaml")
    pod = build_worker_pod(spec.dag_id, spec.job_id, {"pod_template_file": template})
    hook.pod_mutation_hook(pod)  # the git key (platform) and the job's own Secret: allowed
    other_key = V1EnvVarSource(secret_key_ref=V1SecretKeySelector(name="prod-git-ssh", key="x"))
    pod.spec.containers[0].env.append(V1EnvVar(name="X", value_from=other_key))
    with pytest.raises(hook.PodSecretsRejected, match=r"Secret 'prod-git-ssh' \(key 'x'"):
        hook.pod_mutation_hook(pod)


def test_the_base_template_header_names_the_base_file_relative_to_the_project(
    write_job, packages, tmp_path
) -> None:
    from dagplane.pods import render_base_pod_template

    config, _ = _project(write_job, packages, tmp_path, GIT_SYNC_BASE)
    text = render_base_pod_template(config)
    assert text.startswith("# Generated by dagplane from worker-base.yaml under dagplane's")
    assert str(tmp_path) not in text  # the same bytes on every machine
