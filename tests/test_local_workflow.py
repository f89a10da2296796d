"""The README's local workflow, as a user types it in two shells.

Shell one: ``dagplane emulator salesforce --port N``, which prints its URL and CA bundle.
Shell two: ``SALESFORCE_LOGIN_URL``, ``SALESFORCE_CA_BUNDLE``, the three credentials and
``POSTGRES_URL`` in the environment, then ``dagplane run salesforce_to_postgres --partition
Account``. Both are real subprocesses; the expected row count comes from the emulator through
``simple-salesforce``, and the loaded one from PostgreSQL.
"""

from __future__ import annotations

import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from simple_salesforce import Salesforce

from dagplane.emulators.salesforce import DEFAULT_CREDENTIALS, SalesforceEmulator
from tests._org import fresh_database, salesforce_client

ROOT = Path(__file__).resolve().parents[1]

# Each test starts the emulator (and `dagplane run`) as subprocesses: a few seconds each.
pytestmark = pytest.mark.slow


def dagplane_command() -> list[str]:
    """The `dagplane` console script of this environment (what `uv run dagplane` runs)."""
    script = Path(sys.executable).with_name("dagplane")
    found = str(script) if script.exists() else shutil.which("dagplane")
    return [found] if found else [sys.executable, "-m", "dagplane.cli"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class EmulatorProcess:
    """`dagplane emulator salesforce ARGS` running in the background, its banner parsed."""

    proc: subprocess.Popen[str]
    url: str
    ca_bundle: Path
    banner: list[str]
    _lines: queue.Queue[str | None] = field(repr=False)

    def stop(self, signum: int) -> tuple[int, str]:
        """Send ``signum``; the exit code and what it printed after the banner."""
        self.proc.send_signal(signum)
        code = self.proc.wait(timeout=30)
        rest = []
        while (line := self._lines.get(timeout=10)) is not None:
            rest.append(line)
        return code, "".join(rest)


def start_emulator(*args: str) -> EmulatorProcess:
    """Start the emulator command and read its banner up to "Press Ctrl-C to stop."."""
    proc = subprocess.Popen(
        [*dagplane_command(), "emulator", "salesforce", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_clean_env(),
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    banner: list[str] = []
    try:
        while not banner or not banner[-1].startswith("Press Ctrl-C"):
            line = lines.get(timeout=60)
            assert line is not None, f"the emulator exited early: {''.join(banner)}"
            banner.append(line)
    except BaseException:
        proc.kill()
        raise
    url = next(ln.split()[-1] for ln in banner if "listening on" in ln)
    ca_bundle = Path(next(ln.split(":", 1)[1].strip() for ln in banner if "CA bundle:" in ln))
    return EmulatorProcess(proc, url, ca_bundle, banner, lines)


@pytest.fixture
def emulators() -> Iterator[list[EmulatorProcess]]:
    """Emulator processes a test started; any still running are killed afterwards."""
    started: list[EmulatorProcess] = []
    yield started
    for emu in started:
        if emu.proc.poll() is None:
            emu.proc.kill()
            emu.proc.wait(timeout=10)


def _clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without any dagplane, Salesforce or PostgreSQL settings."""
    prefixes = ("DAGPLANE", "SALESFORCE_", "POSTGRES_", "REQUESTS_CA_BUNDLE")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update(extra)
    return env


def test_the_readme_local_workflow_loads_every_account(
    emulators: list[EmulatorProcess], postgres_url: str, tmp_path: Path
) -> None:
    port = free_port()
    emu = start_emulator("--port", str(port), "--records", "2000", "--state-dir", str(tmp_path))
    emulators.append(emu)
    assert emu.url == f"https://127.0.0.1:{port}"
    assert emu.ca_bundle.is_file()

    # The expected count, independently of the pipeline: the emulator's own answer to SOQL.
    expected = salesforce_client(emu.url, emu.ca_bundle).query("SELECT Id FROM Account")[
        "totalSize"
    ]
    assert expected == 400  # 20% of --records 2000
    warehouse = fresh_database(postgres_url, "workflow")
    env = _clean_env(
        SALESFORCE_LOGIN_URL=emu.url,
        SALESFORCE_CA_BUNDLE=str(emu.ca_bundle),
        SALESFORCE_USERNAME=DEFAULT_CREDENTIALS.username,
        SALESFORCE_PASSWORD=DEFAULT_CREDENTIALS.password,
        SALESFORCE_SECURITY_TOKEN=DEFAULT_CREDENTIALS.security_token,
        POSTGRES_URL=warehouse,
    )
    proc = subprocess.run(
        [*dagplane_command(), "run", "salesforce_to_postgres", "--partition", "Account"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert f"Account: {expected} rows" in proc.stdout
    for value in (DEFAULT_CREDENTIALS.password, DEFAULT_CREDENTIALS.security_token):
        assert value not in out
    with psycopg.connect(warehouse) as conn:
        (loaded,) = conn.execute("SELECT count(*) FROM salesforce.account").fetchone()
        (watermark,) = conn.execute(
            "SELECT count(*) FROM salesforce._dagplane_watermarks WHERE object_name = 'Account'"
        ).fetchone()
    assert loaded == expected
    assert watermark == 1

    # Ctrl-C in shell one: a clean stop that frees the port.
    code, rest = emu.stop(signal.SIGINT)
    assert code == 0, rest
    assert "Salesforce emulator stopped." in rest and "Traceback" not in rest
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0


def first_accounts(sf: Salesforce) -> list[tuple[str, str]]:
    answer = sf.query("SELECT Id, Name, Industry FROM Account ORDER BY Id LIMIT 20")
    return [(r["Name"], r["Industry"]) for r in answer["records"]]


def test_seed_and_csv_dialect_flags_and_a_clean_sigterm(
    emulators: list[EmulatorProcess], tmp_path: Path
) -> None:
    default = start_emulator("--port", "0", "--records", "500", "--state-dir", str(tmp_path / "a"))
    emulators.append(default)
    seeded = start_emulator(
        "--port",
        "0",
        "--records",
        "500",
        "--seed",
        "7",
        "--csv-dialect",
        "minimal",
        "--state-dir",
        str(tmp_path / "b"),
    )
    emulators.append(seeded)
    assert "  Bulk CSV:  salesforce dialect\n" in default.banner
    assert "  Bulk CSV:  minimal dialect\n" in seeded.banner

    # --seed changes the data, and serves exactly what the emulator makes of seed 7.
    default_sf = salesforce_client(default.url, default.ca_bundle)
    seeded_sf = salesforce_client(seeded.url, seeded.ca_bundle)
    with SalesforceEmulator(records=500, seed=7, port=0) as reference:
        expected_seed_7 = first_accounts(salesforce_client(reference.url, reference.ca_bundle))
    assert first_accounts(seeded_sf) == expected_seed_7
    assert first_accounts(default_sf) != expected_seed_7

    # --csv-dialect: Bulk API 2.0 results every value quoted (Salesforce's), or minimally.
    soql = "SELECT Id, Name, NumberOfEmployees FROM Account ORDER BY Id LIMIT 3"
    [quoted] = list(default_sf.bulk2.Account.query(soql, wait=0))
    [minimal] = list(seeded_sf.bulk2.Account.query(soql, wait=0))
    quoted_row, minimal_row = quoted.splitlines()[1], minimal.splitlines()[1]
    assert quoted_row.startswith('"001') and quoted_row.endswith('"')
    assert minimal_row.startswith("001")

    code, rest = seeded.stop(signal.SIGTERM)
    assert code == 0, rest
    assert "Salesforce emulator stopped." in rest and "Traceback" not in rest
    assert default.proc.poll() is None  # only the one signalled stopped


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--csv-dialect", "excel"], "Invalid value for '--csv-dialect'"),
        (["--port", "eighty"], "Invalid value for '--port'"),
        (["--seed"], "Option '--seed' requires an argument"),
    ],
)
def test_a_bad_emulator_flag_is_a_usage_error(args: list[str], message: str) -> None:
    proc = subprocess.run(
        [*dagplane_command(), "emulator", "salesforce", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=_clean_env(),
        check=False,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert message in proc.stderr
    assert "listening on" not in proc.stdout
