"""The whole platform on one machine (``dagplane dev``): real Airflow 3, PostgreSQL, the DAG
sync sidecar and the Salesforce emulator, supervised from one process."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from dagplane.dev._layout import Layout, read_state
from dagplane.dev._platform import DevOptions, airflow_env, api_health, run_platform
from dagplane.dev._supervisor import alive, stop_group

__all__ = [
    "DevOptions",
    "Layout",
    "airflow_env",
    "api_health",
    "platform_status",
    "run_platform",
    "stop_platform",
]

# What the API server's health report calls each Airflow component.
_HEALTH_KEYS = {
    "scheduler": "scheduler",
    "triggerer": "triggerer",
    "dag-processor": "dag_processor",
}


def platform_status(workdir: Path) -> dict[str, Any]:
    """Whether each process runs and, for Airflow's, what the API server's health says."""
    layout = Layout(workdir)
    state = read_state(layout)
    report: dict[str, Any] = {"workdir": str(workdir), "running": False, "processes": {}}
    if not state or not alive(state["pid"]):
        report["healthy"] = False
        return report
    health = api_health(state["port"]) or {}
    processes: dict[str, Any] = {
        "supervisor": {"ok": True, "detail": f"pid {state['pid']}"},
    }
    for name, pid in state["children"].items():
        ok, detail = alive(pid), f"pid {pid}"
        if name == "api-server":
            db = health.get("metadatabase", {}).get("status")
            ok = ok and db == "healthy"
            detail += f", metadata database {db or 'unreachable'}"
        elif name in _HEALTH_KEYS:
            component = health.get(_HEALTH_KEYS[name], {})
            beat = component.get(f"latest_{_HEALTH_KEYS[name]}_heartbeat")
            ok = ok and component.get("status") == "healthy"
            detail += f", {component.get('status') or 'no heartbeat'}"
            detail += f" (last heartbeat {beat})" if beat else ""
        processes[name] = {"ok": ok, "pid": pid, "detail": detail}
    report.update(
        running=True,
        ui=state["ui"],
        logs=state["logs"],
        processes=processes,
        healthy=all(p["ok"] for p in processes.values()),
    )
    return report


def stop_platform(workdir: Path, timeout: float = 90.0) -> int | None:
    """Stop the supervisor (which stops its children); kill leftovers if it died. The number
    of processes stopped, or ``None`` when nothing ran from ``workdir``."""
    layout = Layout(workdir)
    state = read_state(layout)
    if not state:
        return None
    pids = [state["pid"], *state["children"].values()]
    if alive(state["pid"]):
        import os
        import signal

        os.kill(state["pid"], signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while alive(state["pid"]) and time.monotonic() < deadline:
            time.sleep(0.3)
    for pid in state["children"].values():  # a supervisor that crashed leaves its children
        if alive(pid):
            stop_group(pid)
    if alive(state["pid"]):
        stop_group(state["pid"])
    layout.state_file.unlink(missing_ok=True)
    return len(pids)
