"""The committed dags/ folder matches the committed job packages (what CI should enforce)."""

from __future__ import annotations

import os
from pathlib import Path

from dagplane.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_committed_dags_are_fresh(capsys) -> None:
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        code = main(["sync", "--check"])
    finally:
        os.chdir(cwd)
    assert code == 0, capsys.readouterr().err


def test_plan_inventory_of_this_repository() -> None:
    """The exact set of (kind, file) dagplane generates here; a change is deliberate."""
    from dagplane.config import load_config
    from dagplane.jobs.discovery import discover
    from dagplane.plan import build_plan

    config = load_config(cwd=ROOT)
    plan = build_plan(discover(config.packages_dir, root=config.root), config)
    inventory = {(kind, name) for kind, output in plan.outputs.items() for name in output.files}
    dags = [
        "examples__always_fails",
        "examples__hello_legacy",
        "examples__regional_report",
        "salesforce__salesforce_to_postgres",
    ]
    assert inventory == {
        *(("dags", f"{d}.py") for d in dags),
        *(("pod_templates", f"{d}.yaml") for d in dags),
        ("secrets", "reporting-api.yaml"),
        ("secrets", "salesforce-credentials.yaml"),
        ("secrets", "warehouse-postgres.yaml"),
        ("secrets", "create-secrets.sh"),
        ("airflow_settings", "airflow_local_settings.py"),
        ("base_pod", "pod-template.yaml"),
        *(
            ("images", f"{image}/{name}")
            for image in ("examples", "reports", "salesforce", "control-plane")
            for name in ("Dockerfile", "Dockerfile.dockerignore", "requirements.txt")
        ),
        ("workflow", "dagplane-images.yml"),
    }
    for kind, output in plan.outputs.items():
        for name, text in output.files.items():
            assert (output.folder / name).read_text() == text, (kind, name)  # committed
