"""The browser harness against a real Airflow 3 API server serving dagplane's generated DAGs.

One Airflow for the module: SQLite metadata, this repository's jobs synced into its DAG
folder, one finished run of ``examples__regional_report`` (``airflow dags test``), then
``airflow api-server`` with SimpleAuthManager. A headless Chromium signs in and reads what the
UI shows. Screenshots land in the pytest tmp dir; set ``UI_SCREENSHOTS=<folder>`` to
also copy them there (e.g. for the README).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from dagplane.dags.local_airflow import LocalAirflow, _airflow_executable
from dagplane.dags.sync import sync_dags
from dagplane.jobs.discovery import discover
from dagplane.jobs.spec import JobSpec

from ._browser import dag_docs_text, dag_list_names, dag_owner, login, mapped_task_names, screenshot

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

pytest.importorskip("airflow.sdk", reason="Airflow 3 is in the dev dependency group: uv sync")

# Setup about 20 s (migrate, reserialize, one `dags test`, server start), then about 1 s a page.
pytestmark = [pytest.mark.airflow, pytest.mark.slow, pytest.mark.ui]

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ROOT / "packages"
DAG_IDS = [
    "examples__always_fails",
    "examples__hello_legacy",
    "examples__regional_report",
    "salesforce__salesforce_to_postgres",
]
MAPPED = "examples__regional_report"
# Not DAGPLANE_*: tests/conftest.py clears those for the session.
SCREENSHOTS_ENV = "UI_SCREENSHOTS"


@dataclass(frozen=True)
class AirflowUI:
    base_url: str
    username: str
    password: str
    run_id: str  # the finished run of MAPPED
    jobs: dict[str, JobSpec]  # dag id -> the discovered job


@pytest.fixture(scope="module")
def airflow_ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AirflowUI]:
    """A real ``airflow api-server`` on a free local port, with one finished mapped run."""
    top = tmp_path_factory.mktemp("ui-airflow")
    result = discover(PACKAGES, root=ROOT)
    assert not result.failures, result.failures
    sync_dags(result, top / "dags")
    home = top / "home"
    home.mkdir()
    # Fresh credentials each run: nothing to leak, nothing for the secret scan to flag.
    password = secrets.token_urlsafe(12)
    passwords = home / "passwords.json"
    passwords.write_text(json.dumps({"admin": password}), encoding="utf-8")
    port = _free_port()
    airflow = LocalAirflow(
        home=home,
        dags_dir=top / "dags",
        packages_dir=PACKAGES,
        extra_env={
            "DAGPLANE_EXAMPLES_OUTPUT": str(top / "outputs"),
            "REPORTING_API_TOKEN": secrets.token_hex(8),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",  # user admin, role admin
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        },
    )
    airflow.migrate()
    airflow.airflow("dags", "reserialize")
    proc = airflow.test_dag(MAPPED, "2024-06-01")
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    with sqlite3.connect(home / "airflow.db") as db:
        (run_id,) = db.execute("SELECT run_id FROM dag_run WHERE dag_id = ?", (MAPPED,)).fetchone()

    log = (top / "api-server.log").open("w", encoding="utf-8")
    command = [_airflow_executable(), "api-server", "--host", "127.0.0.1", "--port", str(port)]
    server = subprocess.Popen(
        [*command, "--workers", "1"],
        env=airflow.env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its uvicorn workers share its process group
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base_url, server, top / "api-server.log", timeout=120)
        jobs = {job.dag_id: job for job in result.jobs}
        yield AirflowUI(base_url, "admin", password, run_id, jobs)
    finally:
        _stop(server)
        log.close()


@pytest.fixture(scope="module")
def ui(browser: WebDriver, airflow_ui: AirflowUI) -> AirflowUI:
    """``airflow_ui`` with ``browser`` signed in (the browser comes first: it may skip)."""
    login(browser, airflow_ui.base_url, airflow_ui.username, airflow_ui.password)
    return airflow_ui


def test_dag_list_shows_every_generated_dag(
    browser: WebDriver, ui: AirflowUI, tmp_path: Path
) -> None:
    names = dag_list_names(browser, ui.base_url, expect=DAG_IDS)
    _keep(browser, tmp_path / "ui-dags.png")
    assert sorted(names) == DAG_IDS


def test_mapped_task_instances_are_named_by_partition(
    browser: WebDriver, ui: AirflowUI, tmp_path: Path
) -> None:
    job = ui.jobs[MAPPED]
    names = mapped_task_names(browser, ui.base_url, MAPPED, ui.run_id, job.job_id, count=3)
    _keep(browser, tmp_path / "ui-grid.png")
    assert sorted(names) == ["amer", "apac", "emea"], names
    assert sorted(names) == sorted(job.options.partitions)


def test_docs_show_the_job_description(browser: WebDriver, ui: AirflowUI, tmp_path: Path) -> None:
    job = ui.jobs[MAPPED]
    description = job.options.description
    text = dag_docs_text(browser, ui.base_url, MAPPED)
    _keep(browser, tmp_path / "ui-docs.png")
    # Rendered Markdown: paragraphs become lines, so compare with whitespace collapsed.
    assert _words(description) in _words(text), text
    assert text.startswith(description.split("\n")[0])
    assert (
        "Job regional_report from packages/examples/jobs/regional_report.py, image reports, "
        "owner analytics; generated by dagplane."
    ) in text


def test_owner_of_a_plain_job_is_its_owner(browser: WebDriver, ui: AirflowUI) -> None:
    job = ui.jobs["examples__hello_legacy"]
    assert job.owner == "examples"  # no owner declared: the package's name
    assert dag_owner(browser, ui.base_url, job.dag_id) == job.owner


def test_owner_of_a_mapped_job(browser: WebDriver, ui: AirflowUI) -> None:
    job = ui.jobs[MAPPED]
    assert job.owner == "analytics"
    shown = dag_owner(browser, ui.base_url, MAPPED)
    if shown == "airflow":
        # Airflow 3.3 fills DagModel.owners from LazyDeserializedDAG.owner, which reads each
        # serialized task's top-level "owner" and misses a mapped task's partial_kwargs, so
        # the UI shows [operators] default_owner. The DAG file is right (DagBag says analytics).
        pytest.xfail("Airflow 3.3 shows the default owner 'airflow' for a mapped DAG")
    assert shown == job.owner


def _keep(driver: WebDriver, path: Path) -> None:
    screenshot(driver, path)
    folder = os.environ.get(SCREENSHOTS_ENV)
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, Path(folder) / path.name)


def _words(text: str) -> str:
    return " ".join(text.split())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(
    base_url: str, server: subprocess.Popen[bytes], log: Path, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"{base_url}/api/v2/monitor/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    tail = "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-30:])
    state = f"exited with {server.returncode}" if server.poll() is not None else "not healthy"
    raise AssertionError(f"airflow api-server {state} after {timeout:g} s:\n{_plain(tail)}")


def _stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)


def _plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)
