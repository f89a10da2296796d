"""Shared fixtures: a real PostgreSQL server (embedded wheel) and project paths."""

from __future__ import annotations

import os
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"

os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.mkdtemp(prefix="dagplane-test-run-"))
# Airflow reads AIRFLOW_HOME when first imported: give the whole session a private one.
os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="dagplane-test-airflow-")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
for _key in [k for k in os.environ if k.startswith("DAGPLANE")]:
    del os.environ[_key]


@pytest.fixture
def packages(tmp_path: Path) -> Path:
    """An empty packages folder in a temporary project."""
    folder = tmp_path / "packages"
    folder.mkdir()
    return folder


@pytest.fixture
def write_job(packages: Path):
    """Write ``packages/<package>/jobs/<name>.py`` from dedented source; returns its path."""

    def write(package: str, name: str, source: str) -> Path:
        path = packages / package / "jobs" / f"{name}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source), encoding="utf-8")
        return path

    return write


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a real PostgreSQL 18 server started once for the session."""
    from dagplane.warehouse.postgres.embedded import embedded_postgres

    with embedded_postgres(tmp_path_factory.mktemp("pg")) as url:
        yield url


@pytest.fixture
def credentials_for():
    """``credentials_for(emu, **changes)``: password credentials for a Salesforce emulator that
    trust its CA only."""
    from pydantic import SecretStr

    from dagplane.connectors.salesforce import SalesforceCredentials

    def build(emu, **changes):
        creds = emu.credentials
        values = {
            "username": creds["username"],
            "password": SecretStr(creds["password"]),
            "security_token": SecretStr(creds["security_token"]),
            "login_url": emu.url,
            "ca_bundle": emu.ca_bundle,
        }
        values.update(changes)
        return SalesforceCredentials(**values)

    return build
