"""`dagplane run`: context, exit codes, failure messages and secret redaction."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from dagplane.cli import main
from dagplane.jobs.redaction import Redactor

SECRET = "hunter2-very-secret"  # pragma: allowlist secret

JOB_WITH_SECRET = """\
import json, logging, os, sys
from dagplane import Job, Secret

log = logging.getLogger("leaky")

def run(ctx):
    token = ctx.secret("API_TOKEN")
    print("stdout token=" + token)
    print("stderr token=" + token, file=sys.stderr)
    log.warning("logged token=%s", token)
    out = {
        "partition": ctx.partition, "args": list(ctx.args), "run_id": ctx.run_id,
        "env_partition": os.environ["DAGPLANE_PARTITION"],
    }
    with open(os.environ["OUT_FILE"], "w") as fh:
        json.dump(out, fh)
    if "--explode" in ctx.args:
        raise ValueError("could not call the API with " + token)
    return int(ctx.args[0]) if ctx.args and ctx.args[0].isdigit() else 0

JOB = Job(entrypoint=run, partitions=["eu", "us"],
          secrets=[Secret(name="api", keys=["API_TOKEN"])])
"""

LEGACY = """\
import os

def main(argv):
    with open(os.environ["OUT_FILE"], "w") as fh:
        fh.write(" ".join(argv) + "|" + os.environ["DAGPLANE_JOB_ID"])
    return 0 if "fail" not in argv else 4

JOB = (main, "legacy job")
"""


def run_cli(packages, tmp_path, *args: str, env: dict[str, str] | None = None):
    """Run `dagplane run` in a fresh interpreter, as a user would."""
    cmd = [sys.executable, "-m", "dagplane.cli", "run", "--packages-dir", str(packages), *args]
    full_env = {"PATH": "/usr/bin:/bin", "OUT_FILE": str(tmp_path / "out"), **(env or {})}
    return subprocess.run(cmd, capture_output=True, text=True, env=full_env, check=False)


def run_with_secret(packages, tmp_path, *args: str, env: dict[str, str] | None = None):
    """`dagplane run with_secret --partition us [-- ARGS]`."""
    extra = ["--", *args] if args else []
    return run_cli(packages, tmp_path, "with_secret", "--partition", "us", *extra, env=env)


@pytest.fixture
def jobs(write_job, packages):
    write_job("demo", "with_secret", JOB_WITH_SECRET)
    write_job("demo", "legacy", LEGACY)
    return packages


def test_typed_job_gets_its_context_and_partition(jobs, tmp_path) -> None:
    proc = run_cli(
        jobs,
        tmp_path,
        "with_secret",
        "--partition",
        "eu",
        "--",
        "0",
        "x",
        env={"API_TOKEN": SECRET},
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads((tmp_path / "out").read_text())
    assert out["partition"] == out["env_partition"] == "eu"
    assert out["args"] == ["0", "x"]
    assert out["run_id"].startswith("manual__")
    assert "job with_secret succeeded" in proc.stderr


def test_secret_values_never_reach_stdout_stderr_or_logs(jobs, tmp_path) -> None:
    proc = run_with_secret(jobs, tmp_path, "--explode", env={"API_TOKEN": SECRET})
    assert proc.returncode == 1
    everything = proc.stdout + proc.stderr
    assert SECRET not in everything
    assert "stdout token=***" in proc.stdout
    assert "stderr token=***" in proc.stderr
    assert "logged token=***" in proc.stderr
    assert "error: job 'with_secret' failed: ValueError: could not call the API with ***" in (
        proc.stderr
    )


def test_secret_from_a_mounted_file_is_redacted_too(jobs, tmp_path) -> None:
    secret_dir = tmp_path / "secrets" / "api"
    secret_dir.mkdir(parents=True)
    (secret_dir / "API_TOKEN").write_text(SECRET + "\n")
    proc = run_with_secret(jobs, tmp_path, env={"DAGPLANE__SECRETS_DIR": str(secret_dir.parent)})
    assert proc.returncode == 0, proc.stderr
    assert SECRET not in proc.stdout + proc.stderr
    assert "stdout token=***" in proc.stdout


def test_non_zero_exit_fails_with_the_code(jobs, tmp_path) -> None:
    proc = run_with_secret(jobs, tmp_path, "7", env={"API_TOKEN": SECRET})
    assert proc.returncode == 1
    assert "error: job 'with_secret' failed: exited with code 7" in proc.stderr


def test_missing_secret_names_every_place_tried(jobs, tmp_path) -> None:
    proc = run_with_secret(jobs, tmp_path, env={"DAGPLANE__SECRETS_DIR": "/nonexistent"})
    assert proc.returncode == 1
    assert (
        "secret api/API_TOKEN is not set: tried the environment variable API_TOKEN and the "
        "file /nonexistent/api/API_TOKEN"
    ) in proc.stderr


def test_legacy_job_gets_argv_and_its_exit_code_counts(jobs, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("OUT_FILE", str(tmp_path / "out"))
    assert main(["run", "--packages-dir", str(jobs), "legacy", "--", "a", "b"]) == 0
    assert (tmp_path / "out").read_text() == "a b|legacy"
    proc = run_cli(jobs, tmp_path, "legacy", "--", "fail")
    assert proc.returncode == 1
    assert "job 'legacy' failed: exited with code 4" in proc.stderr


def test_unknown_job_and_unknown_partition(jobs, capsys) -> None:
    assert main(["run", "--packages-dir", str(jobs), "nope"]) == 1
    assert "no job 'nope' (jobs: legacy, with_secret)" in capsys.readouterr().err
    assert main(["run", "--packages-dir", str(jobs), "with_secret", "--partition", "mars"]) == 2
    assert "'mars' is not one of eu, us" in capsys.readouterr().err


def test_redactor_masks_longest_first_and_ignores_tiny_values() -> None:
    redact = Redactor(["abcd", "abcdefgh", "xy", "line-one\nline-two"])
    assert redact("abcdefgh abcd xy line-two") == "*** *** xy ***"


LEAKY = """\
import json, logging, sys
from dagplane import Job, Secret

