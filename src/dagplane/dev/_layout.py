"""Where a dev platform keeps its state: one workdir, reused by the next ``dev up``.

```
<workdir>/
  airflow/        AIRFLOW_HOME (airflow.cfg is not written: settings come from the env)
  dags/           the DAG folder `dagplane sync --watch` keeps in line with packages/
  metadata/       embedded PostgreSQL of Airflow's metadata
  warehouse/      embedded PostgreSQL the jobs load into
  secrets/        <secret>/<KEY> files, as worker pods get them
  logs/           one log per process
  state.json      the running supervisor: pid, ports, URLs, children (removed by `dev down`)
  login.json      the UI user and its password (generated once)
```
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Layout", "read_state"]


@dataclass(frozen=True)
class Layout:
    root: Path

    @property
    def airflow_home(self) -> Path:
        return self.root / "airflow"

    @property
    def dags(self) -> Path:
        return self.root / "dags"

    @property
    def metadata(self) -> Path:
        return self.root / "metadata"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse"

    @property
    def secrets(self) -> Path:
        return self.root / "secrets"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def state_file(self) -> Path:
        return self.root / "state.json"

    def create(self) -> None:
        for folder in (self.airflow_home, self.dags, self.secrets, self.logs):
            folder.mkdir(parents=True, exist_ok=True)

    @property
    def login_file(self) -> Path:
        """``{user: password}``: also the SimpleAuthManager's passwords file (same format)."""
        return self.root / "login.json"

    def login(self) -> dict[str, str]:
        """The UI user (``admin``) and its password, generated on the first ``up``."""
        path = self.login_file
        if not path.exists():
            path.write_text(json.dumps({"admin": secrets.token_urlsafe(12)}))
            path.chmod(0o600)
        return json.loads(path.read_text())

    def stable_secret(self, name: str) -> str:
        """A random value kept in the workdir (JWT signing key, fernet key, ...)."""
        path = self.airflow_home / f".{name}"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            value = _fernet_key() if name == "fernet-key" else secrets.token_urlsafe(48)
            path.write_text(value)
            path.chmod(0o600)
        return path.read_text()

    def write_secret(self, secret: str, values: dict[str, str]) -> None:
        """``<secrets>/<secret>/<KEY>`` files, readable by the owner only."""
        folder = self.secrets / secret
        folder.mkdir(parents=True, exist_ok=True)
        for key, value in values.items():
            path = folder / key
            path.write_text(value)
            path.chmod(0o600)

    def write_state(self, state: dict[str, Any]) -> None:
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2, sort_keys=True))
        os.replace(tmp, self.state_file)


def _fernet_key() -> str:
    import base64

    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def read_state(layout: Layout) -> dict[str, Any] | None:
    """The running platform's state, or ``None`` when none was started here."""
    try:
        return json.loads(layout.state_file.read_text())
    except (OSError, ValueError):
        return None
