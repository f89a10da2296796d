"""``check secrets``: every DAG's pod template reads only what its job declared."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from dagplane.pods import pod_template_filename
from dagplane.secrets._refs import secret_problems
from dagplane.secrets._render import platform_refs

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
    """One line per Secret or key a DAG's pod references beyond its job's declaration, and
    per job Secret the worker base hands to every pod."""
    platform = platform_refs(config)
    declared = {
        name: spec.dag_id
        for spec in discovery.jobs
        for secret in spec.options.secrets
        for name in secret.sources()
    }
    problems = [
        f"worker base {config.worker_base or '(chart default)'}: Secret {name!r} is in every "
        f"worker pod, but it is DAG {declared[name]}'s (fix: remove it from the worker base; "
        "declare it on the jobs that need it)"
        for name, _ in platform
        if name in declared
    ]
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
        problems.extend(secret_problems(spec.dag_id, pod, allowed, platform))
    return problems
