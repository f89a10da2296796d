"""`dagplane sync --watch` as the sidecar runs it: a real process, real signals, real files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dagplane.dags.sync import read_owner

GOOD = "from dagplane import Job\n\ndef run(ctx):\n    return 0\n\nJOB = Job(entrypoint=run)\n"


class Watch:
    """A running ``dagplane sync --watch`` and its stderr log."""

    def __init__(self, cwd: Path, *flags: str, env: dict[str, str] | None = None) -> None:
        self.log = cwd / "watch.log"
        self._err = self.log.open("w", encoding="utf-8")
        argv = [sys.executable, "-m", "dagplane.cli", "sync", "--watch", *flags]
        argv += ["--packages-dir", "packages", "--dags-dir", "dags"]
        self.proc = subprocess.Popen(
            argv,
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=self._err,
            env={**os.environ, **(env or {})},
        )

    def lines(self) -> list[str]:
        return self.log.read_text(encoding="utf-8").splitlines()

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=10)
        finally:
            self._err.close()


@pytest.fixture
def project(packages: Path, write_job) -> Iterator[Path]:
    write_job("sales", "orders", GOOD)
    yield packages.parent


@pytest.fixture
def watch(project: Path) -> Iterator[Callable[..., Watch]]:
    started: list[Watch] = []

    def start(*flags: str, env: dict[str, str] | None = None) -> Watch:
        started.append(Watch(project, *flags, env=env))
        return started[-1]

    yield start
    for w in started:
        if w.proc.poll() is None:
            w.proc.kill()
            w.proc.wait(timeout=10)


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_a_new_job_appears_within_seconds_and_sigterm_exits_0(project, watch, write_job) -> None:
    dags = project / "dags"
    w = watch("--interval", "1")
    assert wait_for(lambda: (dags / "sales__orders.py").exists())
    write_job("sales", "leads", GOOD)
    started = time.monotonic()
    assert wait_for(lambda: (dags / "sales__leads.py").exists(), timeout=5)
    assert time.monotonic() - started < 5
    assert read_owner(dags / "sales__leads.py") == "packages/sales/jobs/leads.py"
    assert wait_for(lambda: any("sales__leads.py" in line for line in w.lines()))
    assert w.stop(signal.SIGTERM) == 0
    lines = w.lines()
    assert lines[-1].endswith(" stopped")
    # One line per pass that changed something; the passes in between said nothing.
    changed = [line for line in lines if ": wrote " in line]
    assert len(changed) == 2, lines
    assert "wrote 2, pruned 0, kept 0" in changed[0] and "sales__orders.py" in changed[0]


def test_a_broken_module_keeps_its_last_good_dag_and_the_watch_running(
    project, watch, write_job
) -> None:
    dags = project / "dags"
    w = watch("--interval", "0.2")
    assert wait_for(lambda: (dags / "sales__orders.py").exists())
    good = (dags / "sales__orders.py").read_text(encoding="utf-8")
    write_job("sales", "orders", "JOB = Job(\n")
    assert wait_for(lambda: any("syntax error" in line for line in w.lines()))
    time.sleep(1)  # several bad passes
    assert w.proc.poll() is None, "a bad pass must never end the watch"
    assert (dags / "sales__orders.py").read_text(encoding="utf-8") == good
    errors = [line for line in w.lines() if "error:" in line]
    assert len(errors) == 1, "the same problem is logged once, not every pass"
    write_job("sales", "orders", GOOD.replace("run)", 'run, schedule="@hourly")'))
    assert wait_for(lambda: (dags / "sales__orders.py").read_text(encoding="utf-8") != good)
    assert wait_for(lambda: any("recovered" in line for line in w.lines()))
    assert w.stop(signal.SIGINT) == 0  # Ctrl-C is a clean stop too


def test_an_unwritable_dag_folder_is_logged_and_retried(project, watch) -> None:
    dags = project / "dags"
    dags.mkdir()
    blocker = dags / "pod_templates"
    blocker.write_text("not a folder\n", encoding="utf-8")  # every pass fails with an OSError
    w = watch("--interval", "0.2")
    assert wait_for(lambda: any("sync failed, files left as they were" in ln for ln in w.lines()))
    time.sleep(0.6)
    assert w.proc.poll() is None
    blocker.unlink()
    assert wait_for(lambda: (blocker / "sales__orders.yaml").exists())
    assert w.stop() == 0


def test_the_interval_comes_from_the_environment(project, watch) -> None:
    w = watch(env={"DAGPLANE__SYNC_INTERVAL": "0.5"})
    assert wait_for(lambda: any("every 0.5s" in line for line in w.lines()))
    assert w.stop() == 0
