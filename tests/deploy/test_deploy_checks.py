"""The production deployment, checked through the real chart: every checklist item passes on
the committed config, and breaking each item fails exactly its check."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from dagplane.cli import main
from dagplane.config import load_config
from dagplane.deploy._render import ChartInputs, deploy_context, render_deploy
from dagplane.deploy.checks import CHECKS, render_chart, run_checks
from dagplane.jobs.discovery import discover

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
CHART = SHARED / "charts" / "airflow"

pytestmark = pytest.mark.skipif(
    not CHART.is_dir(), reason=f"the official Airflow chart is not at {CHART} (../shared)"
)


@pytest.fixture(scope="module")
def project():
    config = load_config(cwd=ROOT)
    discovery = discover(config.packages_dir, root=config.root)
    assert not discovery.failures
    return config, discovery


@pytest.fixture(scope="module")
def production(project):
    config, discovery = project
    ctx = deploy_context("production", discovery, config)
    return render_deploy(ctx, ChartInputs(CHART, config.chart_schema, config.crd_dir))


def test_every_checklist_item_passes_for_production(production) -> None:
    failed = [(r.name, r.value) for r in production.results if not r.ok]
    assert failed == []
    assert [r.name for r in production.results] == list(CHECKS)
    assert production.chart.engine in {"helm", "helm-python-sdk"}


def test_the_chart_renders_what_production_needs(production) -> None:
    chart = production.chart
    scheduler = chart.get("Deployment", "airflow-scheduler")
    assert scheduler["spec"]["replicas"] == 2
    assert chart.get("PodDisruptionBudget", "airflow-scheduler-pdb") is not None
    bouncer = chart.get("Deployment", "airflow-pgbouncer")
    assert bouncer["spec"]["replicas"] == 2
    # 2 schedulers + 2 x 4 API server workers + 1 DAG processor + 2 triggerers = 13 processes
    # of up to 5 + 10 connections; 2 PgBouncers share 80% of max_connections 200.
    [ini] = [
        o["spec"]["target"]["template"]["data"]["pgbouncer.ini"]
        for o in production.resource_objects
        if o["kind"] == "ExternalSecret" and o["metadata"]["name"] == "airflow-pgbouncer-config"
    ]
    assert "pool_size=65" in ini and "max_client_conn = 200" in ini
    assert "host=airflow-metadata.prod.db.internal dbname=airflow port=5432" in ini
    assert chart.of_kind("Secret") == []  # every credential comes from the secret store
    assert chart.get("StatefulSet", "airflow-postgresql") is None
    config = chart.get("ConfigMap", "airflow-config")["data"]
    assert (
        "remote_base_log_folder = s3://example-org-airflow-logs/production" in config["airflow.cfg"]
    )
    template = json.loads(config["pod_template_file.yaml"])
    assert template["spec"]["containers"][0]["securityContext"]["readOnlyRootFilesystem"]
    images = {
        c["image"]
        for o in chart.objects
        for c in o.get("spec", {}).get("template", {}).get("spec", {}).get("containers", [])
    }
    assert "apache/airflow:3.3.2" in images and not any(i.endswith(":latest") for i in images)


def _rerun(production, *, values=None, platform=None, backed=None, extra=None):
    ctx = production.ctx
    if platform is not None:
        ctx = type(ctx)(**{**ctx.__dict__, "platform": platform})
        redone = render_deploy(ctx, ChartInputs(CHART))
        return {r.name for r in redone.results if not r.ok}
    values = values if values is not None else production.values
    rendered = render_chart(CHART, values, release="airflow", namespace="airflow")
    results = run_checks(
        ctx,
        values,
        rendered,
        backed_secrets=backed
        if backed is not None
        else frozenset(name for name, _ in production.secrets),
        extra_objects=extra if extra is not None else production.resource_objects,
    )
    return {r.name for r in results if not r.ok}


def _values(change: Callable[[dict], None]) -> Callable:
    def apply(production):
        values = copy.deepcopy(production.values)
        change(values)
        return _rerun(production, values=values)

    return apply


def _platform(**update) -> Callable:
    def apply(production):
        platform = production.ctx.platform
        for dotted, value in update.items():
            path = dotted.split("__")
            parents = [platform]
            for part in path[:-1]:
                parents.append(getattr(parents[-1], part))
            new = parents[-1].model_copy(update={path[-1]: value})
            for parent, part in zip(reversed(parents[:-1]), reversed(path[:-1]), strict=True):
                new = parent.model_copy(update={part: new})
            platform = new
        return _rerun(production, platform=platform)

    return apply


BREAKS = {
    "external-metadata-db": _platform(metadata_db__sslmode="disable"),
    "pgbouncer": _platform(pgbouncer__enabled=False),
    "no-chart-secrets": _values(lambda v: v.pop("fernetKeySecretName")),
    "secrets-backed": lambda p: _rerun(
        p, backed=frozenset(n for n, _ in p.secrets if n != "airflow-jwt-secret")
    ),
    "scheduler-ha": _platform(ha__scheduler_replicas=1),
    "api-server-ha": _platform(ha__api_server_replicas=1),
    "dag-distribution": _values(lambda v: v["dagProcessor"].update(extraContainers=[])),
    "remote-logging": _platform(logging__remote=None),
    "worker-pod-template": _values(lambda v: v.pop("podTemplate")),
    "secret-guard": _values(lambda v: v.pop("airflowLocalSettings")),
    "pinned-images": _values(lambda v: v["images"]["airflow"].update(tag="latest")),
    "no-examples-no-default-user": _values(lambda v: v["createUserJob"].update(enabled=True)),
    "metrics": _platform(metrics__kind="none"),
    "network-policies": lambda p: _rerun(
        p, extra=tuple(o for o in p.resource_objects if o["kind"] != "NetworkPolicy")
    ),
    "resources": _values(lambda v: v["scheduler"].update(resources={})),
    "worker-base-matches": _platform(release="prod"),
}


def test_every_check_has_a_break() -> None:
    assert set(BREAKS) == set(CHECKS)


@pytest.mark.parametrize("name", list(BREAKS))
def test_breaking_an_item_fails_exactly_its_check(production, name) -> None:
    assert BREAKS[name](production) == {name}


def test_check_deploy_passes_on_the_committed_files(capsys) -> None:
    assert main(["check", "deploy", "--env", "production", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    names = {c["name"]: c["ok"] for c in report["checks"]}
    assert all(names.values()), [n for n, ok in names.items() if not ok]
    assert {"fresh", "values-schema", "manifests-valid", "kustomize-builds"} <= set(names)


def test_render_deploy_check_passes_and_a_stale_file_fails_it(tmp_path, capsys, monkeypatch):
    import shutil

    assert main(["render", "deploy", "--env", "production", "--check"]) == 0
    shutil.copytree(ROOT / "packages", tmp_path / "packages")
    (tmp_path / "deploy" / "production").mkdir(parents=True)
    shutil.copy(ROOT / "deploy/production/platform.yaml", tmp_path / "deploy/production")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "acme"\n\n[tool.dagplane]\n')
    monkeypatch.chdir(tmp_path)
    flags = ["--chart", str(CHART), "--crd-dir", str(SHARED / "schemas")]
    assert main(["render", "deploy", "--env", "production", *flags]) == 0
    assert main(["render", "deploy", "--env", "production", "--check", *flags]) == 0
    values = tmp_path / "deploy/production/values.yaml"
    values.write_text(values.read_text().replace("replicas: 2", "replicas: 1", 1))
    capsys.readouterr()
    assert main(["render", "deploy", "--env", "production", "--check", *flags]) == 1
    err = capsys.readouterr().err
    assert "write production/values.yaml" in err and "is stale for production" in err
    assert main(["check", "deploy", "--env", "production", *flags]) == 1
    assert "FAIL fresh: stale: production/values.yaml" in capsys.readouterr().err


def test_an_unknown_environment_names_the_file_and_the_fix(capsys) -> None:
    assert main(["render", "deploy", "--env", "staging"]) == 1
    err = capsys.readouterr().err
    assert "deploy/staging/platform.yaml: no platform config for environment 'staging'" in err
    assert "fix: create it" in err


# A public host key, not a secret (split so the line stays short).
# pragma: allowlist nextline secret
_KEY = "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
KNOWN_HOSTS = "github.com ssh-ed25519 " + _KEY


def test_a_git_sync_platform_renders_git_sync_with_pinned_host_keys(production) -> None:
    platform = production.ctx.platform.model_copy(
        update={
            "dags": production.ctx.platform.dags.model_validate(
                {
                    "distribution": "git-sync",
                    "git_sync": {
                        "repo": "git@github.com:example-org/dagplane.git",
                        "known_hosts": KNOWN_HOSTS,
                    },
                }
            )
        }
    )
    ctx = type(production.ctx)(**{**production.ctx.__dict__, "platform": platform})
    render = render_deploy(ctx, ChartInputs(CHART))
    failed = {r.name: r.value for r in render.results if not r.ok}
    # The chart-default worker base mounts the DAG claim, which git-sync does not deploy: the
    # check says so (a git-sync deployment writes its own worker base with a clone step).
    assert set(failed) == {"worker-base-matches"}, failed
    assert "mounts claim 'airflow-dags'" in failed["worker-base-matches"]
    processor = render.chart.get("Deployment", "airflow-dag-processor")
    containers = {c["name"]: c for c in processor["spec"]["template"]["spec"]["containers"]}
    git = containers["git-sync"]
    env = {e["name"]: e.get("value") for e in git["env"]}
    assert env["GITSYNC_REPO"] == "git@github.com:example-org/dagplane.git"
    assert env["GITSYNC_SSH_KNOWN_HOSTS"] == "true"
    mounts = {m["mountPath"]: m for m in git["volumeMounts"]}
    assert mounts["/etc/git-secret/ssh"]["subPath"] == "gitSshKey"
    config = render.chart.get("ConfigMap", "airflow-config")["data"]
    assert config["known_hosts"].strip() == KNOWN_HOSTS
    secrets = {
        o["spec"]["target"]["name"]
        for o in render.resource_objects
        if o["kind"] == "ExternalSecret"
    }
    assert "airflow-git-ssh" in secrets
    assert render.chart.get("PersistentVolumeClaim", "airflow-dags") is None


def test_the_jobs_secrets_deploy_with_the_platform_under_its_prefix(production) -> None:
    jobs = [o for o in production.resource_objects if o["metadata"]["name"] in {
        "salesforce-credentials", "warehouse-postgres", "reporting-api",
        "salesforce-credentials-salesforce-client-id",
    }]  # fmt: skip
    assert {o["metadata"]["name"] for o in jobs} == {
        "salesforce-credentials", "warehouse-postgres", "reporting-api",
        "salesforce-credentials-salesforce-client-id",
    }  # fmt: skip
    for obj in jobs:
        assert obj["metadata"]["namespace"] == "airflow"
        assert obj["spec"]["secretStoreRef"] == {
            "name": "dagplane-secrets", "kind": "ClusterSecretStore"
        }  # fmt: skip
        keys = {item["remoteRef"]["key"] for item in obj["spec"]["data"]}
        assert keys <= {f"production/{obj['metadata']['labels']['dagplane.io/secret']}"}
    kustomization = production.gitops["clusters/production/resources/kustomization.yaml"]
    assert "job-secrets.yaml" in kustomization
