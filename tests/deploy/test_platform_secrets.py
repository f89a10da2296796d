"""The platform's own Secrets: ExternalSecrets with exactly the keys the chart reads."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from dagplane.config import load_config
from dagplane.deploy import DeployContext, Platform, load_platform
from dagplane.deploy._platform_secrets import (
    chart_secret_refs,
    pgbouncer_config_secret,
    pgbouncer_stats_secret,
    platform_secret_specs,
    render_platform_secrets,
)
from dagplane.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
CHART = SHARED / "charts" / "airflow"
CRD = SHARED / "schemas" / "external-secrets" / "external-secrets.io_externalsecrets.yaml"
JOB_SECRETS = ("salesforce-credentials", "warehouse-postgres", "reporting-api")
GIT_SYNC = {
    "distribution": "git-sync",
    "git_sync": {"repo": "git@github.com:example-org/dagplane.git", "known_hosts": "github.com"},
}
CONNECTION_SECRET = {
    "remote": {
        "kind": "s3",
        "base_folder": "s3://example-org-airflow-logs/production",
        "connection_id": "aws_logs",
        "connection_secret": "airflow-logs-connection",  # pragma: allowlist secret
    }
}


@pytest.fixture(scope="module")
def platform() -> Platform:
    return load_platform(ROOT / "deploy" / "production" / "platform.yaml")


def variant(platform: Platform, **update: Any) -> Platform:
    """``platform`` with top-level keys replaced, validated like a platform.yaml."""
    return Platform.model_validate({**platform.model_dump(), **update})


def context(platform: Platform, job_secrets: tuple[str, ...] = JOB_SECRETS) -> DeployContext:
    return DeployContext(
        platform,
        load_config(cwd=ROOT),
        job_secret_key_sets={key: {"required": [], "optional": []} for key in job_secrets},
    )


def docs(platform: Platform) -> list[dict[str, Any]]:
    [(name, text)] = render_platform_secrets(context(platform)).items()
    assert name == "platform-secrets.yaml"
    return list(yaml.safe_load_all(text))


def keys_by_secret(platform: Platform) -> dict[str, list[str]]:
    """The keys each target Secret gets: a template's keys, else the fetched ones."""
    return {
        d["spec"]["target"]["name"]: list(d["spec"]["target"]["template"]["data"])
        if "template" in d["spec"]["target"]
        else [e["secretKey"] for e in d["spec"]["data"]]
        for d in docs(platform)
    }


def external_secret_schema() -> dict[str, Any]:
    if not CRD.is_file():
        pytest.skip(f"the ExternalSecret CRD is not at {CRD} (../shared is absent)")
    crd = yaml.safe_load(CRD.read_text())
    [v1] = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
    return v1["schema"]["openAPIV3Schema"]


def chart_file(relative: str) -> str:
    path = CHART / relative
    if not path.is_file():
        pytest.skip(f"the Airflow chart is not at {CHART} (../shared is absent)")
    return path.read_text()


CORE = {
    "airflow-metadata": ["connection"],
    "airflow-fernet-key": ["fernet-key"],
    "airflow-api-secret-key": ["api-secret-key"],
    "airflow-jwt-secret": ["jwt-secret"],
}
PGBOUNCER = {
    "airflow-pgbouncer-config": ["pgbouncer.ini", "users.txt"],
    "airflow-pgbouncer-stats": ["connection"],
}


def test_production_syncs_the_core_and_pgbouncer_secrets(platform) -> None:
    # sync-sidecar (no git-sync key) and IRSA for logs (no connection Secret).
    assert keys_by_secret(platform) == {**CORE, **PGBOUNCER}


def test_git_sync_adds_its_ssh_key_and_pgbouncer_off_drops_its_secrets(platform) -> None:
    git_sync = variant(platform, dags=GIT_SYNC, pgbouncer={"enabled": False})
    assert keys_by_secret(git_sync) == {**CORE, "airflow-git-ssh": ["gitSshKey"]}
    sidecar = variant(platform, pgbouncer={"enabled": False})
    assert keys_by_secret(sidecar) == CORE


def test_a_remote_logging_connection_secret_becomes_an_airflow_conn_env_var(platform) -> None:
    logged = variant(platform, logging=CONNECTION_SECRET)
    assert keys_by_secret(logged) == {
        **CORE,
        "airflow-logs-connection": ["connection"],
        **PGBOUNCER,
    }
    [spec] = [s for s in platform_secret_specs(logged) if s.name == "airflow-logs-connection"]
    assert (spec.env_var, spec.chart_value) == ("AIRFLOW_CONN_AWS_LOGS", "secret[].secretName")


