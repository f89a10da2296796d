"""Least privilege: the check, the runtime guard, ExternalSecrets and the kubectl recipe."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from dagplane.cli import main
from dagplane.config import load_config
from dagplane.jobs.discovery import discover
from dagplane.plan import SYNC_KINDS, build_plan, write_plan
from dagplane.secrets import render_local_settings, secret_keys

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
CRD = SHARED / "schemas" / "external-secrets" / "external-secrets.io_externalsecrets.yaml"

JOBS = {
    "reader": """\
        from dagplane import Job, Secret

        def run(ctx):
            return 0

        JOB = Job(
            entrypoint=run,
            secrets=[
                Secret(name="api", keys=["API_TOKEN"], optional_keys=["API_OLD"]),
                Secret(name="db", keys=["DB_URL"], env=True),
            ],
        )
        """,
    "other": """\
        from dagplane import Job, Secret

        def run(ctx):
            return 0

        JOB = Job(entrypoint=run, secrets=[Secret(name="api", keys=["API_OLD", "API_USER"])])
        """,
    "plain": "def main(argv):\n    return 0\n\nJOB = (main, 'no secrets')\n",
}


@pytest.fixture
def project(write_job, packages, tmp_path):
    for name, source in JOBS.items():
        write_job("team", name, source)
    config = dataclasses.replace(
        load_config(cwd=tmp_path),
        root=tmp_path,
        packages_dir=packages,
        dags_dir=tmp_path / "dags",
        deploy_dir=tmp_path / "deploy",
    )
    discovery = discover(packages, root=tmp_path)
    assert not discovery.failures
    write_plan(build_plan(discovery, config, SYNC_KINDS), SYNC_KINDS)
    return config, discovery


def check(config, capsys) -> tuple[int, list[str]]:
    code = main(
        ["check", "secrets", "--packages-dir", str(config.packages_dir), "--dags-dir",
         str(config.dags_dir)]
    )  # fmt: skip
    err = capsys.readouterr().err
    return code, [line for line in err.splitlines() if line.startswith("error: ")]


def edit_template(config, dag_id: str, change) -> None:
    path = config.dags_dir / "pod_templates" / f"{dag_id}.yaml"
    lines = path.read_text().splitlines(keepends=True)
    header = "".join(line for line in lines if line.startswith("#"))
    pod = json.loads("".join(line for line in lines if not line.startswith("#")))
    change(pod)
    path.write_text(header + json.dumps(pod, indent=2))


def test_check_secrets_passes_for_the_repository(capsys) -> None:
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        code = main(["check", "secrets"])
    finally:
        os.chdir(cwd)
    assert code == 0, capsys.readouterr().err


def test_check_secrets_passes_untampered_and_names_each_tampering(project, capsys) -> None:
    config, _ = project
    assert check(config, capsys) == (0, [])

    def tamper(pod):
        volumes = pod["spec"]["volumes"]
        api = next(v for v in volumes if v["name"] == "secret-api")
        api["projected"]["sources"][0]["secret"]["items"].append({"key": "ROOT_KEY", "path": "x"})
        # pragma: allowlist nextline secret
        volumes.append({"name": "stolen", "secret": {"secretName": "payroll"}})
        container = pod["spec"]["containers"][0]
        container["env"].append(
            {"name": "X", "valueFrom": {"secretKeyRef": {"name": "db", "key": "DB_ADMIN"}}}
        )
        container["envFrom"] = [{"secretRef": {"name": "api"}}]

    edit_template(config, "team__reader", tamper)
    code, lines = check(config, capsys)
    assert code == 1
    assert lines == [
        "error: DAG team__reader: Secret 'api' key 'ROOT_KEY' (volume secret-api) is not "
        "declared by its job",
        "error: DAG team__reader: Secret 'payroll' (key None, volume stolen) is not declared "
        "by its job",
        "error: DAG team__reader: Secret 'db' key 'DB_ADMIN' (container base env X) is not "
        "declared by its job",
        "error: DAG team__reader: Secret 'api' is exposed whole (container base envFrom), not "
        "only its declared keys API_TOKEN",
    ]


def test_check_secrets_rejects_a_secret_in_a_dag_that_declares_none(project, capsys) -> None:
    config, _ = project

    def tamper(pod):
        pod["spec"]["volumes"].append(
            {"name": "s", "projected": {"sources": [{"secret": {"name": "api", "items": [
                {"key": "API_TOKEN", "path": "API_TOKEN"}]}}]}}
        )  # fmt: skip

    edit_template(config, "team__plain", tamper)
    code, lines = check(config, capsys)
    assert (code, lines) == (
        1,
        ["error: DAG team__plain: Secret 'api' (key 'API_TOKEN', volume s) is not declared by "
         "its job"],
    )  # fmt: skip


def load_hook(config, discovery, tmp_path):
    path = tmp_path / "settings" / "airflow_local_settings.py"
    path.parent.mkdir()
    path.write_text(render_local_settings(discovery, config))
    spec = importlib.util.spec_from_file_location("rendered_local_settings", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def hook(project, tmp_path):
    pytest.importorskip("airflow.providers.cncf.kubernetes")
    config, discovery = project
    return load_hook(config, discovery, tmp_path)


def real_pod(config, dag_id: str, *, kube_image: str | None = "apache/airflow:3.3.2"):
    from tests.pods.conftest import build_worker_pod

    template = config.dags_dir / "pod_templates" / f"{dag_id}.yaml"
    return build_worker_pod(
        dag_id, dag_id.split("__")[1], {"pod_template_file": str(template)}, kube_image=kube_image
    )


@pytest.mark.airflow
def test_hook_passes_allowed_pods_and_pins_their_image(project, hook) -> None:
    config, discovery = project
    for spec in discovery.jobs:
        pod = real_pod(config, spec.dag_id)
        assert pod.spec.containers[0].image == "apache/airflow:3.3.2"
        hook.pod_mutation_hook(pod)
        assert pod.spec.containers[0].image == hook.ALLOW[spec.dag_id]["image"]
        assert re.fullmatch(
            r"ghcr\.io/example-org/[a-z0-9-]+-team:sha-[0-9a-f]{12}", pod.spec.containers[0].image
        )


@pytest.mark.airflow
def test_hook_rejects_tampered_pods(project, hook) -> None:
    from kubernetes.client import models as k8s

    config, _ = project
    tampers = {
        "secret volume": lambda p: p.spec.volumes.append(
            k8s.V1Volume(name="x", secret=k8s.V1SecretVolumeSource(secret_name="payroll"))
        ),
        "extra projected key": lambda p: (
            next(v for v in p.spec.volumes if v.name == "secret-api")
            .projected.sources[0]
            .secret.items.append(k8s.V1KeyToPath(key="ROOT", path="ROOT"))
        ),
        "env secretKeyRef": lambda p: p.spec.containers[0].env.append(
            k8s.V1EnvVar(
                name="X",
                value_from=k8s.V1EnvVarSource(
                    secret_key_ref=k8s.V1SecretKeySelector(name="db", key="DB_ADMIN")
                ),
            )
        ),
        "envFrom": lambda p: setattr(
            p.spec.containers[0],
            "env_from",
            [k8s.V1EnvFromSource(secret_ref=k8s.V1SecretEnvSource(name="db"))],
        ),
        "init container": lambda p: setattr(
            p.spec,
            "init_containers",
            [
                k8s.V1Container(
                    name="init",
                    env_from=[k8s.V1EnvFromSource(secret_ref=k8s.V1SecretEnvSource(name="x"))],
                )
            ],
        ),
    }
    for what, tamper in tampers.items():
        pod = real_pod(config, "team__reader")
        tamper(pod)
        with pytest.raises(hook.PodSecretsRejected, match="DAG team__reader: Secret"):
            hook.pod_mutation_hook(pod)
        pod = real_pod(config, "team__reader")
        hook.pod_mutation_hook(pod)  # the same pod untampered passes (not a false alarm)
        assert what


@pytest.mark.airflow
def test_hook_rejects_secrets_in_pods_of_unknown_dags_only(project, hook) -> None:
    from kubernetes.client import models as k8s

    from tests.pods.conftest import build_worker_pod

    config, _ = project
    template = config.dags_dir / "pod_templates" / "team__plain.yaml"
    pod = build_worker_pod(
        "someone_elses_dag", "task", {"pod_template_file": str(template)},
        kube_image="apache/airflow:3.3.2",
    )  # fmt: skip
    hook.pod_mutation_hook(pod)
    assert pod.spec.containers[0].image == "apache/airflow:3.3.2"  # not ours: left alone
    pod.spec.volumes.append(
        k8s.V1Volume(name="x", secret=k8s.V1SecretVolumeSource(secret_name="api"))
    )
    with pytest.raises(hook.PodSecretsRejected, match="someone_elses_dag: Secret 'api'"):
        hook.pod_mutation_hook(pod)


def test_a_pod_override_cannot_borrow_another_dags_allow_list(project, hook) -> None:
    """A DAG's own pod_override can set labels and annotations: they must match the DAG
    the task runner will run, or the pod is refused."""
    config, _ = project
    pod = real_pod(config, "team__plain")
    pod.metadata.annotations["dag_id"] = "team__other"  # claims a DAG allowed more Secrets

    with pytest.raises(hook.PodSecretsRejected, match=r"claims DAG.*'team__other'.*runs DAG"):
        hook.pod_mutation_hook(pod)


def test_an_executor_pod_whose_command_was_overridden_is_refused(project, hook) -> None:
    config, _ = project
    pod = real_pod(config, "team__plain")
    pod.spec.containers[0].command = ["sh", "-c", "cat /var/run/secrets/dagplane/*/*"]

    with pytest.raises(hook.PodSecretsRejected, match="does not run the Airflow task runner"):
        hook.pod_mutation_hook(pod)


def test_operator_pods_are_checked_only_when_they_claim_a_dagplane_dag(project, hook) -> None:
    from kubernetes.client import models as k8s

    def operator_pod(dag_id: str) -> k8s.V1Pod:
        return k8s.V1Pod(
            metadata=k8s.V1ObjectMeta(labels={"dag_id": dag_id}),
            spec=k8s.V1PodSpec(
                containers=[k8s.V1Container(name="base", image="busybox:1.37")],
                volumes=[k8s.V1Volume(name="s", secret=k8s.V1SecretVolumeSource(secret_name="db"))],
            ),
        )

    hook.pod_mutation_hook(operator_pod("hand_written_dag"))  # not dagplane's: RBAC decides
    with pytest.raises(hook.PodSecretsRejected, match="team__plain"):
        hook.pod_mutation_hook(operator_pod("team__plain"))


def test_external_secrets_carry_exactly_the_keys_jobs_read(project) -> None:
    config, discovery = project
    assert secret_keys(discovery) == {
        "api": {"required": ["API_OLD", "API_TOKEN", "API_USER"], "optional": []},
        "db": {"required": ["DB_URL"], "optional": []},
    }
    docs = external_secret_docs(build_plan(discovery, config, ["secrets"]).outputs["secrets"].files)
    assert {(d["metadata"]["name"], d["spec"]["target"]["name"]) for d in docs} == {
        ("api", "api"),
        ("db", "db"),
    }


def external_secret_docs(files: dict[str, str]) -> list[dict]:
    yaml = pytest.importorskip("yaml")
    docs = []
    for name, text in files.items():
        if name.endswith(".yaml"):
            docs.extend(d for d in yaml.safe_load_all(text) if d)
    return docs


def external_secret_schema() -> dict:
    if not CRD.is_file():
        pytest.skip(f"the ExternalSecret CRD is not at {CRD} (../shared is absent)")
    yaml = pytest.importorskip("yaml")
    crd = yaml.safe_load(CRD.read_text())
    [v1] = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
    return v1["schema"]["openAPIV3Schema"]


def test_committed_external_secrets_validate_against_the_crd_and_cover_every_key() -> None:
    import jsonschema

    schema = external_secret_schema()
    config = load_config(cwd=ROOT)
    discovery = discover(config.packages_dir, root=config.root)
    files = {p.name: p.read_text() for p in (config.deploy_dir / "secrets").glob("*.yaml")}
    docs = external_secret_docs(files)
    for doc in docs:
        jsonschema.validate(doc, schema)
        assert doc["apiVersion"] == "external-secrets.io/v1"
        assert doc["spec"]["secretStoreRef"] == {
            "name": "dagplane-secrets",
            "kind": "ClusterSecretStore",
        }
    keys: dict[str, set[str]] = {}
    for doc in docs:
        keys.setdefault(doc["spec"]["target"]["name"], set()).update(
            d["secretKey"] for d in doc["spec"]["data"]
        )
    declared: dict[str, set[str]] = {}
    for spec in discovery.jobs:
        for secret in spec.options.secrets:
            for name, secret_keys_ in secret.sources().items():
                declared.setdefault(name, set()).update(secret_keys_)
    assert keys == declared
    # One ExternalSecret owns one Secret: no Merge into a Secret another one owns (ESO drops
    # such keys), and an optional key has a Secret of its own, read from the same remote key.
    assert {d["spec"]["target"]["creationPolicy"] for d in docs} == {"Owner"}
    assert len({d["spec"]["target"]["name"] for d in docs}) == len(docs)
    optional = {
        d["spec"]["target"]["name"]: d["spec"]["data"][0]["secretKey"]
        for d in docs
        if d["spec"]["data"][0]["remoteRef"]["key"] != d["spec"]["target"]["name"]
    }
    assert optional == {
        "salesforce-credentials-salesforce-client-id": "SALESFORCE_CLIENT_ID",
        "salesforce-credentials-salesforce-client-secret": "SALESFORCE_CLIENT_SECRET",
        "salesforce-credentials-salesforce-private-key": "SALESFORCE_PRIVATE_KEY",
    }
    owned = {d["spec"]["target"]["name"]: d for d in docs}
    assert all(len(owned[name]["spec"]["data"]) == 1 for name in optional)  # fails alone


def test_an_invalid_external_secret_fails_the_schema() -> None:
    import jsonschema

    schema = external_secret_schema()
    bad = {"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
           # pragma: allowlist nextline secret
           "spec": {"data": [{"secretKey": "bad key!", "remoteRef": {"key": "x"}}]}}  # fmt: skip
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_committed_deploy_files_are_fresh(capsys) -> None:
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        code = main(["render", "secrets", "--check"])
    finally:
        os.chdir(cwd)
    assert code == 0, capsys.readouterr().err


def test_render_secrets_writes_then_is_a_no_op_and_prints_the_recipe(project, capsys) -> None:
    config, _ = project
    args = ["render", "secrets", "--packages-dir", str(config.packages_dir), "--deploy-dir",
            str(config.deploy_dir)]  # fmt: skip
    assert main([*args, "--check"]) == 1
    capsys.readouterr()
    assert main([*args, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert sorted(report["written"]) == [
        "airflow/airflow_local_settings.py",
        "pod-template.yaml",
        "secrets/api.yaml",
        "secrets/create-secrets.sh",
        "secrets/db.yaml",
    ]
    assert main([*args, "--check", "--recipe"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("#!/bin/sh\n") and "kubectl create secret generic api" in out


def test_the_recipe_reads_values_from_the_environment_and_skips_unset_optional_keys(
    tmp_path,
) -> None:
    recipe = (ROOT / "deploy" / "secrets" / "create-secrets.sh").read_text()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "kubectl"
    # Logs its arguments with each --from-file=KEY=path shown as KEY=<the file's content>.
    fake.write_text(
        "#!/bin/sh\n"
        f"{sys.executable} -c '"
        "import os, sys\n"
        "out = []\n"
        "for arg in sys.argv[1:]:\n"
        '    if arg.startswith("--from-file="):\n'
        '        key, path = arg[12:].split("=", 1)\n'
        '        out.append(f"{key}={open(path).read()}")\n'
        "    else:\n"
        "        out.append(arg)\n"
        'open(os.environ["KUBECTL_LOG"], "a").write(" ".join(out) + "\\n")\n'
        '\' "$@"\n'
    )
    fake.chmod(0o755)
    script = tmp_path / "create-secrets.sh"
    script.write_text(recipe)
    log = tmp_path / "kubectl.log"
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "KUBECTL_LOG": str(log)}
    values = {
        "REPORTING_API_TOKEN": "r",
        "SALESFORCE_USERNAME": "me@example.com",
        "SALESFORCE_PASSWORD": "pass word",  # pragma: allowlist secret
        "SALESFORCE_SECURITY_TOKEN": "tok",
        "SALESFORCE_PRIVATE_KEY": "-----BEGIN KEY-----",
        "POSTGRES_URL": "postgresql://h/db",
    }
    done = subprocess.run(["sh", str(script)], env={**env, **values}, capture_output=True)
    assert done.returncode == 0, done.stderr
    assert sorted(log.read_text().splitlines()) == [
        "apply -f -",
        "apply -f -",
        "apply -f -",
        "apply -f -",
        "create secret generic reporting-api REPORTING_API_TOKEN=r --dry-run=client -o yaml",
        "create secret generic salesforce-credentials SALESFORCE_PASSWORD=pass word "
        "SALESFORCE_SECURITY_TOKEN=tok SALESFORCE_USERNAME=me@example.com "
        "--dry-run=client -o yaml",
        "create secret generic salesforce-credentials-salesforce-private-key "
        "SALESFORCE_PRIVATE_KEY=-----BEGIN KEY----- --dry-run=client -o yaml",
        "create secret generic warehouse-postgres POSTGRES_URL=postgresql://h/db "
        "--dry-run=client -o yaml",
    ]
    assert "pass word" not in recipe and "--from-literal" not in recipe
    missing = subprocess.run(["sh", str(script)], env=env, capture_output=True, text=True)
    assert missing.returncode != 0 and "export REPORTING_API_TOKEN" in missing.stderr


def test_generated_files_hold_names_and_keys_never_values(project, monkeypatch) -> None:
    config, discovery = project
    monkeypatch.setenv("API_TOKEN", "value-that-must-never-be-written")
    plan = build_plan(discovery, config, ["dags", "pod_templates", "secrets", "airflow_settings"])
    for output in plan.outputs.values():
        for text in output.files.values():
            assert "value-that-must-never-be-written" not in text


def test_check_secrets_fails_when_a_pod_template_is_missing(project, capsys) -> None:
    config, _ = project
    (config.dags_dir / "pod_templates" / "team__other.yaml").unlink()
    code, lines = check(config, capsys)
    assert code == 1
    assert lines == [
        f"error: DAG team__other: no pod template at "
        f"{config.dags_dir / 'pod_templates' / 'team__other.yaml'} (run `dagplane sync`)"
    ]
