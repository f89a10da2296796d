"""Child processes of the dev platform: started in their own process groups, logged to files,
restarted when they die (a few times, with a pause), and stopped together."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Child", "ProcessSpec", "Supervisor", "alive", "stop_group"]

MAX_RESTARTS = 3
RESTART_PAUSE = 2.0


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    argv: tuple[str, ...]
    env: dict[str, str]
    cwd: Path


@dataclass
class Child:
    spec: ProcessSpec
    log: Path
    process: subprocess.Popen[bytes]
    restarts: int = 0
    gave_up: bool = False

    @property
    def pid(self) -> int:
        return self.process.pid


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0): read its state where /proc exists.
    with contextlib.suppress(OSError):
        status = Path(f"/proc/{pid}/stat").read_text()
        return status.rsplit(")", 1)[1].split()[0] != "Z"
    return True


def stop_group(pid: int, timeout: float = 30.0) -> None:
    """SIGTERM the process group led by ``pid``, then SIGKILL what is left after ``timeout``."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


class Supervisor:
    """Starts, watches and stops the platform's processes."""

    def __init__(self, logs: Path, report: Callable[[str], None]) -> None:
        self.logs = logs
        self.report = report
        self.children: list[Child] = []

    def start(self, spec: ProcessSpec) -> Child:
        child = Child(spec, self.logs / f"{spec.name}.log", self._spawn(spec))
        self.children.append(child)
        return child

    def _spawn(self, spec: ProcessSpec) -> subprocess.Popen[bytes]:
        self.logs.mkdir(parents=True, exist_ok=True)
        with (self.logs / f"{spec.name}.log").open("ab") as log:
            return subprocess.Popen(
                list(spec.argv),
                env=spec.env,
                cwd=spec.cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: stopped with everything it starts
            )

    def poll(self) -> None:
        """Restart children that exited (``MAX_RESTARTS`` times each), saying so."""
        for child in self.children:
            code = child.process.poll()
            if code is None or child.gave_up:
                continue
            if child.restarts >= MAX_RESTARTS:
                child.gave_up = True
                self.report(
                    f"{child.spec.name} exited with {code} and was restarted "
                    f"{child.restarts} times; giving up (see {child.log})"
                )
                continue
            child.restarts += 1
            self.report(
                f"{child.spec.name} exited with {code}; restarting it "
                f"({child.restarts}/{MAX_RESTARTS}, log {child.log})"
            )
            time.sleep(RESTART_PAUSE)
            child.process = self._spawn(child.spec)

    def stop_all(self) -> None:
        """Stop every child, newest first, each with its whole process group."""
        for child in reversed(self.children):
            if child.process.poll() is None:
                stop_group(child.pid)
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.process.wait(timeout=5)
