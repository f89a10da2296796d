"""The Salesforce image, built from its generated Dockerfile and run like its worker pod.

Needs a container engine (podman with runc, or docker); ``.ci/run`` installs podman where it
can, and the test skips with the reason where none is usable. The base image is a *stand-in*
for ``apache/airflow:<version>`` (Debian bookworm's Python, uid 50000/gid 0, the same Airflow
version in a venv, ``AIRFLOW_HOME=/opt/airflow``), built here because the official image cannot
be pulled on these machines: it is NOT the official image. It is cached by name, so only the
first run on a machine pays for it.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
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
from ._execution_api import execution_api
from ._pod_run import load_template, run_args

pytestmark = [pytest.mark.container, pytest.mark.slow]

ACCOUNTS = 120
SECRETS_DIR = "/var/run/secrets/dagplane"  # DAGPLANE__SECRETS_DIR of the generated pod template
CA_PATH = "/var/run/dagplane-test/emulator-ca.pem"
DAG_ID, TASK_ID = "salesforce__salesforce_to_postgres", "salesforce_to_postgres"
POD_TEMPLATE = ROOT / "dags" / "pod_templates" / f"{DAG_ID}.yaml"


@pytest.fixture(scope="module")
def engine():
    found, reason = find_engine()
    if found is None:
        pytest.skip(reason)
    return found


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


def test_salesforce_image_runs_the_dags_task_as_its_worker_pod(engine, tmp_path: Path) -> None:
    """Stand-in base (not the official image) → generated Dockerfile unchanged → the DAG's pod
    template run as written (uid 50000, read-only root, no capabilities, secrets as files, the
    chart's airflow.cfg, the DAG folder) → Airflow's task runner executes the queued task
    against a real API server, and the job loads PostgreSQL."""
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

    pod = load_template(POD_TEMPLATE)
    [container] = pod["spec"]["containers"]
    # Same repository; the tags differ because the base image (here the stand-in) is hashed in.
    assert container["image"].rsplit(":", 1)[0] == image.rsplit(":", 1)[0]
    assert container["image"] != image
    pod_env = {item["name"]: item["value"] for item in container["env"]}
    assert pod_env["DAGPLANE__SECRETS_DIR"] == SECRETS_DIR and pod_env["HOME"] == "/tmp"
    secret_volumes = {
        v["name"]: v["projected"]["sources"][0]["secret"]["name"]
        for v in pod["spec"]["volumes"]
        if "projected" in v
    }
    assert set(secret_volumes.values()) == {"salesforce-credentials", "warehouse-postgres"}

    with (
        contextlib.ExitStack() as stack,
        # Outside pytest's folder: a second pytest session on the machine resets its mode to
        # 0700, and the server's own user could then no longer reach its data to stop.
        tcp_postgres(Path(stack.enter_context(tempfile.TemporaryDirectory()))) as postgres_url,
        SalesforceEmulator(records=0, records_per_object={"Account": ACCOUNTS, "User": 5}) as emu,
        execution_api(tmp_path / "airflow-home", ROOT / "dags", ROOT / "packages") as api,
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
        # The chart's ConfigMap: airflow.cfg names the execution API and the DAG folder.
        config = tmp_path / "airflow.cfg"
        config.write_text(
            f"[core]\nexecution_api_server_url = {api.url}\ndags_folder = /opt/airflow/dags\n"
            "load_examples = False\n[logging]\nbase_log_folder = /opt/airflow/logs\n"
        )
        config.chmod(0o444)
        sources = {"config": config, "dags": ROOT / "dags"}
        sources.update({volume: secrets / name for volume, name in secret_volumes.items()})
        pod_args = [
            *run_args(pod, sources, tmp_path / "empty-dirs"),
            "--network",
            "host",
            # Test wiring, not part of the pod: the emulator's URL and its CA.
            f"--env=SALESFORCE_LOGIN_URL={emu.url}",
            f"--env=SALESFORCE_CA_BUNDLE={CA_PATH}",
            f"--volume={ca / 'emulator-ca.pem'}:{CA_PATH}:ro",
        ]

        probe = engine(
            "run", "--rm", *pod_args, image, "sh", "-c",
            'echo "uid=$(id -u) gid=$(id -g)"; '
            "if touch /opt/dagplane/probe 2>/dev/null; then echo rootfs=writable; "
            "else echo rootfs=read-only; fi",
            capture_output=True,
        )  # fmt: skip
        assert probe.stdout.splitlines() == ["uid=50000 gid=0", "rootfs=read-only"], probe.stdout

        # What the KubernetesExecutor runs in the pod: Airflow's task runner and the workload.
        workload = api.queue(DAG_ID, TASK_ID, 0)  # map index 0: Account
        ran = engine(
            "run", "--rm", *pod_args, image,
            "python", "-m", "airflow.sdk.execution_time.execute_workload", "--json-string",
            workload,
            capture_output=True, check=False, timeout=300,
        )  # fmt: skip
        output = ran.stdout + ran.stderr
        assert ran.returncode == 0, output[-4000:]
        assert '"final_state":"success"' in output, output[-4000:]
        assert "partition Account" in output and f"Account: {ACCOUNTS} rows" in output
        assert creds["password"] not in output and postgres_url not in output
        assert api.state(DAG_ID, TASK_ID, 0) == ("success", 1)
        # The task log, in the pod's log volume where the chart's log server would serve it.
        [log] = (tmp_path / "empty-dirs" / "logs").rglob("attempt=1.log")
        assert f"Account: {ACCOUNTS} rows" in log.read_text()
        assert creds["password"] not in log.read_text()

        with psycopg.connect(postgres_url) as conn:
            (count,) = conn.execute("SELECT count(*) FROM salesforce.account").fetchone()
        assert count == ACCOUNTS
