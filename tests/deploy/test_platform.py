"""The platform config: the committed one loads; bad ones say file, key and fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from dagplane.deploy import load_platform, platform_schema
from dagplane.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = ROOT / "deploy" / "production" / "platform.yaml"


def _write(tmp_path: Path, change) -> Path:
    data = yaml.safe_load(PRODUCTION.read_text())
    change(data)
    path = tmp_path / "production" / "platform.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data))
    return path


def test_the_committed_production_config_loads() -> None:
    platform = load_platform(PRODUCTION, env="production")
    assert (platform.namespace, platform.release, platform.executor) == (
        "airflow",
        "airflow",
        "KubernetesExecutor",
    )
    assert platform.ha.scheduler_replicas == 2 and platform.pgbouncer.enabled


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["ha"].update(scheduler_replica=3),
            "ha.scheduler_replica: Extra inputs are not permitted (fix: remove it, or check "
            "its spelling against the schema)",
        ),
        (
            lambda d: d["metadata_db"].pop("host"),
            "metadata_db.host: Field required (fix: add it)",
        ),
        (
            lambda d: d["metadata_db"].update(sslmode="sometimes"),
            "metadata_db.sslmode: Input should be 'require', 'verify-ca', 'verify-full', "
            "'prefer' or 'disable' (fix: use one of the values shown)",
        ),
        (
            lambda d: d.update(airflow_version="2.10.5"),
            "airflow_version: dagplane deploys Airflow 3 (its keys are not Airflow 2's) (fix: "
            "correct the value)",
        ),
        (
            lambda d: d["dags"].update(distribution="git-sync"),
            "dags: distribution git-sync needs a `git_sync` block (repo, known_hosts) (fix: "
            "correct the value)",
        ),
        (
            lambda d: d["logging"]["remote"].update(base_folder="gs://bucket/x"),
            "logging.remote.base_folder: a s3 base_folder starts with 's3://' (fix: correct "
            "the value)",
        ),
        (
            lambda d: d.update(namespace="Airflow_Prod"),
            "namespace: String should match pattern",
        ),
    ],
)
def test_a_bad_config_names_the_file_the_key_and_the_fix(tmp_path, change, message) -> None:
    path = _write(tmp_path, change)
    with pytest.raises(ConfigError) as caught:
        load_platform(path, env="production")
    assert str(caught.value).startswith(f"{path}: {message}")


def test_every_problem_is_reported_at_once(tmp_path) -> None:
    def two(d):
        d["ha"]["scheduler_replicas"] = 0
        d["workers"]["parallelism"] = "many"

    with pytest.raises(ConfigError) as caught:
        load_platform(_write(tmp_path, two))
    lines = str(caught.value).splitlines()
    assert [line.split(": ")[1] for line in lines] == [
        "ha.scheduler_replicas",
        "workers.parallelism",
    ]


def test_the_environment_must_match_its_folder(tmp_path) -> None:
    path = _write(tmp_path, lambda d: d.update(environment="staging"))
    with pytest.raises(ConfigError, match=r"environment: says 'staging' but the file is for"):
        load_platform(path, env="production")


def test_not_yaml_and_not_a_mapping_are_errors(tmp_path) -> None:
    path = tmp_path / "platform.yaml"
    path.write_text("environment: [\n")
    with pytest.raises(ConfigError, match=r"platform\.yaml: not valid YAML"):
        load_platform(path)
    path.write_text("- a list\n")
    with pytest.raises(ConfigError, match=r"must be a mapping of keys"):
        load_platform(path)


def test_the_committed_schema_is_the_models_and_the_config_points_at_it() -> None:
    committed = json.loads((ROOT / "deploy" / "platform.schema.json").read_text())
    committed.pop("$comment")
    assert committed == json.loads(json.dumps(platform_schema(), sort_keys=True))
    first = PRODUCTION.read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=../platform.schema.json"
    # An editor validating with the schema agrees with the model.
    import jsonschema

    jsonschema.validate(yaml.safe_load(PRODUCTION.read_text()), committed)
