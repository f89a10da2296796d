"""`dagplane dev up` end to end: a real Airflow 3 platform, used through its REST API as a user
would, then `dev down` leaves nothing behind."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psycopg
import pytest

from dagplane.dev._supervisor import alive
from dagplane.emulators.salesforce import DEFAULT_CREDENTIALS

ROOT = Path(__file__).resolve().parents[2]
SALESFORCE = "salesforce__salesforce_to_postgres"
OBJECTS = ["Account", "Contact", "Opportunity", "Lead", "Case", "User"]

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

NEW_JOB = """\
from dagplane import Job


def run(ctx):
    print("hello from a job added while the platform runs")
    return 0


JOB = Job(entrypoint=run, schedule="@daily", description="Added at run time.")
"""


class Api:
    def __init__(self, base: str, user: str, password: str) -> None:
        self.base = base
        body = json.dumps({"username": user, "password": password}).encode()
        request = urllib.request.Request(
            f"{base}/auth/token", body, {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            self.token = json.loads(answer.read())["access_token"]

    def call(self, method: str, path: str, body: dict | None = None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{self.base}/api/v2{path}",
            data,
            {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
            method=method,
        )
        with urllib.request.urlopen(request, timeout=60) as answer:
            text = answer.read().decode()
        return json.loads(text) if text.startswith(("{", "[")) else text

    def trigger(self, dag_id: str) -> str:
        return self.call("POST", f"/dags/{dag_id}/dagRuns", {"logical_date": None})["dag_run_id"]

    def wait_run(self, dag_id: str, run_id: str, timeout: float = 400) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}")["state"]
            if state in {"success", "failed"}:
                return state
            time.sleep(2)
        raise AssertionError(f"{dag_id} {run_id} did not finish in {timeout} s")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        return self.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]

    def log(self, dag_id: str, run_id: str, ti: dict) -> str:
        path = (
            f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{ti['task_id']}/logs/"
            f"{ti['try_number']}?map_index={ti['map_index']}&full_content=true"
        )
        content = self.call("GET", path)
        return json.dumps(content)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    """`dagplane dev up` on a copy of the project's packages, until the module's tests end."""
    tmp = tmp_path_factory.mktemp("dev")
    packages = tmp / "packages"
    shutil.copytree(ROOT / "packages", packages, ignore=shutil.ignore_patterns(".venv"))
    workdir = tmp / "workdir"
    port = free_port()
    started = time.monotonic()
    log = (tmp / "up.log").open("w+")
    up = subprocess.Popen(
        [sys.executable, "-m", "dagplane.cli", "dev", "up", "--workdir", str(workdir),
         "--port", str(port), "--packages-dir", str(packages), "--records", "3000"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 300
    while "ready in" not in (tmp / "up.log").read_text():
        if up.poll() is not None or time.monotonic() > deadline:
            raise AssertionError("dev up did not get ready:\n" + (tmp / "up.log").read_text())
        time.sleep(1)
    ready = time.monotonic() - started
    text = (tmp / "up.log").read_text()
    user, password = re.search(r"\(login (\S+) / (\S+)\)", text).groups()
    yield {
        "api": Api(f"http://127.0.0.1:{port}", user, password),
        "password": password,
        "workdir": workdir,
        "packages": packages,
        "up": up,
        "ready": ready,
        "log": tmp / "up.log",
        "state": json.loads((workdir / "state.json").read_text()),
    }
    # However the tests ended, stop the platform and every child: its children run in their
    # own sessions, so killing `up` alone would leave them running.
    from dagplane.dev import stop_platform

    stop_platform(workdir)
    if up.poll() is None:
        os.killpg(up.pid, signal.SIGKILL)


def test_up_prints_the_ui_the_login_and_the_logs(platform) -> None:
    text = platform["log"].read_text()
    assert re.search(r"ready in \d+\.\d s: http://127\.0\.0\.1:\d+ {2}\(login admin / \S+\)", text)
    assert f"logs in {platform['workdir'] / 'logs'}" in text
    status = subprocess.run(
        [sys.executable, "-m", "dagplane.cli", "dev", "status", "--json",
         "--workdir", str(platform["workdir"])],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    report = json.loads(status.stdout)
    deadline = time.monotonic() + 60  # heartbeats arrive a few seconds after the API is up
    while not report["healthy"] and time.monotonic() < deadline:
        time.sleep(2)
        status = subprocess.run(
            [sys.executable, "-m", "dagplane.cli", "dev", "status", "--json",
             "--workdir", str(platform["workdir"])],
            cwd=ROOT, capture_output=True, text=True, check=False,
        )  # fmt: skip
        report = json.loads(status.stdout)
    assert report["healthy"], report
    assert status.returncode == 0
    assert set(report["processes"]) == {
        "supervisor", "dag-sync", "api-server", "scheduler", "dag-processor", "triggerer"
    }  # fmt: skip


def test_the_salesforce_dag_runs_every_object_in_parallel_first_try(platform) -> None:
    api = platform["api"]
    deadline = time.monotonic() + 60
    while True:
        dags = {d["dag_id"]: d for d in api.call("GET", "/dags")["dags"]}
        if len(dags) >= 4 or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert {"examples__always_fails", "examples__hello_legacy", "examples__regional_report",
            SALESFORCE} <= set(dags)  # fmt: skip
    assert not dags[SALESFORCE]["is_paused"]  # unpaused in dev
    # The job's owner: on an unmapped DAG as its owner; Airflow 3.3 shows "airflow" for DAGs
    # whose tasks are mapped (it ignores a mapped task's owner), so dagplane tags the owner too.
    assert dags["examples__hello_legacy"]["owners"] == ["examples"]
    assert "owner:data-platform" in {t["name"] for t in dags[SALESFORCE]["tags"]}
    run_id = api.trigger(SALESFORCE)
    assert api.wait_run(SALESFORCE, run_id) == "success"
    tis = api.task_instances(SALESFORCE, run_id)
    assert sorted(t["rendered_map_index"] for t in tis) == sorted(OBJECTS)
    assert {(t["state"], t["try_number"]) for t in tis} == {("success", 1)}
    # In parallel: tasks ran at the same time (LocalExecutor, several slots).
    spans = [(t["start_date"], t["end_date"]) for t in tis]
    assert any(a[0] < b[1] and b[0] < a[1] for i, a in enumerate(spans) for b in spans[i + 1 :])
    with psycopg.connect(platform["state"]["warehouse"]) as conn:
        (accounts,) = conn.execute("SELECT count(*) FROM salesforce.account").fetchone()
        (loads,) = conn.execute(
            "SELECT count(DISTINCT object_name) FROM salesforce._dagplane_loads"
        ).fetchone()
    assert accounts > 0 and loads == 6
    logs = "".join(api.log(SALESFORCE, run_id, ti) for ti in tis)
    assert DEFAULT_CREDENTIALS.password not in logs
    platform["salesforce_run"] = run_id


def test_the_ui_shows_partition_names_owner_and_docs(platform, tmp_path) -> None:
    """Headless Chromium: log in, the DAG list, the Salesforce run's mapped tasks, the docs."""
    from tests.ui._browser import (
        dag_docs_text,
        dag_list_names,
        login,
        mapped_task_names,
        screenshot,
        start_browser,
    )

    driver, reason = start_browser(tmp_path)
    if driver is None:
        pytest.skip(reason)
    api, base = platform["api"], platform["api"].base
    try:
        login(driver, base, "admin", platform["password"])
        names = dag_list_names(driver, base, expect=[SALESFORCE])
        assert {SALESFORCE, "examples__regional_report"} <= set(names)
        run_id = platform.get("salesforce_run") or api.trigger(SALESFORCE)
        api.wait_run(SALESFORCE, run_id)
        shown = mapped_task_names(
            driver, base, SALESFORCE, run_id, "salesforce_to_postgres", count=len(OBJECTS)
        )
        assert sorted(shown) == sorted(OBJECTS)  # not 0..5
        path = screenshot(driver, tmp_path / "salesforce-mapped.png")
        if os.environ.get("UI_SCREENSHOTS"):
            shutil.copy(path, Path(os.environ["UI_SCREENSHOTS"]) / "ui-salesforce-run.png")
        docs = " ".join(dag_docs_text(driver, base, SALESFORCE).split())
        assert "merges them into salesforce.<object>; deletes are marked in _deleted_at." in docs
        assert "image salesforce, owner data-platform" in docs
    finally:
        driver.quit()


