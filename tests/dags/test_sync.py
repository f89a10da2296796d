"""Sync is atomic, idempotent, prunes only its own files and keeps a broken job's last DAG."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from dagplane.cli import main
from dagplane.dags.sync import read_owner, sync_dags
from dagplane.jobs.discovery import discover

GOOD = (
    "from dagplane import Job\n\ndef run(ctx):\n    return 0\n\nJOB = Job(entrypoint=run{extra})\n"
)


@pytest.fixture
def project(write_job, packages, tmp_path):
    write_job("sales", "orders", GOOD.format(extra=', schedule="@hourly"'))
    write_job("sales", "leads", GOOD.format(extra=""))
    dags = tmp_path / "dags"
    return packages, dags


def sync(packages, dags, *flags: str) -> int:
    return main(["sync", "--packages-dir", str(packages), "--dags-dir", str(dags), *flags])


def split_pods(report: dict) -> dict:
    """DAG files under their own keys, pod templates (``pod_templates/``) under ``pod_<key>``."""
    result = {}
    for key, names in report.items():
        if key == "failures":
            result[key] = names
            continue
        result[key] = [n for n in names if not n.startswith("pod_templates/")]
        result["pod_" + key] = [n for n in names if n.startswith("pod_templates/")]
    return result


def sync_json(packages, dags, capsys, *flags: str) -> tuple[int, dict]:
    code = sync(packages, dags, "--json", *flags)
    return code, split_pods(json.loads(capsys.readouterr().out))


def test_first_sync_writes_then_resync_is_a_no_op(project, capsys) -> None:
    packages, dags = project
    code, report = sync_json(packages, dags, capsys)
    assert code == 0
    assert report["written"] == ["sales__leads.py", "sales__orders.py"]
    assert report["pod_written"] == [
        "pod_templates/sales__leads.yaml",
        "pod_templates/sales__orders.yaml",
    ]
    mtimes = {p.name: p.stat().st_mtime_ns for p in dags.rglob("*")}
    code, report = sync_json(packages, dags, capsys)
    assert (code, report["written"], report["pruned"]) == (0, [], [])
    assert report["unchanged"] == ["sales__leads.py", "sales__orders.py"]
    assert {p.name: p.stat().st_mtime_ns for p in dags.rglob("*")} == mtimes


def test_hand_written_dags_are_never_touched_and_only_owned_files_pruned(project, capsys) -> None:
    packages, dags = project
    assert sync(packages, dags) == 0
    hand = dags / "team_dag.py"
    hand.write_text("# hand-written\nfrom airflow.sdk import dag\n")
    (packages / "sales" / "jobs" / "leads.py").unlink()
    code, report = sync_json(packages, dags, capsys)
    assert code == 0
    assert report["pruned"] == ["sales__leads.py"]
    assert report["pod_pruned"] == ["pod_templates/sales__leads.yaml"]
    assert sorted(p.name for p in dags.iterdir() if p.is_file()) == [
        "sales__orders.py",
        "team_dag.py",
    ]
    assert [p.name for p in (dags / "pod_templates").iterdir()] == ["sales__orders.yaml"]
    assert hand.read_text() == "# hand-written\nfrom airflow.sdk import dag\n"


def test_a_hand_written_file_in_the_way_is_a_conflict_not_overwritten(project, capsys) -> None:
    packages, dags = project
    dags.mkdir()
    mine = dags / "sales__orders.py"
    mine.write_text("# mine\n")
    os.utime(mine, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    # --check fails naming the file, and neither touches it nor writes anything else.
    code, report = sync_json(packages, dags, capsys, "--check")
    assert code == 1
    assert report["conflicts"] == ["sales__orders.py"]
    code = sync(packages, dags, "--check")
    err = capsys.readouterr().err
    assert code == 1
    assert "sales__orders.py already exist(s) without dagplane's marker" in err
    assert mine.read_text() == "# mine\n"
    assert mine.stat().st_mtime_ns == 1_000_000_000_000_000_000
    assert sorted(p.name for p in dags.rglob("*")) == ["sales__orders.py"]
    # A real sync refuses to overwrite it too (and writes the job that is not in the way).
    code = sync(packages, dags)
    err = capsys.readouterr().err
    assert code == 1
    assert "sales__orders.py already exist(s) without dagplane's marker" in err
    assert mine.read_text() == "# mine\n"
    assert mine.stat().st_mtime_ns == 1_000_000_000_000_000_000
    assert (dags / "sales__leads.py").exists()


def test_a_broken_module_keeps_its_last_good_dag_and_does_not_hide_others(
    project, write_job, capsys
) -> None:
    packages, dags = project
    assert sync(packages, dags) == 0
    last_good = (dags / "sales__orders.py").read_text()
    write_job("sales", "orders", GOOD.format(extra=', schedule="every hour"'))
    write_job("sales", "new_job", GOOD.format(extra=""))
    code, report = sync_json(packages, dags, capsys)
    assert code == 1
    assert report["kept"] == ["sales__orders.py"]
    assert report["pod_kept"] == ["pod_templates/sales__orders.yaml"]  # its pod stays too
    assert report["written"] == ["sales__new_job.py"]
    assert report["failures"] == [
        "packages/sales/jobs/orders.py:6: JOB.schedule: 'every hour' is not a valid cron "
        "expression (fix: use five fields 'minute hour day-of-month month day-of-week' such as "
        "'0 * * * *', a preset such as '@daily', or None for manual runs)"
    ]
    assert (dags / "sales__orders.py").read_text() == last_good


def test_check_fails_on_a_stale_folder_and_writes_nothing(project, write_job, capsys) -> None:
    packages, dags = project
    assert sync(packages, dags, "--check") == 1
    assert not dags.exists()
    assert sync(packages, dags) == 0
    capsys.readouterr()
    assert sync(packages, dags, "--check") == 0
    write_job("sales", "leads", GOOD.format(extra=', description="changed"'))
    assert sync(packages, dags, "--check") == 1
    assert "is stale: run `dagplane sync`" in capsys.readouterr().err
    assert "changed" not in (dags / "sales__leads.py").read_text()


def test_writes_are_atomic_a_failed_write_leaves_the_old_file(project, monkeypatch) -> None:
    packages, dags = project
    assert sync(packages, dags) == 0
    before = (dags / "sales__orders.py").read_text()
    (packages / "sales" / "jobs" / "orders.py").write_text(
        GOOD.format(extra=', description="new text"')
    )

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        sync_dags(discover(packages), dags)
    assert (dags / "sales__orders.py").read_text() == before
    assert sorted(p.name for p in dags.iterdir() if p.is_file()) == [
        "sales__leads.py",
        "sales__orders.py",
    ]


def test_watch_picks_up_changes_until_stopped(project, write_job) -> None:
    packages, dags = project
    cmd = [sys.executable, "-m", "dagplane.cli", "sync", "--watch", "--interval", "0.2"]
    cmd += ["--packages-dir", str(packages), "--dags-dir", str(dags)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: (dags / "sales__orders.py").exists())
        assert read_owner(dags / "sales__orders.py") == "packages/sales/jobs/orders.py"
        write_job("sales", "added_later", GOOD.format(extra=""))
        assert wait_for(lambda: (dags / "sales__added_later.py").exists())
        (packages / "sales" / "jobs" / "leads.py").unlink()
        assert wait_for(lambda: not (dags / "sales__leads.py").exists())
        assert proc.poll() is None, "watch mode must keep running"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def wait_for(condition, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_fail_static_holds_for_odd_folder_names_and_any_working_directory(
    tmp_path, monkeypatch, capsys
) -> None:
    packages = tmp_path / "my pkgs ünï"
    dags = tmp_path / "dags"
    job = packages / "sales" / "jobs" / "orders.py"
    job.parent.mkdir(parents=True)
    job.write_text(GOOD.format(extra=""))
    assert sync(packages, dags) == 0
    job.write_text(GOOD.format(extra=', schedule="nope"'))
    monkeypatch.chdir(tmp_path)  # another working directory, no pyproject.toml
    code, report = sync_json(packages, dags, capsys)
    assert (code, report["kept"], report["pruned"]) == (1, ["sales__orders.py"], [])


def test_watch_json_prints_one_json_line_per_cycle(project) -> None:
    packages, dags = project
    cmd = [sys.executable, "-m", "dagplane.cli", "sync", "--watch", "--interval", "0.1", "--json"]
    cmd += ["--packages-dir", str(packages), "--dags-dir", str(dags)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        first = split_pods(json.loads(proc.stdout.readline()))
        second = split_pods(json.loads(proc.stdout.readline()))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert first["written"] == ["sales__leads.py", "sales__orders.py"]
    assert second["written"] == [] and len(second["unchanged"]) == 2
