"""A sync from a wrong or missing packages folder refuses instead of emptying the DAG folder."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from dagplane.cli import main
from dagplane.config import load_config
from dagplane.dags.sync import prune_guard
from dagplane.errors import ConfigError
from dagplane.write import WriteReport

GOOD = "from dagplane import Job\n\ndef run(ctx):\n    return 0\n\nJOB = Job(entrypoint=run)\n"
JOBS = ("a", "b", "c", "d")


@pytest.fixture
def project(write_job, packages: Path, tmp_path: Path) -> tuple[Path, Path]:
    """Four synced jobs: ``(packages, dags)``."""
    for name in JOBS:
        write_job("sales", name, GOOD)
    dags = tmp_path / "dags"
    assert sync(packages, dags) == 0
    return packages, dags


def sync(packages: Path, dags: Path, *flags: str) -> int:
    return main(["sync", "--packages-dir", str(packages), "--dags-dir", str(dags), *flags])


def snapshot(dags: Path) -> dict[str, str]:
    return {p.relative_to(dags).as_posix(): p.read_text() for p in dags.rglob("*") if p.is_file()}


def other_project(tmp_path: Path) -> Path:
    """Another project's packages folder: jobs, but none behind our DAGs."""
    folder = tmp_path / "other" / "packages"
    job = folder / "billing" / "jobs" / "invoices.py"
    job.parent.mkdir(parents=True)
    job.write_text(GOOD)
    return folder


def test_a_wrong_packages_folder_is_refused_and_nothing_is_written(
    project, tmp_path, capsys
) -> None:
    _, dags = project
    before = snapshot(dags)
    capsys.readouterr()
    wrong = other_project(tmp_path)
    assert sync(wrong, dags) == 1
    err = capsys.readouterr().err
    assert f"refusing to sync packages folder {wrong} into {dags}" in err
    assert "would prune 4 of the 4 dagplane-owned DAGs" in err
    assert "none of its 1 job module(s) is behind an existing DAG" in err
    assert "--allow-mass-prune" in err and "--packages-dir" in err
    # Not even the other project's new DAG: a refused pass writes nothing.
    assert snapshot(dags) == before


def test_json_says_why_it_was_refused(project, tmp_path, capsys) -> None:
    _, dags = project
    capsys.readouterr()
    wrong = other_project(tmp_path)
    assert sync(wrong, dags, "--json") == 1
    data = json.loads(capsys.readouterr().out)
    assert data["written"] == [] and data["pruned"] == [] and data["failures"] == []
    refused = data["refused"]
    assert refused["reason"] == "prune-all"
    assert refused["packages_dir"] == str(wrong)
    assert (refused["owned"], refused["would_prune"]) == (4, [f"sales__{n}.py" for n in JOBS])
    assert "refusing to sync" in refused["message"]


def test_an_empty_packages_folder_is_refused_when_dags_exist(project, tmp_path, capsys) -> None:
    _, dags = project
    before = snapshot(dags)
    empty = tmp_path / "empty"
    empty.mkdir()
    capsys.readouterr()
    assert sync(empty, dags) == 1
    err = capsys.readouterr().err
    assert f"packages folder {empty}" in err and "it has no job modules (*/jobs/*.py)" in err
    assert snapshot(dags) == before


def test_an_empty_packages_folder_of_a_fresh_project_is_fine(packages, tmp_path) -> None:
    assert sync(packages, tmp_path / "dags") == 0


@pytest.mark.parametrize("dags_exist", [True, False])
def test_a_missing_packages_folder_is_always_an_error(
    project, tmp_path, capsys, dags_exist
) -> None:
    _, dags = project
    if not dags_exist:
        dags = tmp_path / "fresh_dags"
    before = snapshot(dags) if dags_exist else {}
    missing = tmp_path / "nope"
    capsys.readouterr()
    # Not even --allow-mass-prune: a folder that is not there is never what was meant.
    assert sync(missing, dags, "--allow-mass-prune", "--json") == 1
    out, err = capsys.readouterr()
    owned = 4 if dags_exist else 0
    assert f"packages folder {missing} does not exist" in err
    assert f"would prune {owned} of the {owned} dagplane-owned DAGs in {dags}" in err
    assert "fix: create it or pass the correct --packages-dir" in err
    assert json.loads(out)["refused"]["reason"] == "packages-missing"
    if dags_exist:
        assert snapshot(dags) == before
    else:
        assert not dags.exists()


