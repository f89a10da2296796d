"""``check secrets``: every DAG's pod template reads only what its job declared."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from dagplane.pods import pod_template_filename
from dagplane.secrets._refs import secret_problems

if TYPE_CHECKING:
    from pathlib import Path

    from dagplane.config import ProjectConfig
    from dagplane.jobs.discovery import DiscoveryResult

__all__ = ["check_pod_templates", "load_pod_template"]


def load_pod_template(path: Path) -> dict[str, Any]:
    """A pod template file as a dict (YAML when PyYAML is installed, else its JSON form)."""
    text = path.read_text(encoding="utf-8")
    try:
        import yaml
    except ImportError:  # pragma: no cover - PyYAML comes with Airflow; dagplane writes JSON
        body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
        return json.loads(body)
    return yaml.safe_load(text) or {}


def check_pod_templates(discovery: DiscoveryResult, config: ProjectConfig) -> list[str]:
    """One line per Secret or key a DAG's pod references beyond its job's declaration."""
    problems = []
    for spec in sorted(discovery.jobs, key=lambda s: s.dag_id):
        path = config.dags_dir / pod_template_filename(spec)
        if not path.is_file():
            problems.append(f"DAG {spec.dag_id}: no pod template at {path} (run `dagplane sync`)")
            continue
        try:
            pod = load_pod_template(path)
        except (OSError, ValueError) as exc:
            problems.append(f"DAG {spec.dag_id}: cannot read {path}: {exc}")
            continue
        allowed = {n: list(k) for s in spec.options.secrets for n, k in s.sources().items()}
        problems.extend(secret_problems(spec.dag_id, pod, allowed))
    return problems