log = logging.getLogger("leaky")

def run(ctx):
    token = ctx.secret("API_TOKEN")
    log.warning("repr %r json %s", token, json.dumps({"t": token}))
    try:
        raise ConnectionError("could not connect with " + token)
    except ConnectionError:
        log.exception("attempt failed")
    if list(ctx.args) == ["exit"]:
        sys.exit("config for " + token + " is missing")
    raise RuntimeError("gave up with " + token)

JOB = Job(entrypoint=run, secrets=[Secret(name="api", keys=["API_TOKEN"])])
"""


def test_escaped_forms_tracebacks_and_exit_messages_are_masked(
    write_job, packages, tmp_path
) -> None:
    write_job("demo", "leaky", LEAKY)
    secret = "p@ss'w\"rd/9x-long"
    proc = run_cli(packages, tmp_path, "leaky", env={"API_TOKEN": secret})
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1
    for form in (secret, repr(secret)[1:-1], json.dumps(secret)[1:-1]):
        assert form not in out
    assert "ConnectionError: could not connect with ***" in out
    assert "RuntimeError: gave up with ***" in out
    last_line = out.strip().splitlines()[-1]
    assert last_line == "error: job 'leaky' failed: RuntimeError: gave up with ***"
    proc = run_cli(packages, tmp_path, "leaky", "--", "exit", env={"API_TOKEN": secret})
    assert proc.returncode == 1
    assert "error: job 'leaky' failed: config for *** is missing" in proc.stderr


def test_a_job_that_cannot_be_imported_is_a_job_failure_not_a_crash(
    write_job, packages, tmp_path
) -> None:
    source = "import not_installed_anywhere\n\ndef main(argv):\n    return 0\n\nJOB = (main, 'x')\n"
    write_job("demo", "needs_dep", source)
    proc = run_cli(packages, tmp_path, "needs_dep")
    assert proc.returncode == 1
    assert (
        "error: job 'needs_dep' failed: cannot import demo.jobs.needs_dep: "
        "ModuleNotFoundError: No module named 'not_installed_anywhere'"
    ) in proc.stderr


OPTIONAL_SECRET = """\
from dagplane import Job, Secret

def run(ctx):
    print("optional=" + ctx.secret("API_ALT"))
    return 0

JOB = Job(entrypoint=run, secrets=[Secret(name="api", keys=["API_TOKEN"],
                                          optional_keys=["API_ALT"])])
"""


def test_optional_keys_are_readable_from_their_mounted_file_and_masked(
    write_job, packages, tmp_path
) -> None:
    write_job("demo", "optional_secret", OPTIONAL_SECRET)
    secret_dir = tmp_path / "secrets" / "api"
    secret_dir.mkdir(parents=True)
    (secret_dir / "API_ALT").write_text(SECRET + "\n")
    proc = run_cli(
        packages,
        tmp_path,
        "optional_secret",
        env={"DAGPLANE__SECRETS_DIR": str(secret_dir.parent), "API_TOKEN": "x" * 8},
    )
    assert proc.returncode == 0, proc.stderr
    assert SECRET not in proc.stdout + proc.stderr
    assert "optional=***" in proc.stdout


HELPER = """\
GREETING = "hello from the helper"
"""

JOB_USING_HELPERS = """\
import os

from dagplane import Job

from . import _shared
from demo.jobs._shared import GREETING


def run(ctx):
    with open(os.environ["OUT_FILE"], "w") as fh:
        fh.write(_shared.GREETING + "|" + GREETING)
    return 0

