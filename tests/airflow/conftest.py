"""Real Airflow 3: generated DAGs are parsed by DagBag and run by `airflow dags test`."""

from __future__ import annotations

from pathlib import Path

import pytest

from dagplane.dags.local_airflow import LocalAirflow
from dagplane.dags.sync import sync_dags
from dagplane.jobs.discovery import discover

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "packages"

pytest.importorskip("airflow.sdk", reason="Airflow 3 is in the dev dependency group: uv sync")


@pytest.fixture(scope="session")
def example_dags(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's own jobs synced into a fresh folder."""
    dags = tmp_path_factory.mktemp("dags")
    result = discover(EXAMPLES, root=ROOT)
    assert not result.failures, result.failures
    sync_dags(result, dags)
    return dags


@pytest.fixture(scope="session")
def local_airflow(tmp_path_factory: pytest.TempPathFactory, example_dags: Path) -> LocalAirflow:
    """An Airflow home with a migrated SQLite database, reading ``example_dags``."""
    home = tmp_path_factory.mktemp("airflow-home")
    airflow = LocalAirflow(
        home=home,
        dags_dir=example_dags,
        packages_dir=EXAMPLES,
        extra_env={"DAGPLANE_EXAMPLES_OUTPUT": str(home / "outputs")},
    )
    airflow.migrate()
    return airflow
