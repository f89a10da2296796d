"""A throwaway local Airflow 3 (SQLite metadata) to parse and run generated DAGs.

Used by ``dagplane demo`` and the tests. Airflow runs in subprocesses with its own
``AIRFLOW_HOME``, so its configuration never leaks into the calling process.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dagplane.errors import ConfigError

__all__ = ["LocalAirflow"]


@dataclass
class LocalAirflow:
    """An ``AIRFLOW_HOME`` with a DAG folder; job code is found in ``packages_dir``."""

    home: Path
    dags_dir: Path
    packages_dir: Path
    extra_env: dict[str, str] | None = None

    @property
    def env(self) -> dict[str, str]:
        """The environment Airflow commands run with."""
        env = {
            **os.environ,
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_dir),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "DAGPLANE__PACKAGES_DIR": str(self.packages_dir),
            "XDG_RUNTIME_DIR": os.environ.get("XDG_RUNTIME_DIR", "/tmp"),
        }
        env.update(self.extra_env or {})
        return env

    def airflow(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``airflow ARGS`` and capture its output."""
        proc = subprocess.run(
            [_airflow_executable(), *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        if check and proc.returncode != 0:
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-15:]
            raise ConfigError(
                f"`airflow {' '.join(args)}` failed with exit code {proc.returncode}:\n"
                + "\n".join(tail)
            )
        return proc

    def migrate(self) -> None:
        """Create the metadata database (SQLite in ``home``)."""
        self.home.mkdir(parents=True, exist_ok=True)
        self.dags_dir.mkdir(parents=True, exist_ok=True)
        self.airflow("db", "migrate")

    def test_dag(
        self,
        dag_id: str,
        logical_date: str | None = None,
        on_line: Callable[[str], None] | None = None,
        conf: dict[str, object] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """``airflow dags test``: one DAG run (with ``conf``), its tasks' logs in the output.

        ``on_line`` sees each output line as it comes (for progress); stderr is merged into
        stdout.
        """
        args = ["dags", "test", dag_id] + ([logical_date] if logical_date else [])
        if conf is not None:
            args += ["--conf", json.dumps(conf)]
        if on_line is None:
            return self.airflow(*args, check=False)
        lines: list[str] = []
        with subprocess.Popen(
            [_airflow_executable(), *args],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        ) as proc:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.append(line)
                on_line(line)
        return subprocess.CompletedProcess(proc.args, proc.returncode, "".join(lines), "")


def _airflow_executable() -> str:
    beside = Path(sys.executable).with_name("airflow")
    found = str(beside) if beside.exists() else shutil.which("airflow")
    if not found:
        raise ConfigError(
            "Airflow 3 is not installed here: run `uv sync` (it installs the dev group, "
            "which has apache-airflow)"
        )
    return found
