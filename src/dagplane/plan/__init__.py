"""The plan: everything dagplane generates from the discovered job specs, in one place.

``build_plan`` turns a ``DiscoveryResult`` and the project configuration into one
``OutputSet`` per kind of generated file: ``dags`` (DAG files), ``images`` (a Dockerfile and a
hashed requirement list per image), ``workflow`` (the GitHub Actions workflow that builds the
images); pod specs and secret manifests as they are added. Planning reads the inputs a kind
needs (the image locks, through ``uv export``); renderers are pure; only
``dagplane.write.write_outputs`` touches the disk, so every kind gets the same safety:
atomic, write-if-changed, ownership marker, owned-only prune, ``--check``.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dagplane.dags.sync import dag_outputs

if TYPE_CHECKING:
    from dagplane.config import ProjectConfig
    from dagplane.jobs.discovery import DiscoveryResult
    from dagplane.write import OutputSet

__all__ = ["KINDS", "Plan", "build_plan"]

KINDS = ("dags", "images", "workflow")


@dataclass(frozen=True)
class Plan:
    """The generated files of a project, by kind (``"dags"``, ...)."""

    outputs: dict[str, OutputSet]


def build_plan(
    discovery: DiscoveryResult, config: ProjectConfig, kinds: Collection[str] | None = None
) -> Plan:
    """Render every kind of generated file (or only ``kinds``) for the discovered jobs.

    Writes nothing; the ``images`` and ``workflow`` kinds read the package locks.
    """
    wanted = set(KINDS if kinds is None else kinds)
    unknown = wanted - set(KINDS)
    if unknown:
        raise ValueError(f"unknown plan kinds {sorted(unknown)} (known: {', '.join(KINDS)})")
    outputs: dict[str, OutputSet] = {}
    if "dags" in wanted:
        outputs["dags"] = dag_outputs(discovery, config.dags_dir)
    if wanted & {"images", "workflow"}:
        from dagplane.images import image_outputs

        images = image_outputs(discovery, config)
        outputs.update({kind: images[kind] for kind in ("images", "workflow") if kind in wanted})
    return Plan(outputs=outputs)