def test_allow_mass_prune_prunes_dags_and_pod_templates(project, tmp_path, capsys) -> None:
    _, dags = project
    wrong = other_project(tmp_path)
    capsys.readouterr()
    assert sync(wrong, dags, "--allow-mass-prune", "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert "refused" not in data
    assert sorted(snapshot(dags)) == [
        "billing__invoices.py",
        "pod_templates/billing__invoices.yaml",
    ]


def test_check_reports_a_would_be_mass_prune_as_a_failure(project, tmp_path, capsys) -> None:
    _, dags = project
    before = snapshot(dags)
    (tmp_path / "empty").mkdir()
    capsys.readouterr()
    assert sync(tmp_path / "empty", dags, "--check") == 1
    assert "refusing to sync" in capsys.readouterr().err
    # With the override it is only stale, still a failure, still nothing written.
    assert sync(tmp_path / "empty", dags, "--check", "--allow-mass-prune") == 1
    assert "is stale" in capsys.readouterr().err
    assert snapshot(dags) == before


@pytest.mark.parametrize(
    ("removed", "flags", "code"),
    [
        (2, (), 0),  # 2 of 4 is 50%: not more than half
        (3, (), 1),  # 3 of 4 is 75%
        (3, ("--max-prune-share", "0.75"), 0),
        (4, ("--max-prune-share", "1"), 1),  # all of them is refused whatever the share
        (1, ("--max-prune-share", "0"), 1),
    ],
)
def test_the_share_threshold_at_the_cli(project, capsys, removed, flags, code) -> None:
    packages, dags = project
    for name in JOBS[:removed]:
        (packages / "sales" / "jobs" / f"{name}.py").unlink()
    assert sync(packages, dags, *flags) == code
    left = sorted(p.name for p in dags.glob("*.py"))
    expected = [f"sales__{n}.py" for n in (JOBS if code else JOBS[removed:])]
    assert left == expected
    if code:
        assert f"would prune {removed} of the 4 dagplane-owned DAGs" in capsys.readouterr().err


def test_the_share_comes_from_pyproject_then_the_environment(
    project, tmp_path, monkeypatch
) -> None:
    packages, dags = project
    for name in JOBS[:3]:
        (packages / "sales" / "jobs" / f"{name}.py").unlink()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[tool.dagplane]\nmax-prune-share = 0.5\n")
    monkeypatch.setenv("DAGPLANE__MAX_PRUNE_SHARE", "0.8")
    assert load_config().max_prune_share == 0.8
    monkeypatch.delenv("DAGPLANE__MAX_PRUNE_SHARE")
    assert sync(packages, dags) == 1  # 75% > 0.5 from pyproject
    (tmp_path / "pyproject.toml").write_text("[tool.dagplane]\nmax-prune-share = 0.75\n")
    assert sync(packages, dags) == 0
    assert [p.name for p in dags.glob("*.py")] == ["sales__d.py"]


@pytest.mark.parametrize("value", ["1.5", "-0.1", "half", "nan"])
def test_a_bad_share_is_a_config_error(tmp_path, monkeypatch, value) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DAGPLANE__MAX_PRUNE_SHARE", value)
    with pytest.raises(ConfigError, match="DAGPLANE__MAX_PRUNE_SHARE must be a number from 0 to 1"):
        load_config()


def guard(owned: int, pruned: int, share: float = 0.5, jobs: int = 1):
    report = WriteReport(pruned=[f"p{i}.py" for i in range(pruned)])
    report.pruned += [f"pod_templates/p{i}.yaml" for i in range(pruned)]  # never counted
    return prune_guard(
        report,
        owned=owned,
        jobs_found=jobs,
        packages_dir=Path("pk"),
        dags_dir=Path("dg"),
        max_share=share,
    )


@pytest.mark.parametrize(
    ("owned", "pruned", "share", "reason"),
    [
        (0, 0, 0.5, None),
        (5, 0, 0.0, None),
        (1, 1, 0.5, "prune-all"),  # every owned DAG, however few
        (2, 1, 0.5, None),
        (3, 2, 0.5, None),  # 67%, but fewer than 4 owned: only "all" is refused
        (3, 3, 0.5, "prune-all"),
        (4, 2, 0.5, None),  # exactly the share is allowed
        (4, 3, 0.5, "prune-share"),
        (10, 5, 0.5, None),
        (10, 6, 0.5, "prune-share"),
        (10, 3, 0.3, None),
        (10, 4, 0.3, "prune-share"),
        (4, 3, 1.0, None),
        (4, 4, 1.0, "prune-all"),
        (4, 1, 0.0, "prune-share"),
    ],
)
def test_prune_guard_boundaries(owned, pruned, share, reason) -> None:
    refusal = guard(owned, pruned, share)
    assert (refusal.reason if refusal else None) == reason
    if refusal:
        assert refusal.would_prune == [f"p{i}.py" for i in range(pruned)]
        assert f"would prune {pruned} of the {owned} dagplane-owned DAGs" in str(refusal)


def test_prune_guard_names_an_empty_packages_folder() -> None:
    refusal = guard(4, 4, jobs=0)
    assert refusal is not None and refusal.reason == "no-jobs"
    assert str(refusal).startswith("refusing to sync packages folder pk into dg: ")


class Watch:
    """A running ``dagplane sync --watch`` with its stderr in a file."""

    def __init__(self, cwd: Path, *flags: str) -> None:
        self.log = cwd / "watch.log"
        self._err = self.log.open("w", encoding="utf-8")
        argv = [sys.executable, "-m", "dagplane.cli", "sync", "--watch", *flags]
        argv += ["--packages-dir", "packages", "--dags-dir", "dags"]
        self.proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=self._err)

    def lines(self) -> list[str]:
        return self.log.read_text(encoding="utf-8").splitlines()

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=10)
        finally:
            self._err.close()


