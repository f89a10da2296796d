"""The image a job's worker pod runs (a stand-in until the images stage lands)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from dagplane.config import ProjectConfig
    from dagplane.jobs.spec import JobSpec

__all__ = ["image_for"]


def image_for(spec: JobSpec, config: ProjectConfig, root: Path | None = None) -> str:
    """The full image reference of ``spec``'s image group."""
    # TODO(issue 7, images): return dagplane.images.image_reference(config, spec.image, root)
    # once the images stage provides content-derived tags; this stand-in uses ``:dev``.
    return f"{config.registry}/{config.image_owner}/dagplane-{spec.image}:dev"