JOB = Job(entrypoint=run)
"""


def test_underscore_helpers_are_not_jobs_and_jobs_can_import_them(
    write_job, packages, tmp_path
) -> None:
    from dagplane.jobs.discovery import discover

    # A helper has no JOB: were it discovered, it would be a "no JOB declaration" failure.
    write_job("demo", "_shared", HELPER)
    write_job("demo", "uses_helper", JOB_USING_HELPERS)
    result = discover(packages, root=packages.parent)
    assert (result.failures, [j.job_id for j in result.jobs]) == ([], ["uses_helper"])
    proc = run_cli(packages, tmp_path, "uses_helper")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out").read_text() == "hello from the helper|hello from the helper"
    # And `dagplane sync` writes no DAG for it.
    dags = tmp_path / "dags"
    assert main(["sync", "--packages-dir", str(packages), "--dags-dir", str(dags)]) == 0
    assert sorted(p.name for p in dags.glob("*.py")) == ["demo__uses_helper.py"]


QUOTED = """\
import logging, urllib.parse
from dagplane import Job, Secret

log = logging.getLogger("quoted")

def run(ctx):
    pw = ctx.secret("DB_PASSWORD")
    forms = {
        "raw": pw,
        "quote": urllib.parse.quote(pw),
        "quote_nosafe": urllib.parse.quote(pw, safe=""),
        "quote_plus": urllib.parse.quote_plus(pw),
    }
    for name, form in forms.items():
        print(f"out {name}={form}")
        log.warning("log %s=%s", name, form)
    print("url=postgresql://user:" + urllib.parse.quote(pw) + "@db.example:5432/dw")
    plus = urllib.parse.quote_plus(pw)
    log.warning("url_plus=postgresql://user:%s" + "@db.example/dw", plus)
    return 0

JOB = Job(entrypoint=run, secrets=[Secret(name="db", keys=["DB_PASSWORD"])])
"""
# "@", "/", ":", "&", "=" and "+" quote differently under quote() (keeps "/") and quote_plus().
URL_SECRET = "p@ss/w:rd&=+ 9x"  # pragma: allowlist secret


def test_url_quoted_forms_of_a_secret_are_masked(write_job, packages, tmp_path) -> None:
    import urllib.parse

    write_job("demo", "quoted", QUOTED)
    proc = run_cli(packages, tmp_path, "quoted", env={"DB_PASSWORD": URL_SECRET})
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout + proc.stderr
    forms = {
        URL_SECRET,
        urllib.parse.quote(URL_SECRET),
        urllib.parse.quote(URL_SECRET, safe=""),
        urllib.parse.quote_plus(URL_SECRET),
    }
    assert len(forms) == 4  # the value really quotes four different ways
    for form in forms:
        assert form not in out
    for name in ("raw", "quote", "quote_nosafe", "quote_plus"):
        assert f"out {name}=***" in proc.stdout
        assert f"log {name}=***" in proc.stderr
    assert "url=postgresql://user:***@db.example:5432/dw" in proc.stdout
    assert "url_plus=postgresql://user:***@db.example/dw" in proc.stderr


CHILD_ENV = """\
import json, os, subprocess, sys
from dagplane import Job

NAMES = ["DAGPLANE_JOB_ID", "DAGPLANE_RUN_ID", "DAGPLANE_PARTITION", "DAGPLANE_TRY_NUMBER",
         "DAGPLANE_LOGICAL_DATE", "DAGPLANE_DATA_INTERVAL_START", "DAGPLANE_DATA_INTERVAL_END"]
CHILD = "import json, os, sys; print(json.dumps({n: os.environ.get(n) for n in sys.argv[1:]}))"

def run(ctx):
    child = subprocess.run([sys.executable, "-c", CHILD, *NAMES],
                           capture_output=True, text=True, check=True)
    seen = {"child": json.loads(child.stdout), "run_id": ctx.run_id,
            "logical_date": ctx.logical_date.isoformat() if ctx.logical_date else None,
            "try_number": ctx.try_number}
    with open(os.path.join(os.environ["OUT_DIR"], f"{ctx.partition}.json"), "w") as fh:
        json.dump(seen, fh)
    return 0

JOB = Job(entrypoint=run, partitions=["north", "south"], retries=0)
"""


def test_the_context_reaches_child_processes(write_job, packages, tmp_path) -> None:
    write_job("demo", "spawner", CHILD_ENV)
    proc = run_cli(
        packages, tmp_path, "spawner", "--partition", "south", env={"OUT_DIR": str(tmp_path)}
    )
    assert proc.returncode == 0, proc.stderr
    seen = json.loads((tmp_path / "south.json").read_text())
    child = seen["child"]
    assert child["DAGPLANE_JOB_ID"] == "spawner"
    assert child["DAGPLANE_RUN_ID"] == seen["run_id"] and seen["run_id"].startswith("manual__")
    assert child["DAGPLANE_PARTITION"] == "south"
    assert child["DAGPLANE_TRY_NUMBER"] == "1"
    # A local run has no logical date or data interval: the variables are set, but empty.
    assert seen["logical_date"] is None
    for name in (
        "DAGPLANE_LOGICAL_DATE",
        "DAGPLANE_DATA_INTERVAL_START",
        "DAGPLANE_DATA_INTERVAL_END",
    ):
        assert child[name] == ""
