"""The plan: everything dagplane generates from the discovered job specs, in one place.

``build_plan`` turns a ``DiscoveryResult`` and the project configuration into one
``OutputSet`` per kind of generated file (DAG files today; Dockerfiles, the image workflow,
pod specs and secret manifests as they are added). Renderers are pure; only
``dagplane.write.write_outputs`` touches the disk, so every kind gets the same safety:
atomic, write-if-changed, ownership marker, owned-only prune, ``--check``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from dagplane.dags.sync import dag_outputs

if TYPE_CHECKING:
    from dagplane.config import ProjectConfig
    from dagplane.jobs.discovery import DiscoveryResult
    from dagplane.write import OutputSet

__all__ = ["Plan", "build_plan"]


@dataclass(frozen=True)
class Plan:
    """The generated files of a project, by kind (``"dags"``, ...)."""

    outputs: dict[str, OutputSet]


def build_plan(discovery: DiscoveryResult, config: ProjectConfig) -> Plan:
    """Render every kind of generated file for the discovered jobs (no I/O)."""
    return Plan(outputs={"dags": dag_outputs(discovery, config.dags_dir)})