def test_the_failing_example_shows_its_message_in_the_task_log(platform) -> None:
    api = platform["api"]
    run_id = api.trigger("examples__always_fails")
    assert api.wait_run("examples__always_fails", run_id) == "failed"
    [ti] = api.task_instances("examples__always_fails", run_id)
    assert "upstream export for" in api.log("examples__always_fails", run_id, ti)


def test_no_secret_value_in_any_log_or_rendered_field(platform) -> None:
    api = platform["api"]
    run_id = api.trigger("examples__regional_report")
    assert api.wait_run("examples__regional_report", run_id) == "success"
    values = [DEFAULT_CREDENTIALS.password, DEFAULT_CREDENTIALS.security_token,
              "dev-reporting-token"]  # fmt: skip
    for ti in api.task_instances("examples__regional_report", run_id):
        detail = api.call(
            "GET",
            f"/dags/examples__regional_report/dagRuns/{run_id}/taskInstances/"
            f"{ti['task_id']}/{ti['map_index']}",
        )
        shown = json.dumps(detail) + api.log("examples__regional_report", run_id, ti)
        assert not [v for v in values if v in shown]
    # Tasks run in the workdir: their files never land in the project.
    assert (platform["workdir"] / "regional_report_emea.json").is_file()
    assert not (ROOT / "regional_report_emea.json").exists()
    for path in platform["workdir"].rglob("*.log"):
        text = path.read_text(errors="replace")
        assert not [v for v in values if v in text], path


