"""The image a job's worker pod runs: the images stage's content-tagged reference.

``pod_images`` computes every image's reference once per plan (a tag hashes the package
sources and dagplane's own, so once is what a 1,000-job sync can afford). Where an image
cannot be built yet (its package has no ``pyproject.toml`` or ``uv.lock``), the pods still get
a content tag, over the package sources and dagplane alone: sync never fails on image grounds,
and ``dagplane images render`` says what is missing.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from dagplane import __version__
from dagplane.errors import ImageError
from dagplane.images._spec import tree_files

if TYPE_CHECKING:
    from pathlib import Path

    from dagplane.config import ProjectConfig
    from dagplane.jobs.discovery import DiscoveryResult
    from dagplane.jobs.spec import JobSpec

__all__ = ["image_for", "pod_images"]


def pod_images(discovery: DiscoveryResult, config: ProjectConfig) -> dict[str, str]:
    """``{image name: full reference}`` for every image the discovered jobs run."""
    from dagplane.images import image_references

    try:
        return image_references(config, discovery)
    except ImageError:
        return _unbuilt_references(discovery, config)


def image_for(
    spec: JobSpec,
    config: ProjectConfig,
    root: Path | None = None,
    images: Mapping[str, str] | None = None,
) -> str:
    """The full image reference ``spec``'s pods run (from ``images`` when given)."""
    if images is None:
        from dagplane.jobs.discovery import discover

        images = pod_images(discover(config.packages_dir, root=root or config.root), config)
    return images[spec.image]


def _unbuilt_references(discovery: DiscoveryResult, config: ProjectConfig) -> dict[str, str]:
    root = config.root
    project = re.sub(r"[^a-z0-9]+", "-", root.name.lower()).strip("-") or "dagplane"
    base = hashlib.sha256(__version__.encode())
    src = root / "src" / "dagplane"
    for file in tree_files(src) if src.is_dir() else []:
        base.update(file.relative_to(src).as_posix().encode() + b"\0" + file.read_bytes())
    references = {}
    for name in sorted({spec.image for spec in discovery.jobs}):
        digest = base.copy()
        digest.update(name.encode())
        for package in sorted({s.package for s in discovery.jobs if s.image == name}):
            folder = config.packages_dir / package
            for file in tree_files(folder) if folder.is_dir() else []:
                digest.update(file.relative_to(folder).as_posix().encode() + file.read_bytes())
        tag = f"sha-{digest.hexdigest()[:12]}"
        references[name] = f"{config.registry}/{config.image_owner}/{project}-{name}:{tag}"
    return references
