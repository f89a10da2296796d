"""``python -m dagplane.emulators.salesforce``: foreground server, clean stop on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from dagplane.emulators.salesforce import DEFAULT_CREDENTIALS
from dagplane.emulators.salesforce.__main__ import main
from dagplane.emulators.salesforce.bench_support import start_emulator_process


def test_runs_in_the_foreground_and_stops_on_sigterm(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "dagplane.emulators.salesforce", "--port", "0"]
    command += [
        "--records",
        "1000",
        "--object-records",
        "Account=2500",
        "--state-dir",
        str(tmp_path),
        "--csv-dialect",
        "minimal",
    ]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(6)]
        url = lines[0].split()[-1]
        ca_bundle = Path(lines[1].split()[-1])
        assert url.startswith("https://127.0.0.1:")
        assert ca_bundle == tmp_path / "ca.pem" and ca_bundle.exists()
        assert DEFAULT_CREDENTIALS.username in lines[2]
        assert "Account=2,500" in lines[3]
        assert lines[4] == "  Bulk CSV:  minimal dialect\n"
        session = requests.Session()
        session.trust_env = False
        versions = session.get(f"{url}/services/data", verify=str(ca_bundle), timeout=10)
        assert versions.status_code == 200 and versions.json()[-1]["version"] == "62.0"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "stopped" in out
    printed = "".join(lines) + out
    assert DEFAULT_CREDENTIALS.password not in printed
    assert DEFAULT_CREDENTIALS.security_token not in printed


def test_bad_object_count_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["--object-records", "Widget=5"])
    assert caught.value.code == 2
    assert "expected Object=N" in capsys.readouterr().err
    with pytest.raises(SystemExit) as caught:
        main(["--csv-dialect", "excel"])
    assert caught.value.code == 2
    assert "invalid choice: 'excel'" in capsys.readouterr().err


def test_bench_support_starts_a_child_and_returns_connector_settings(tmp_path: Path) -> None:
    proc, env = start_emulator_process(rows=1_234, state_dir=tmp_path)
    try:
        session = requests.Session()
        session.trust_env = False
        login = session.post(
            f"{env['SALESFORCE_LOGIN_URL']}/services/oauth2/token",
            data={
                "grant_type": "password",
                "client_id": DEFAULT_CREDENTIALS.client_id,
                "client_secret": DEFAULT_CREDENTIALS.client_secret,
                "username": env["SALESFORCE_USERNAME"],
                "password": env["SALESFORCE_PASSWORD"] + env["SALESFORCE_SECURITY_TOKEN"],
            },
            verify=env["SALESFORCE_CA_BUNDLE"],
            timeout=10,
        ).json()
        answer = session.get(
            f"{login['instance_url']}/services/data/v59.0/query",
            params={"q": "SELECT Id FROM Account"},
            headers={"Authorization": f"Bearer {login['access_token']}"},
            verify=env["SALESFORCE_CA_BUNDLE"],
            timeout=10,
        )
        assert answer.json()["totalSize"] == 1_234
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert proc.returncode == 0
