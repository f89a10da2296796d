"""Start the emulator as a separate process (benchmarks), returning ``SALESFORCE_*`` settings."""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path

from .auth import Credentials
from .errors import EmulatorError


def start_emulator_process(
    *,
    rows: int,
    state_dir: Path,
    seed: int = 0,
    timeout: float = 30.0,
    csv_dialect: str = "salesforce",
    page_cache_mb: int = 0,
) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    """Serve ``rows`` Accounts (and a few other records) from a child process on a free port.

    ``csv_dialect`` picks how Bulk results are written (see ``formats.py``); with
    ``page_cache_mb`` the emulator keeps rendered pages for repeats of a query.

    Returns the process (terminate it when done) and the ``SALESFORCE_*`` environment variables
    dagplane's Salesforce connector reads to log in to it with username, password and token.
    """
    command = [sys.executable, "-m", "dagplane.emulators.salesforce", "--port", "0"]
    command += ["--records", "1000", "--object-records", f"Account={rows}", "--seed", str(seed)]
    command += ["--state-dir", str(state_dir), "--csv-dialect", csv_dialect]
    command += ["--page-cache-mb", str(page_cache_mb)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    printed = b""
    deadline = time.monotonic() + timeout
    while not re.search(rb"CA bundle: \S+\n", printed):
        ready, _, _ = select.select([proc.stdout], [], [], max(deadline - time.monotonic(), 0))
        chunk = os.read(proc.stdout.fileno(), 4096) if ready else b""
        if not chunk:
            proc.kill()
            raise EmulatorError(f"the Salesforce emulator did not start: {' '.join(command)}")
        printed += chunk
    text = printed.decode()
    found = {
        "LOGIN_URL": re.findall(r"listening on (\S+)", text)[0],
        "CA_BUNDLE": re.findall(r"CA bundle: (\S+)", text)[0],
    }
    creds = Credentials()
    env = {
        "SALESFORCE_LOGIN_URL": found["LOGIN_URL"],
        "SALESFORCE_CA_BUNDLE": found["CA_BUNDLE"],
        "SALESFORCE_USERNAME": creds.username,
        "SALESFORCE_PASSWORD": creds.password,
        "SALESFORCE_SECURITY_TOKEN": creds.security_token,
    }
    return proc, env
