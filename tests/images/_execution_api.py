"""A real Airflow 3 API server on the host: the execution API a worker pod's task runner calls.

Metadata in SQLite under a temporary ``AIRFLOW_HOME``; the DAGs are the project's generated
ones, serialized by ``airflow dags reserialize`` as a DAG processor would. ``queue`` does the
scheduler's part for one task instance (see ``_queue_task.py``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from dagplane.dags.local_airflow import LocalAirflow

QUEUE_SCRIPT = Path(__file__).with_name("_queue_task.py")
# Signs the workload tokens (the scheduler) and checks them (the API server): test-only value.
JWT_SECRET = "container-test-jwt-secret-" + "0" * 40  # pragma: allowlist secret


@dataclass
class ExecutionApi:
    airflow: LocalAirflow
    port: int
    log: Path

    @property
    def url(self) -> str:
        """``[core] execution_api_server_url`` as a worker on the host network sees it."""
        return f"http://127.0.0.1:{self.port}/execution/"

    def _script(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, str(QUEUE_SCRIPT), *args],
            env=self.airflow.env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"_queue_task.py {' '.join(args)} failed:\n{done.stderr[-3000:]}")
        return done.stdout.strip().splitlines()[-1]

    def queue(self, dag_id: str, task_id: str, map_index: int) -> str:
        """The ``ExecuteTask`` workload JSON of a newly queued task instance."""
        return self._script("queue", dag_id, task_id, str(map_index))

    def state(self, dag_id: str, task_id: str, map_index: int) -> tuple[str, int]:
        state, try_number = self._script("state", dag_id, task_id, str(map_index)).split()
        return state, int(try_number)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def execution_api(home: Path, dags_dir: Path, packages_dir: Path) -> Iterator[ExecutionApi]:
    airflow = LocalAirflow(
        home=home,
        dags_dir=dags_dir,
        packages_dir=packages_dir,
        extra_env={"AIRFLOW__API_AUTH__JWT_SECRET": JWT_SECRET},
    )
    airflow.migrate()
    airflow.airflow("dags", "reserialize")
    port = _free_port()
    log = home / "api-server.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [str(Path(sys.executable).with_name("airflow")), "api-server", "--port", str(port)],
            env=airflow.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 120
        while True:
            with contextlib.suppress(OSError):
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/monitor/health", timeout=2)
                break
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the API server did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield ExecutionApi(airflow, port, log)
    finally:  # the server's workers are its children: stop the whole group
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