def test_a_new_job_module_is_scheduled_within_ten_seconds(platform) -> None:
    api = platform["api"]
    path = platform["packages"] / "examples" / "jobs" / "added_later.py"
    path.write_text(NEW_JOB)
    written = time.monotonic()
    dag_id = "examples__added_later"
    while True:
        try:
            dag = api.call("GET", f"/dags/{dag_id}")
            break
        except urllib.error.HTTPError as exc:
            assert exc.code == 404
        assert time.monotonic() - written < 30, "the new DAG did not appear"
        time.sleep(0.5)
    seen = time.monotonic() - written
    assert not dag["is_paused"]
    print(f"new job visible to the scheduler after {seen:.1f} s")
    assert seen <= 10 + 2  # the bound, plus this loop's polling and the API's caching


def test_down_stops_every_process(platform) -> None:
    state = platform["state"]
    pids = [state["pid"], *state["children"].values()]
    done = subprocess.run(
        [sys.executable, "-m", "dagplane.cli", "dev", "down",
         "--workdir", str(platform["workdir"])],
        cwd=ROOT, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    platform["up"].wait(timeout=60)
    assert platform["up"].returncode == 0
    assert [pid for pid in pids if alive(pid)] == []
    leftover = subprocess.run(
        ["pgrep", "-f", str(platform["workdir"])], capture_output=True, text=True, check=False
    )
    assert leftover.stdout.strip() == ""  # no postgres, no airflow process of this workdir
    assert not (platform["workdir"] / "state.json").exists()


def test_a_second_up_reuses_the_databases_and_ctrl_c_stops_everything(platform) -> None:
    """After `down`: `up` again on the same workdir finds the earlier runs; Ctrl-C stops it."""
    workdir, port = platform["workdir"], free_port()
    log = workdir.parent / "up-again.log"
    with log.open("w") as out:
        up = subprocess.Popen(
            [sys.executable, "-m", "dagplane.cli", "dev", "up", "--workdir", str(workdir),
             "--port", str(port), "--packages-dir", str(platform["packages"])],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while "ready in" not in log.read_text():
            assert up.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(1)
        user, password = re.search(r"\(login (\S+) / (\S+)\)", log.read_text()).groups()
        assert password == platform["password"]  # the same login, kept in the workdir
        api = Api(f"http://127.0.0.1:{port}", user, password)
        runs = api.call("GET", f"/dags/{SALESFORCE}/dagRuns")["dag_runs"]
        assert platform["salesforce_run"] in {r["dag_run_id"] for r in runs}  # same metadata
        state = json.loads((workdir / "state.json").read_text())
        os.killpg(up.pid, signal.SIGINT)  # what Ctrl-C in its terminal sends
        assert up.wait(timeout=120) == 0
    finally:
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGKILL)
    pids = [state["pid"], *state["children"].values()]
    assert [pid for pid in pids if alive(pid)] == []
    leftover = subprocess.run(["pgrep", "-f", str(workdir)], capture_output=True, text=True)
    assert leftover.stdout.strip() == ""
