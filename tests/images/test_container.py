"""The Salesforce image, built from its generated Dockerfile and run like its worker pod.

Needs a container engine (podman with runc, or docker); ``.ci/run`` installs podman where it
can, and the test skips with the reason where none is usable. The base image is a *stand-in*
for ``apache/airflow:<version>`` (Debian bookworm's Python, uid 50000/gid 0, the same Airflow
version in a venv, ``AIRFLOW_HOME=/opt/airflow``), built here because the official image cannot
be pulled on these machines: it is NOT the official image. It is cached by name, so only the
first run on a machine pays for it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from dagplane.emulators.salesforce import SalesforceEmulator

from ._engine import (
    ROOT,
    STAND_IN_REPOSITORY,
    airflow_version,
    build_args,
    engine_bin_dir,
    ensure_stand_in,
    find_engine,
    stand_in_missing_tools,
    tcp_postgres,
)

pytestmark = [pytest.mark.container, pytest.mark.slow]

ACCOUNTS = 120
SECRETS_DIR = "/var/run/secrets/dagplane"  # DAGPLANE_SECRETS_DIR of the generated pod template
CA_PATH = "/var/run/dagplane-test/emulator-ca.pem"
POD_TEMPLATE = ROOT / "dags" / "pod_templates" / "salesforce__salesforce_to_postgres.yaml"


@pytest.fixture(scope="module")
def engine():
    found, reason = find_engine()
    if found is None:
        pytest.skip(reason)
    return found


def _pod_container() -> dict:
    text = "\n".join(
        line for line in POD_TEMPLATE.read_text().splitlines() if not line.startswith("#")
    )
    return json.loads(text)["spec"]["containers"][0]


def _write_secrets(folder: Path, values: dict[str, dict[str, str]]) -> None:
    """``<secret>/<KEY>`` files, readable by gid 0 only (the pod's defaultMode 0440, fsGroup 0)."""
    for name, keys in values.items():
        (folder / name).mkdir(parents=True)
        (folder / name).chmod(0o755)
        for key, value in keys.items():
            path = folder / name / key
            path.write_text(value)
            os.chown(path, os.geteuid(), 0)
            path.chmod(0o440)
    folder.chmod(0o755)


def test_salesforce_image_runs_the_job_as_its_worker_pod(engine, tmp_path: Path) -> None:
    """Stand-in base (not the official image) → generated Dockerfile unchanged → the job in a
    read-only, capability-less container as uid 50000, secrets as files, loading PostgreSQL."""
    version = airflow_version()
    cached = engine.image_exists(f"{STAND_IN_REPOSITORY}:{version}")
    if not cached and (missing := stand_in_missing_tools()):
        pytest.skip(f"cannot build the stand-in base image: missing {', '.join(missing)}")
    base = ensure_stand_in(engine, version)

    bin_dir = engine_bin_dir(engine, tmp_path / "bin")
    env = {**os.environ, "PATH": f"{bin_dir}:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin"}
    built = subprocess.run(
        [
            *(sys.executable, "-m", "dagplane.cli", "images", "build", "salesforce"),
            *("--base-image", base),
            *(f"--engine-arg={arg}" for arg in build_args(engine)),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-4000:]
    image = built.stdout.split()[-1]  # the engine's log goes to stdout too; the reference is last
    assert image.startswith("ghcr.io/") and ":sha-" in image, built.stdout[-2000:]

    user = engine("image", "inspect", "--format", "{{.Config.User}}", image, capture_output=True)
    assert user.stdout.strip() == "50000"  # the image's own USER, not only our --user flag

    container = _pod_container()
    pod_env = {item["name"]: item["value"] for item in container["env"]}
    assert pod_env["DAGPLANE_SECRETS_DIR"] == SECRETS_DIR
    secret_mounts = [m for m in container["volumeMounts"] if m["mountPath"].startswith(SECRETS_DIR)]
    assert {m["mountPath"] for m in secret_mounts} == {
        f"{SECRETS_DIR}/salesforce-credentials",
        f"{SECRETS_DIR}/warehouse-postgres",
    }

    with (
        tcp_postgres(tmp_path / "pg") as postgres_url,
        SalesforceEmulator(records=0, records_per_object={"Account": ACCOUNTS, "User": 5}) as emu,
    ):
        creds = emu.credentials
        secrets = tmp_path / "secrets"
        _write_secrets(
            secrets,
            {
                "salesforce-credentials": {
                    "SALESFORCE_USERNAME": creds["username"],
                    "SALESFORCE_PASSWORD": creds["password"],
                    "SALESFORCE_SECURITY_TOKEN": creds["security_token"],
                },
                "warehouse-postgres": {"POSTGRES_URL": postgres_url},
            },
        )
        ca = tmp_path / "ca"
        ca.mkdir(mode=0o755)
        (ca / "emulator-ca.pem").write_bytes(Path(emu.ca_bundle).read_bytes())
        (ca / "emulator-ca.pem").chmod(0o444)

        argv = [
            "run",
            "--rm",
            "--user",
            "50000:0",
            "--read-only",
            "--tmpfs",
            "/tmp",  # the pod's emptyDir
            "--tmpfs",
            "/opt/airflow/logs",
            "--cap-drop",
            "ALL",
            "--security-opt",
            "no-new-privileges",
            "--network",
            "host",
            *(f"--env={k}={v}" for k, v in pod_env.items()),
            f"--env=SALESFORCE_LOGIN_URL={emu.url}",
            f"--env=SALESFORCE_CA_BUNDLE={CA_PATH}",
            f"--volume={ca / 'emulator-ca.pem'}:{CA_PATH}:ro",
            *(
                f"--volume={secrets / Path(m['mountPath']).name}:{m['mountPath']}:ro"
                for m in secret_mounts
            ),
            image,
            "sh",
            "-c",
            'echo "uid=$(id -u) gid=$(id -g)"; '
            "if touch /opt/dagplane/probe 2>/dev/null; then echo rootfs=writable; "
            "else echo rootfs=read-only; fi; "
            "exec python -m dagplane.cli run salesforce_to_postgres --partition Account"
            ' --packages-dir "$DAGPLANE_PACKAGES_DIR"',  # the image's ENV; `run` reads no env
        ]
        ran = engine(*argv, capture_output=True, check=False, timeout=300)
        assert ran.returncode == 0, f"{ran.stdout[-3000:]}\n{ran.stderr[-3000:]}"
        assert ran.stdout.splitlines()[:2] == ["uid=50000 gid=0", "rootfs=read-only"], ran.stdout
        assert f"Account: {ACCOUNTS} rows" in ran.stdout, ran.stdout

        with psycopg.connect(postgres_url) as conn:
            (count,) = conn.execute("SELECT count(*) FROM salesforce.account").fetchone()
        assert count == ACCOUNTS
