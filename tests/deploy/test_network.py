"""Worker NetworkPolicies: default deny, then DNS, the execution API, logs and workers.egress."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
import yaml

from dagplane.config import load_config
from dagplane.deploy import DeployContext, Platform, load_platform
from dagplane.deploy._network import render_network_policies
from dagplane.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT.parent / "shared" / "charts" / "airflow"
JOB_SECRETS = ("salesforce-credentials", "warehouse-postgres", "reporting-api")
WORKERS = {"matchLabels": {"tier": "airflow", "component": "worker", "release": "airflow"}}
API_SERVER = {
    "podSelector": {
        "matchLabels": {"tier": "airflow", "component": "api-server", "release": "airflow"}
    }
}


@pytest.fixture(scope="module")
def platform() -> Platform:
    return load_platform(ROOT / "deploy" / "production" / "platform.yaml")


def variant(platform: Platform, **update: Any) -> Platform:
    return Platform.model_validate({**platform.model_dump(), **update})


def context(platform: Platform) -> DeployContext:
    return DeployContext(
        platform,
        load_config(cwd=ROOT),
        job_secret_key_sets={key: {"required": [], "optional": []} for key in JOB_SECRETS},
    )


def policies(platform: Platform) -> dict[str, dict[str, Any]]:
    [(name, text)] = render_network_policies(context(platform)).items()
    assert name == "network-policies.yaml"
    return {doc["metadata"]["name"]: doc for doc in yaml.safe_load_all(text)}


def test_every_policy_validates_against_kubernetes_1_37(platform) -> None:
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    many = variant(
        platform,
        workers={"egress": [{"name": "api", "cidr": "192.0.2.0/24", "ports": [443, 8443]}]},
    )
    for each in (platform, many):
        for doc in policies(each).values():
            kubernetes_validate.validate(doc, "1.37.0", strict=True)


def test_a_broken_policy_fails_validation(platform) -> None:
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    doc = policies(platform)["dagplane-worker-dns"]
    doc["spec"]["egress"][0]["ports"][0]["protocol"] = ["UDP"]
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, "1.37.0", strict=True)
    doc = policies(platform)["dagplane-worker-dns"]
    doc["spec"]["egress"][0]["port"] = 53  # strict: unknown fields fail
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, "1.37.0", strict=True)


def test_the_inventory_is_deny_then_one_allow_per_destination(platform) -> None:
    docs = policies(platform)
    assert list(docs) == [
        "dagplane-worker-default-deny",
        "dagplane-worker-dns",
        "dagplane-worker-execution-api",
        "dagplane-worker-logs-from-api-server",
        "dagplane-worker-egress-warehouse",
        "dagplane-worker-egress-salesforce",
    ]
    for doc in docs.values():
        assert doc["metadata"]["namespace"] == "airflow"
        assert doc["spec"]["podSelector"] == WORKERS


def test_default_deny_selects_workers_and_allows_nothing(platform) -> None:
    assert policies(platform)["dagplane-worker-default-deny"]["spec"] == {
        "podSelector": WORKERS,
        "policyTypes": ["Ingress", "Egress"],
    }


def test_workers_reach_dns_and_the_execution_api_only_on_their_ports(platform) -> None:
    docs = policies(platform)
    assert docs["dagplane-worker-dns"]["spec"]["egress"] == [
        {
            "to": [
                {
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": "kube-system"}
                    },
                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                }
            ],
            "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
        }
    ]
    assert docs["dagplane-worker-execution-api"]["spec"]["egress"] == [
        {"to": [API_SERVER], "ports": [{"protocol": "TCP", "port": 8080}]}
    ]
    logs = docs["dagplane-worker-logs-from-api-server"]["spec"]
    assert logs["policyTypes"] == ["Ingress"]
    assert logs["ingress"] == [{"from": [API_SERVER], "ports": [{"protocol": "TCP", "port": 8793}]}]


def test_each_egress_entry_allows_its_cidr_and_tcp_ports(platform) -> None:
    docs = policies(platform)
    assert docs["dagplane-worker-egress-warehouse"]["spec"]["egress"] == [
        {
            "to": [{"ipBlock": {"cidr": "10.20.0.0/16"}}],
            "ports": [{"protocol": "TCP", "port": 5432}],
        }
    ]
    assert docs["dagplane-worker-egress-salesforce"]["spec"]["egress"] == [
        {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"protocol": "TCP", "port": 443}]}
    ]
    none = policies(variant(platform, workers={"egress": []}))
    assert not [name for name in none if "-egress-" in name]


def test_selectors_follow_the_release_and_namespace(platform) -> None:
    for doc in policies(variant(platform, release="analytics", namespace="data")).values():
        assert doc["metadata"]["namespace"] == "data"
        assert doc["spec"]["podSelector"]["matchLabels"]["release"] == "analytics"
        for rule in doc["spec"].get("egress", []) + doc["spec"].get("ingress", []):
            for peer in rule.get("to", []) + rule.get("from", []):
                if "ipBlock" not in peer and "namespaceSelector" not in peer:
                    assert peer["podSelector"]["matchLabels"]["release"] == "analytics"


def test_labels_and_ports_are_the_charts() -> None:
    if not CHART.is_dir():
        pytest.skip(f"the Airflow chart is not at {CHART} (../shared is absent)")
    ports = yaml.safe_load((CHART / "values.yaml").read_text())["ports"]
    assert (ports["apiServer"], ports["workerLogs"]) == (8080, 8793)
    pod = (CHART / "files" / "pod-template-file.kubernetes-helm-yaml").read_text()
    assert "    tier: airflow\n    component: worker\n    release: {{ .Release.Name }}\n" in pod
    api = (CHART / "templates" / "api-server" / "api-server-deployment.yaml").read_text()
    assert (
        "tier: airflow\n        component: api-server\n        release: {{ .Release.Name }}" in api
    )
    assert "containerPort: {{ .Values.ports.apiServer }}" in api


def test_duplicate_egress_names_and_bad_ports_are_errors(platform) -> None:
    entry = {"name": "warehouse", "cidr": "10.0.0.0/8", "ports": [5432]}
    twice = variant(platform, workers={"egress": [entry, entry]})
    with pytest.raises(ConfigError) as caught:
        render_network_policies(context(twice))
    assert str(caught.value) == (
        "deploy/production/platform.yaml: workers.egress: two entries are named 'warehouse'; "
        "each becomes NetworkPolicy dagplane-worker-egress-warehouse (fix: give each entry its "
        "own name)"
    )
    bad = variant(platform, workers={"egress": [{**entry, "ports": [0, 70000]}]})
    with pytest.raises(ConfigError, match=r"warehouse: ports \[0, 70000\] are not TCP ports"):
        render_network_policies(context(bad))


def test_the_file_is_owned_and_deterministic(platform) -> None:
    text = render_network_policies(context(platform))["network-policies.yaml"]
    assert text == render_network_policies(context(platform))["network-policies.yaml"]
    lines = text.splitlines()
    body = text.split("\n", 3)[3]
    assert lines[1] == "# run `dagplane render deploy --env production`."
    assert lines[2] == (
        "# dagplane-owned: v1 source=deploy/production/platform.yaml "
        f"sha256={hashlib.sha256(body.encode()).hexdigest()}"
    )
    docs = list(policies(platform).values())
    assert body == "---\n".join(yaml.safe_dump(d, sort_keys=False) for d in docs)