def wait_for(condition: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_watch_keeps_the_dags_while_the_packages_folder_is_gone_and_recovers(
    write_job, packages, tmp_path
) -> None:
    for name in JOBS:
        write_job("sales", name, GOOD)
    dags = tmp_path / "dags"
    w = Watch(tmp_path, "--interval", "1")
    try:
        assert wait_for(lambda: len(list(dags.glob("*.py"))) == 4)
        before = snapshot(dags)
        aside = tmp_path / "packages.away"
        packages.rename(aside)
        refused = "sync refused, files left as they were: refusing to sync: packages folder"
        assert wait_for(lambda: any(refused in line for line in w.lines()))
        time.sleep(2.5)  # more refused passes
        assert w.proc.poll() is None, "a refused pass must never end the watch"
        assert snapshot(dags) == before
        errors = [line for line in w.lines() if "error:" in line]
        assert len(errors) == 1, "the same refusal is logged once, not every pass"
        assert f"{packages} does not exist" in errors[0]
        assert "would prune 4 of the 4 dagplane-owned DAGs" in errors[0]
        aside.rename(packages)
        (packages / "sales" / "jobs" / "a.py").unlink()  # a real, small change comes through
        assert wait_for(lambda: any("recovered" in line for line in w.lines()))
        assert wait_for(lambda: not (dags / "sales__a.py").exists())
        assert sorted(p.name for p in dags.glob("*.py")) == [
            "sales__b.py",
            "sales__c.py",
            "sales__d.py",
        ]
    finally:
        code = w.stop()
    assert code == 0
    assert w.lines()[-1].endswith(" stopped")


def test_watch_refuses_an_emptied_packages_folder(write_job, packages, tmp_path) -> None:
    for name in JOBS:
        write_job("sales", name, GOOD)
    dags = tmp_path / "dags"
    w = Watch(tmp_path, "--interval", "0.2")
    try:
        assert wait_for(lambda: len(list(dags.glob("*.py"))) == 4)
        shutil.move(packages / "sales", tmp_path / "sales.away")  # the folder stays, empty
        assert wait_for(lambda: any("it has no job modules" in line for line in w.lines()))
        assert len(list(dags.glob("*.py"))) == 4
        assert len(list((dags / "pod_templates").glob("*.yaml"))) == 4
    finally:
        assert w.stop() == 0