def test_chart_secret_refs_list_every_key_and_the_chart_value_naming_its_secret(platform) -> None:
    full = variant(platform, dags=GIT_SYNC, logging=CONNECTION_SECRET)
    assert chart_secret_refs(full) == [
        ("airflow-metadata", "connection", "data.metadataSecretName"),
        ("airflow-fernet-key", "fernet-key", "fernetKeySecretName"),
        ("airflow-api-secret-key", "api-secret-key", "apiSecretKeySecretName"),
        ("airflow-jwt-secret", "jwt-secret", "jwtSecretName"),
        ("airflow-git-ssh", "gitSshKey", "dags.gitSync.sshKeySecret"),
        ("airflow-logs-connection", "connection", "secret[].secretName"),
        ("airflow-pgbouncer-config", "pgbouncer.ini", "pgbouncer.configSecretName"),
        ("airflow-pgbouncer-config", "users.txt", "pgbouncer.configSecretName"),
        (
            "airflow-pgbouncer-stats",
            "connection",
            "pgbouncer.metricsExporterSidecar.statsSecretName",
        ),
    ]


def test_the_chart_has_every_value_and_reads_every_key(platform) -> None:
    values = yaml.safe_load(chart_file("values.yaml"))
    full = variant(platform, dags=GIT_SYNC, logging=CONNECTION_SECRET)
    for spec in platform_secret_specs(full):
        if spec.chart_value == "secret[].secretName":
            assert values["secret"] == []  # a list of {envName, secretName, secretKey}
            continue
        *parents, leaf = spec.chart_value.split(".")
        node = values
        for part in parents:
            node = node[part]
        # dags.gitSync.sshKeySecret is only a comment in values.yaml; the others default to ~.
        assert leaf in node or f"# {leaf}:" in chart_file("values.yaml"), spec.chart_value
    # How each key is read (the templates the renderer cites).
    helpers = chart_file("templates/_helpers.yaml")
    pgbouncer = chart_file("templates/pgbouncer/pgbouncer-deployment.yaml")
    for needle in (
        "key: fernet-key",
        "key: connection",
        "key: api-secret-key",
        "key: jwt-secret",
        "subPath: gitSshKey",
        'key: {{ default "value" $config.secretKey }}',
    ):
        assert needle in helpers, needle
    for needle in ("subPath: pgbouncer.ini", "subPath: users.txt", 'key: "connection"'):
        assert needle in pgbouncer, needle


def test_pgbouncer_secret_names_follow_the_release(platform) -> None:
    assert pgbouncer_config_secret(platform) == "airflow-pgbouncer-config"
    other = variant(platform, release="analytics")
    assert (pgbouncer_config_secret(other), pgbouncer_stats_secret(other)) == (
        "analytics-pgbouncer-config",
        "analytics-pgbouncer-stats",
    )
    assert {"analytics-pgbouncer-config", "analytics-pgbouncer-stats"} <= set(keys_by_secret(other))


@pytest.mark.parametrize(
    "update",
    [{}, {"dags": GIT_SYNC, "logging": CONNECTION_SECRET}, {"pgbouncer": {"enabled": False}}],
    ids=["production", "git-sync-logs", "no-pgbouncer"],
)
def test_every_external_secret_validates_and_follows_the_store_conventions(
    platform, update
) -> None:
    import jsonschema

    schema = external_secret_schema()
    for doc in docs(variant(platform, **update)):
        jsonschema.validate(doc, schema)
        name = doc["metadata"]["name"]
        assert doc["apiVersion"] == "external-secrets.io/v1"
        assert doc["metadata"]["namespace"] == "airflow"
        assert doc["spec"]["secretStoreRef"] == {
            "name": "dagplane-secrets",
            "kind": "ClusterSecretStore",
        }
        target = dict(doc["spec"]["target"])
        template = target.pop("template", None)
        assert target == {"name": name, "creationPolicy": "Owner"}
        assert doc["spec"]["refreshInterval"] == "1h"
        # A templated Secret is built from the metadata database's stored credentials.
        remote = "production/airflow-metadata" if template else f"production/{name}"
        for entry in doc["spec"]["data"]:
            assert entry["remoteRef"] == {"key": remote, "property": entry["secretKey"]}
        if template:
            assert template["engineVersion"] == "v2"
            assert [e["secretKey"] for e in doc["spec"]["data"]] == ["username", "password"]


def test_a_broken_external_secret_fails_the_schema(platform) -> None:
    import jsonschema

    schema = external_secret_schema()
    doc = docs(platform)[0]
    doc["spec"]["data"][0]["secretKey"] = "not a key!"  # pragma: allowlist secret
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, schema)
    del doc["spec"]["data"][0]["remoteRef"]
    doc["spec"]["data"][0]["secretKey"] = "connection"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, schema)


