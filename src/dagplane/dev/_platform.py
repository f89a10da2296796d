"""``dagplane dev up``: a real Airflow 3 platform on one machine, supervised until stopped.

Processes: the API server, scheduler, DAG processor and triggerer (LocalExecutor), the DAG sync
sidecar (``dagplane sync --watch``), and, in this process, embedded PostgreSQL for the metadata
and the warehouse and the Salesforce emulator. The jobs get their Secrets as files under
``<workdir>/secrets`` (``DAGPLANE__SECRETS_DIR``), as worker pods do, never as global env.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dagplane.dev._layout import Layout, read_state
from dagplane.dev._supervisor import ProcessSpec, Supervisor, alive
from dagplane.errors import ConfigError

__all__ = ["DevOptions", "airflow_env", "run_platform"]

AIRFLOW_PROCESSES = ("api-server", "scheduler", "dag-processor", "triggerer")
SYNC_INTERVAL = 2  # seconds between the sidecar's passes
REFRESH_INTERVAL = 3  # the DAG processor's look for new files: a new job shows within 10 s


@dataclass
class DevOptions:
    root: Path  # the project
    packages_dir: Path
    workdir: Path
    port: int = 8080
    metadata_url: str | None = None
    warehouse_url: str | None = None
    emulator: bool = True
    records: int = 20_000
    unpause: bool = True
    report: Callable[[str], None] = print
    extra_env: dict[str, str] = field(default_factory=dict)


def _sqlalchemy(url: str, driver: str) -> str:
    scheme, rest = url.split("://", 1)
    if scheme not in {"postgresql", "postgres"} and not scheme.startswith("postgresql+"):
        raise ConfigError(f"--metadata-url must be a PostgreSQL URL, got scheme {scheme!r}")
    return f"postgresql+{driver}://{rest}"


def airflow_env(options: DevOptions, layout: Layout, metadata_url: str) -> dict[str, str]:
    """Everything the platform's Airflow processes need, set here, nothing by hand."""
    port = options.port
    login = layout.login()
    return {
        **os.environ,
        "AIRFLOW_HOME": str(layout.airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(layout.dags),
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": str(not options.unpause),
        "AIRFLOW__CORE__FERNET_KEY": layout.stable_secret("fernet-key"),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(f"{u}:admin" for u in login),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(layout.login_file),
        # Airflow 3's API server also needs the async driver: psycopg 3 is both.
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": _sqlalchemy(metadata_url, "psycopg"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": _sqlalchemy(metadata_url, "psycopg_async"),
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__API__SECRET_KEY": layout.stable_secret("api-secret-key"),
        "AIRFLOW__API_AUTH__JWT_SECRET": layout.stable_secret("jwt-secret"),
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": str(REFRESH_INTERVAL),
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "5",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(layout.airflow_home / "logs"),
        "DAGPLANE__PACKAGES_DIR": str(options.packages_dir),
        "DAGPLANE__SECRETS_DIR": str(layout.secrets),
        "XDG_RUNTIME_DIR": os.environ.get("XDG_RUNTIME_DIR", "/tmp"),
        **options.extra_env,
    }


def _airflow() -> str:
    beside = Path(sys.executable).with_name("airflow")
    found = str(beside) if beside.exists() else shutil.which("airflow")
    if not found:
        raise ConfigError("Airflow 3 is not installed here (fix: `uv sync`)")
    return found


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def api_health(port: int, timeout: float = 2.0) -> dict[str, Any] | None:
    """The API server's ``/api/v2/monitor/health``, or ``None`` when it does not answer."""
    import json

    with contextlib.suppress(OSError, ValueError):
        url = f"http://127.0.0.1:{port}/api/v2/monitor/health"
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return json.loads(answer.read())
    return None


@contextlib.contextmanager
def _databases(options: DevOptions, layout: Layout) -> Iterator[tuple[str, str]]:
    from dagplane.warehouse.postgres.embedded import embedded_postgres

    with contextlib.ExitStack() as stack:
        metadata = options.metadata_url or stack.enter_context(embedded_postgres(layout.metadata))
        warehouse = options.warehouse_url or stack.enter_context(
            embedded_postgres(layout.warehouse)
        )
        yield metadata, warehouse


def _write_job_secrets(layout: Layout, warehouse_url: str, emulator: Any | None) -> None:
    layout.write_secret("warehouse-postgres", {"POSTGRES_URL": warehouse_url})
    if emulator is not None:
        creds = emulator.credentials
        layout.write_secret(
            "salesforce-credentials",
            {
                "SALESFORCE_USERNAME": creds["username"],
                "SALESFORCE_PASSWORD": creds["password"],
                "SALESFORCE_SECURITY_TOKEN": creds["security_token"],
                "SALESFORCE_LOGIN_URL": emulator.url,
                "SALESFORCE_CA_BUNDLE": str(emulator.ca_bundle),
            },
        )
    layout.write_secret("reporting-api", {"REPORTING_API_TOKEN": "dev-reporting-token"})


def run_platform(options: DevOptions) -> int:
    """Start everything, print where to look, supervise until SIGINT/SIGTERM, stop everything."""
    layout = Layout(options.workdir)
    layout.create()
    state = read_state(layout)
    if state and alive(state["pid"]):
        raise ConfigError(
            f"a dev platform already runs from {layout.root} (pid {state['pid']}, "
            f"{state['ui']}): `dagplane dev down --workdir {layout.root}` first"
        )
    if not _free(options.port):
        raise ConfigError(f"port {options.port} is in use (fix: --port N)")
    started = time.monotonic()
    report = options.report
    stopping: list[int] = []

    def stop(signum: int, _frame: Any) -> None:
        stopping.append(signum)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    supervisor = Supervisor(layout.logs, report)
    try:
        with contextlib.ExitStack() as stack:
            report("starting PostgreSQL (metadata and warehouse)")
            metadata_url, warehouse_url = stack.enter_context(_databases(options, layout))
            emulator = None
            if options.emulator:
                from dagplane.emulators.salesforce import SalesforceEmulator

                emulator = stack.enter_context(
                    SalesforceEmulator(records=options.records, state_dir=layout.root / "emulator")
                )
                report(f"Salesforce emulator at {emulator.url}")
            _write_job_secrets(layout, warehouse_url, emulator)
            env = airflow_env(options, layout, metadata_url)
            report("migrating the metadata database")
            migrated = subprocess.run(
                [_airflow(), "db", "migrate"], env=env, capture_output=True, text=True, check=False
            )
            (layout.logs / "db-migrate.log").write_text(migrated.stdout + migrated.stderr)
            if migrated.returncode != 0:
                raise ConfigError(
                    f"`airflow db migrate` failed; see {layout.logs / 'db-migrate.log'}"
                )
            sync = (
                sys.executable, "-m", "dagplane.cli", "sync", "--watch",
                "--interval", str(SYNC_INTERVAL),
                "--packages-dir", str(options.packages_dir), "--dags-dir", str(layout.dags),
            )  # fmt: skip
            supervisor.start(ProcessSpec("dag-sync", sync, env, options.root))
            for name in AIRFLOW_PROCESSES:  # tasks inherit the workdir, never the project's
                supervisor.start(ProcessSpec(name, (_airflow(), name), env, layout.root))
            state = {
                "pid": os.getpid(),
                "ui": f"http://127.0.0.1:{options.port}",
                "port": options.port,
                "logs": str(layout.logs),
                "children": {c.spec.name: c.pid for c in supervisor.children},
                "emulator": emulator.url if emulator else None,
                "warehouse": warehouse_url,
            }
            layout.write_state(state)
            ready = _wait_ready(options.port, supervisor, stopping)
            if ready is not None:
                login = layout.login()
                [(user, password)] = login.items()
                report(
                    f"ready in {time.monotonic() - started:.1f} s: http://127.0.0.1:{options.port}"
                    f"  (login {user} / {password})"
                )
                report(f"logs in {layout.logs}; stop with Ctrl-C or `dagplane dev down`")
            while not stopping:
                supervisor.poll()
                children = {c.spec.name: c.pid for c in supervisor.children}
                if children != state["children"]:  # a restart: `status` and `down` follow it
                    state["children"] = children
                    layout.write_state(state)
                time.sleep(1)
            report("stopping")
            supervisor.stop_all()
    finally:
        supervisor.stop_all()
        with contextlib.suppress(FileNotFoundError):
            layout.state_file.unlink()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def _wait_ready(port: int, supervisor: Supervisor, stopping: list[int]) -> float | None:
    deadline = time.monotonic() + 300
    while not stopping and time.monotonic() < deadline:
        health = api_health(port)
        if health and health.get("metadatabase", {}).get("status") == "healthy":
            return time.monotonic()
        supervisor.poll()
        time.sleep(0.5)
    return None
