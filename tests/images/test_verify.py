"""`dagplane images verify`: what a job reaches, and the real locked environment (slow)."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

import pytest

from dagplane.cli import main
from dagplane.images._verify import reachable_modules

ROOT = Path(__file__).resolve().parents[2]


def _write(root: Path, name: str, text: str) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")


def test_reachable_modules_follow_function_level_and_lazy_imports(tmp_path) -> None:
    _write(
        tmp_path,
        "lib/__init__.py",
        """\
        import importlib
        from typing import TYPE_CHECKING
        if TYPE_CHECKING:
            from lib._typing_only import Thing
        _LAZY = {"Loader": "lib._loader", "Unused": "lib._unused"}
        def __getattr__(name):
            return getattr(importlib.import_module(_LAZY[name]), name)
        """,
    )
    _write(tmp_path, "lib/_loader.py", "import heavy_db\nfrom . import _util\n")
    _write(tmp_path, "lib/_util.py", "import os\n")
    _write(tmp_path, "lib/_unused.py", "import never_needed\n")
    _write(tmp_path, "lib/_typing_only.py", "import typing_only_dep\n")
    _write(
        tmp_path,
        "pkg/jobs/job.py",
        """\
        from lib import Loader
        def run():
            import client_sdk.sub
            import airflow.sdk
        """,
    )
    first, third = reachable_modules(["pkg.jobs.job"], [tmp_path])
    assert first == ["lib", "lib._loader", "lib._util", "pkg.jobs", "pkg.jobs.job"]
    assert third == ["client_sdk", "heavy_db"]  # stdlib and the base image's Airflow left out


@pytest.mark.slow
def test_verify_salesforce_installs_its_lock_and_imports_its_job(capsys) -> None:
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        code = main(["images", "verify", "salesforce", "--json"])
    finally:
        os.chdir(cwd)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    report = json.loads(captured.out)
    assert report["ok"] and report["failed"] == {}
    imported = set(report["imported"])
    assert "salesforce.jobs.salesforce_to_postgres" in imported
    assert {"simple_salesforce", "psycopg", "jwt", "requests"} <= imported
    assert "dagplane.warehouse.postgres._loader" in imported  # reached through the lazy map
    size, monolith = report["size"], report["monolith"]
    assert 10 < size["megabytes"] <= monolith["megabytes"]
    assert report["monolith_images"] == ["examples", "reports", "salesforce"]


@pytest.mark.slow
@pytest.mark.parametrize("package", ["examples", "salesforce"])
def test_package_locks_match_their_pyprojects(package) -> None:
    from dagplane.images._requirements import find_uv

    done = subprocess.run(
        [find_uv(), "lock", "--check"],
        cwd=ROOT / "packages" / package,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