def test_the_store_kind_and_name_come_from_the_platform(platform) -> None:
    store = {"kind": "SecretStore", "name": "team-vault"}
    for doc in docs(variant(platform, secrets_store=store)):
        assert doc["spec"]["secretStoreRef"] == store


def test_a_platform_secret_named_like_a_job_secret_is_an_error(platform) -> None:
    with pytest.raises(ConfigError) as caught:
        render_platform_secrets(context(platform, (*JOB_SECRETS, "airflow-fernet-key")))
    assert str(caught.value) == (
        "deploy/production/platform.yaml: fernet_key_secret: platform Secret "
        "'airflow-fernet-key' (fernetKeySecretName) has the name of job Secret "
        "'airflow-fernet-key'; a job would get the platform's keys and two ExternalSecrets "
        "would own one Secret (fix: rename the platform Secret with `fernet_key_secret` or the "
        "job's Secret)"
    )
    with pytest.raises(ConfigError, match=r"release: platform Secret 'airflow-pgbouncer-stats'"):
        render_platform_secrets(context(platform, ("airflow-pgbouncer-stats",)))


def test_two_platform_secrets_with_one_name_are_an_error(platform) -> None:
    clash = variant(platform, jwt_secret="airflow-fernet-key")
    with pytest.raises(ConfigError) as caught:
        render_platform_secrets(context(clash))
    assert str(caught.value) == (
        "deploy/production/platform.yaml: jwt_secret and fernet_key_secret both name Secret "
        "'airflow-fernet-key' (for jwtSecretName and fernetKeySecretName); each ExternalSecret "
        "owns its Secret (fix: give one of them another name)"
    )


def test_the_file_is_owned_deterministic_and_one_document_per_secret(platform) -> None:
    text = render_platform_secrets(context(platform))["platform-secrets.yaml"]
    assert text == render_platform_secrets(context(platform))["platform-secrets.yaml"]
    header = text.splitlines()[:3]
    body = text.split("\n", 3)[3]
    assert header == [
        "# Generated by dagplane from deploy/production/platform.yaml (the platform's Secret "
        "names and keys, never values). Do not edit:",
        "# run `dagplane render deploy --env production`.",
        "# dagplane-owned: v1 source=deploy/production/platform.yaml "
        f"sha256={hashlib.sha256(body.encode()).hexdigest()}",
    ]
    assert body == "---\n".join(yaml.safe_dump(d, sort_keys=False) for d in docs(platform))


def strings(node: Any) -> set[str]:
    if isinstance(node, dict):
        return set(node) | {s for value in node.values() for s in strings(value)}
    if isinstance(node, list):
        return {s for item in node for s in strings(item)}
    return {node} if isinstance(node, str) else set()


def test_rendered_files_hold_names_and_keys_never_values(platform) -> None:
    """Every string in the file is a field name, a Secret's name or key, a store reference
    or one of the spec's own descriptions: there is nowhere for a value to be."""
    full = variant(platform, dags=GIT_SYNC, logging=CONNECTION_SECRET)
    specs = platform_secret_specs(full)
    allowed = {
        *("apiVersion", "kind", "metadata", "name", "namespace", "labels", "annotations"),
        *("spec", "refreshInterval", "secretStoreRef", "target", "creationPolicy", "data"),
        *("secretKey", "remoteRef", "key", "property"),
        *("external-secrets.io/v1", "ExternalSecret", "ClusterSecretStore", "Owner", "1h"),
        *("app.kubernetes.io/managed-by", "dagplane", "dagplane.io/secret"),
        *("dagplane.io/environment", "dagplane.io/purpose", "dagplane.io/chart-value"),
        *("airflow", "production", "dagplane-secrets"),
        *(s.name for s in specs),
        *(f"production/{s.name}" for s in specs),
        *(k for s in specs for k in s.keys),
        *(s.purpose for s in specs),
        *(s.chart_value for s in specs),
        *("template", "engineVersion", "v2", "username", "password"),
        *(key for s in specs for key in (s.template or {})),
        *(text for s in specs for text in (s.template or {}).values()),
        "production/airflow-metadata",
    }
    rendered = docs(full)
    assert strings(rendered) <= allowed
    for doc in rendered:  # no inline data a value could hide in
        assert set(doc["spec"]) == {"refreshInterval", "secretStoreRef", "target", "data"}
    # Templates take the credentials only from the store: nothing but placeholders in them.
    for spec in specs:
        for text in (spec.template or {}).values():
            literal = re.sub(r"\{\{ \.(username|password)( \| urlquery)? \}\}", "", text)
            assert "{{" not in literal and "@" not in literal.replace(":@", "")
