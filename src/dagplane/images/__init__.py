"""Job images: one small image per image group, built from locks only, tagged by content;
and the control-plane image that runs ``dagplane sync``.

Jobs name their image (``JOB.image``, by default the package name); the jobs that share a
name share one image. Where its pieces come from:

- **Python dependencies**: each package declares what its jobs need in
  ``packages/<pkg>/pyproject.toml`` and locks it with ``uv lock`` into ``packages/<pkg>/uv.lock``
  (the one source of truth). dagplane itself is a path dependency there, so the lock also
  pins dagplane's own core dependencies (pydantic, click, ...). ``dagplane images render``
  exports the lock (``uv export --frozen``) into ``images/<image>/requirements.txt``: every
  package pinned with its hashes. The Dockerfile installs exactly that list with
  ``pip --no-deps --require-hashes --only-binary=:all:``: nothing is resolved at build time.
- **No conflict with the base image's Airflow**: the task runs inside Airflow's own
  interpreter, so the job's packages must suit the Airflow installed there. Each package
  pyproject has a ``base`` dependency group pinning ``apache-airflow`` to the control plane's
  exact version (checked against the root ``uv.lock``); the lock resolves the job's
  dependencies *together with* that Airflow (and the Kubernetes provider its workers run),
  so every package both need is locked at a version they accept. The ``base`` group is never
  exported: Airflow itself comes from the base image. The packages go to
  ``/opt/dagplane/site`` (first on ``PYTHONPATH``). A package that another provider of the
  base image pins tighter than Airflow does needs that provider in ``base`` too.
- **dagplane's runtime**: in this repository dagplane's source (``src/dagplane``) is copied
  in, so the image runs exactly the committed source (and the tag covers it). A project that
  installs dagplane from an index locks it like any other dependency instead.
- **Base image**: ``apache/airflow:<the control plane's exact Airflow version>``; the
  ``BASE_IMAGE`` build argument swaps it (a mirror, a stand-in in tests). Python packages
  are installed and byte-compiled in a build stage; the runtime stage only copies the
  result, root-owned, and runs as the numeric user 50000 (as the official image does).
- **Tags**: ``sha-<12 hex>``, a sha256 over the packages' files (jobs, helpers, pyproject,
  lock), the base image reference, dagplane's version and source. Same inputs, same tag;
  never ``latest``. ``image_reference`` gives the full reference a worker pod should run.

The **control-plane image** (``images/control-plane/``, ``control_plane_image``) runs
``dagplane sync`` in the cluster: a ``python:3.11-slim-bookworm`` base (``BASE_IMAGE``), the
root lock's core dependencies only (``uv export --no-default-groups``: no Airflow, no job
dependencies), dagplane's source and the job packages (read, never imported), user 50000.
Its tag hashes all of those, so a changed job moves it.

Configuration (``[tool.dagplane]`` or ``DAGPLANE__<KEY>``): ``registry`` (default
``ghcr.io``), ``image-owner`` (default ``example-org``) and ``images-dir`` (default
``images``); the repository of image ``<image>`` is
``<registry>/<image-owner>/<project>-<image>``, ``<project>`` being the root pyproject's
name. A private registry needs its pull credentials in the cluster (``imagePullSecrets`` on
the worker pods) and, for the workflow, ``REGISTRY_USERNAME`` / ``REGISTRY_PASSWORD``
repository secrets (ghcr.io uses the workflow's own token).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dagplane.images._control_plane import CONTROL_PLANE, CONTROL_PLANE_PROJECT
from dagplane.images._render import (
    RUNTIME_UID,
    WORKFLOW_NAME,
    render_dockerfile,
    render_dockerignore,
    render_requirements,
    render_workflow,
)
from dagplane.images._spec import (
    IMAGE_EXCLUDES,
    ImageSpec,
    airflow_version,
    content_tag,
    image_specs,
)

if TYPE_CHECKING:
    from pathlib import Path

    from dagplane.config import ProjectConfig
    from dagplane.jobs.discovery import DiscoveryResult
    from dagplane.write import OutputSet

__all__ = [
    "CONTROL_PLANE",
    "CONTROL_PLANE_PROJECT",
    "IMAGE_EXCLUDES",
    "RUNTIME_UID",
    "WORKFLOW_NAME",
    "ImageSpec",
    "airflow_version",
    "content_tag",
    "control_plane_image",
    "control_plane_spec",
    "find_image",
    "image_outputs",
    "image_reference",
    "image_references",
    "image_specs",
    "render_dockerfile",
    "render_dockerignore",
    "render_requirements",
    "render_workflow",
]


def image_outputs(discovery: DiscoveryResult, config: ProjectConfig) -> dict[str, OutputSet]:
    """The ``images`` (Dockerfiles, their ignore files, requirement lists) and ``workflow``
    outputs of the plan.

    Reads the locks (``uv export``) and hashes the sources; rendering itself is pure.
    """
    from dagplane.errors import ImageError
    from dagplane.images._control_plane import (
        export_control_plane_requirements,
        render_control_plane_dockerfile,
        render_control_plane_dockerignore,
    )
    from dagplane.images._requirements import export_requirements
    from dagplane.write import OutputSet

    specs = image_specs(discovery, config)
    if any(spec.name == CONTROL_PLANE for spec in specs):
        raise ImageError(
            f"the image name {CONTROL_PLANE!r} is dagplane's own (fix: give the jobs that use "
            "it another JOB.image)"
        )
    files: dict[str, str] = {}
    for spec in specs:
        requirements = export_requirements(spec, config.root)
        files[f"{spec.name}/requirements.txt"] = render_requirements(spec, requirements)
        files[f"{spec.name}/Dockerfile"] = render_dockerfile(spec)
        files[f"{spec.name}/Dockerfile.dockerignore"] = render_dockerignore(spec)
    control = control_plane_spec(config)
    requirements = export_control_plane_requirements(config.root)
    files[f"{CONTROL_PLANE}/requirements.txt"] = render_requirements(control, requirements)
    files[f"{CONTROL_PLANE}/Dockerfile"] = render_control_plane_dockerfile(control)
    files[f"{CONTROL_PLANE}/Dockerfile.dockerignore"] = render_control_plane_dockerignore(control)
    tags = {spec.name: content_tag(spec, config.root) for spec in [*specs, control]}
    # Last in the matrix: the job images keep their places.
    workflow = render_workflow([*specs, control], tags, registry=config.registry)
    # While a job module is broken its image may be missing from the specs: prune nothing.
    keep = frozenset()
    if discovery.failures and config.images_dir.is_dir():
        keep = frozenset(
            p.relative_to(config.images_dir).as_posix() for p in config.images_dir.glob("*/*")
        )
    return {
        "images": OutputSet(config.images_dir, files, pattern="*/*", keep=keep),
        "workflow": OutputSet(
            config.root / ".github" / "workflows",
            {WORKFLOW_NAME: workflow},
            pattern=WORKFLOW_NAME,
        ),
    }


def find_image(specs: list[ImageSpec], name: str) -> ImageSpec:
    """The spec of image ``name``, or an ``ImageError`` listing the images there are."""
    from dagplane.errors import ImageError

    for spec in specs:
        if spec.name == name:
            return spec
    known = ", ".join(s.name for s in specs) or "none"
    raise ImageError(f"no job uses an image named {name!r} (images: {known})")


def image_references(
    config: ProjectConfig, discovery: DiscoveryResult | None = None
) -> dict[str, str]:
    """``{image name: "<registry>/<owner>/<project>-<image>:sha-<12 hex>"}`` for every image."""
    if discovery is None:
        from dagplane.jobs.discovery import discover

        discovery = discover(config.packages_dir, root=config.root)
    return {
        spec.name: f"{spec.repository}:{content_tag(spec, config.root)}"
        for spec in image_specs(discovery, config)
    }


def image_reference(
    config: ProjectConfig,
    image_name: str,
    root: Path | None = None,
    *,
    discovery: DiscoveryResult | None = None,
) -> str:
    """The full, immutable reference a worker pod of image ``image_name`` runs.

    ``<registry>/<owner>/<project>-<image>:sha-<12 hex>``, never ``latest``. ``root``
    defaults to ``config.root``; pass ``discovery`` to reuse one already made.
    """
    from dataclasses import replace

    if root is not None and root != config.root:
        config = replace(config, root=root)
    if discovery is None:
        from dagplane.jobs.discovery import discover

        discovery = discover(config.packages_dir, root=config.root)
    spec = find_image(image_specs(discovery, config), image_name)
    return f"{spec.repository}:{content_tag(spec, config.root)}"


def control_plane_spec(config: ProjectConfig) -> ImageSpec:
    """The spec of the control-plane image (``dagplane sync`` in the cluster); it builds with
    the same ``build_command`` as the job images."""
    from dagplane.images._control_plane import control_plane_spec as spec

    return spec(config)


def control_plane_image(config: ProjectConfig) -> str:
    """The full, immutable reference of the control-plane image.

    ``<registry>/<owner>/<project>-control-plane:sha-<12 hex>``: the tag hashes its Dockerfile,
    the root ``pyproject.toml`` and ``uv.lock`` (its requirements), dagplane's source and the
    job packages, so any job change moves it.
    """
    spec = control_plane_spec(config)
    return f"{spec.repository}:{content_tag(spec, config.root)}"
