"""The plan: everything dagplane generates from the discovered job specs, in one place.

``build_plan`` turns a ``DiscoveryResult`` and the project configuration into one
``OutputSet`` per kind of generated file: DAG files and their worker pod templates (written
by ``dagplane sync``), the base pod template, the ``airflow_local_settings.py`` that enforces
each DAG's Secret allow-list, and the ExternalSecret manifests (written by
``dagplane render secrets``). Renderers are pure; only ``dagplane.write.write_outputs``
touches the disk, so every kind gets the same safety: atomic, write-if-changed, ownership
marker, owned-only prune, ``--check``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dagplane.dags.sync import dag_outputs
from dagplane.pods import pod_outputs
from dagplane.secrets import deploy_outputs
from dagplane.write import WriteReport, write_outputs

if TYPE_CHECKING:
    from dagplane.config import ProjectConfig
    from dagplane.jobs.discovery import DiscoveryResult
    from dagplane.write import OutputSet

__all__ = ["SYNC_KINDS", "Plan", "build_plan", "write_plan"]

# What `dagplane sync` writes: the DAG folder (DAG files and their pod templates).
SYNC_KINDS = ("dags", "pod_templates")


@dataclass(frozen=True)
class Plan:
    """The generated files of a project, by kind (``"dags"``, ``"pod_templates"``, ...)."""

    outputs: dict[str, OutputSet]


def build_plan(discovery: DiscoveryResult, config: ProjectConfig) -> Plan:
    """Render every kind of generated file for the discovered jobs (no I/O)."""
    return Plan(
        outputs={
            "dags": dag_outputs(discovery, config.dags_dir),
            "pod_templates": pod_outputs(discovery, config),
            **deploy_outputs(discovery, config),
        }
    )


def write_plan(plan: Plan, kinds: Iterable[str], *, check: bool = False) -> WriteReport:
    """Write the chosen kinds; one report whose names are relative to the first kind's folder
    (``pod_templates/x.yaml`` beside ``x.py``)."""
    kinds = list(kinds)
    base = plan.outputs[kinds[0]].folder
    total = WriteReport()
    for kind in kinds:
        output = plan.outputs[kind]
        report = write_outputs(output, check=check)
        try:
            prefix = output.folder.relative_to(base).as_posix()
        except ValueError:
            prefix = output.folder.as_posix()
        prefix = "" if prefix == "." else prefix + "/"
        for name in ("written", "unchanged", "pruned", "kept", "conflicts"):
            getattr(total, name).extend(prefix + n for n in getattr(report, name))
    return total
