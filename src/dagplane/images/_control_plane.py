"""The control-plane image: dagplane's core (discover, sync, render), no Airflow, no job deps.

It runs ``dagplane sync`` in the cluster (sidecar, init container or CronJob), so it holds the
project as ``dagplane sync`` sees it in the repository: the root ``pyproject.toml`` and
``uv.lock`` (the registry, the owner and the Airflow version the worker image tags hash), the
job packages with their locks, and dagplane's source. Same files, same DAGs and pod templates
as a sync in the repository. Python packages are the root lock's core dependencies only.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from dagplane.errors import ImageError
from dagplane.images._spec import ImageSpec, _rel, project_name

if TYPE_CHECKING:
    from dagplane.config import ProjectConfig

__all__ = [
    "CONTROL_PLANE",
    "CONTROL_PLANE_BASE",
    "CONTROL_PLANE_PROJECT",
    "control_plane_spec",
    "export_control_plane_requirements",
    "render_control_plane_dockerfile",
    "render_control_plane_dockerignore",
]

CONTROL_PLANE = "control-plane"
# Exact and digest-free: the build argument BASE_IMAGE swaps it (a mirror, a pinned digest).
CONTROL_PLANE_BASE = "python:3.11-slim-bookworm"
# Where the project lives in the image (the working directory: its pyproject is found there).
CONTROL_PLANE_PROJECT = "/opt/dagplane/project"
_UID = 50000


def control_plane_spec(config: ProjectConfig) -> ImageSpec:
    """The control-plane image of the project: ``<registry>/<owner>/<project>-control-plane``."""
    root = config.root
    images_rel = _rel(config.images_dir, root)
    src = root / "src" / "dagplane"
    extra = ["pyproject.toml", "uv.lock"]
    if config.worker_base is not None:  # pod templates are built on it
        extra.append(_rel(config.worker_base, root))
    return ImageSpec(
        name=CONTROL_PLANE,
        packages=(),
        modules=(),
        repository=f"{config.registry}/{config.image_owner}/{project_name(root)}-{CONTROL_PLANE}",
        base_image=CONTROL_PLANE_BASE,
        package_paths=(_rel(config.packages_dir, root),),
        lock_paths=("uv.lock",),
        dockerfile_path=f"{images_rel}/{CONTROL_PLANE}/Dockerfile",
        requirements_path=f"{images_rel}/{CONTROL_PLANE}/requirements.txt",
        dagplane_path=_rel(src, root) if (src / "__init__.py").is_file() else None,
        kind="control-plane",
        extra_paths=tuple(extra),
    )


def export_control_plane_requirements(root: Path) -> str:
    """The root lock's core dependencies (no dev group, no extras), pinned and hashed."""
    from dagplane.images._requirements import find_uv

    command = [find_uv(), "export", "--frozen", "--no-default-groups", "--no-emit-project"]
    command += ["--no-header", "--no-annotate", "--format", "requirements-txt"]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        detail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise ImageError(
            f"image {CONTROL_PLANE!r}: `uv export` failed in {root}: {detail} "
            "(fix: run `uv lock` in the project root)"
        )
    return done.stdout


def render_control_plane_dockerfile(spec: ImageSpec) -> str:
    """The control plane's Dockerfile; its build context is the project root."""
    project = CONTROL_PLANE_PROJECT
    sources = [*spec.extra_paths, *spec.package_paths]
    if spec.dagplane_path:
        sources.insert(len(spec.extra_paths), spec.dagplane_path)
    copies = "\n".join(f"COPY {path} /tmp/project/{path}" for path in sources)
    python_path = "/opt/dagplane/site"
    compiled = "/tmp/site"
    if spec.dagplane_path:
        python_path += f":{project}/{Path(spec.dagplane_path).parent.as_posix()}"
        compiled += f" /tmp/project/{spec.dagplane_path}"
    body = f"""\
# The control-plane image: dagplane's core (discover, sync, render), no Airflow, no job deps.
# Build from the project root: docker build -f {spec.dockerfile_path} .
# Everything comes from the root lock: hashed pins, no dependency resolution, wheels only.
ARG BASE_IMAGE={spec.base_image}

# Build stage: install the locked packages, add the project, byte-compile dagplane and its
# packages (the root filesystem is read-only at run time).
FROM ${{BASE_IMAGE}} AS build
COPY {spec.requirements_path} /tmp/requirements.txt
RUN python -m pip install --no-cache-dir --no-deps --require-hashes --only-binary=:all: \\
        --no-compile --disable-pip-version-check --root-user-action=ignore \\
        --target /tmp/site -r /tmp/requirements.txt
{copies}
# Job modules are read, never imported: one with a syntax error must not break this build.
RUN python -m compileall -q --invalidation-mode unchecked-hash {compiled}

# Runtime stage: the base image plus the compiled tree, root-owned, run as user {_UID}.
FROM ${{BASE_IMAGE}}
COPY --from=build --chown=0:0 /tmp/site /opt/dagplane/site
COPY --from=build --chown=0:0 /tmp/project {project}
ENV PYTHONPATH={python_path} \\
    PYTHONDONTWRITEBYTECODE=1 \\
    PYTHONUNBUFFERED=1
WORKDIR {project}
# Numeric, as runAsNonRoot checks it; no passwd entry, so its group is 0 (as in Airflow's).
USER {_UID}
# The lock's pins must fit together and the CLI must load: fail the build, not a sync.
RUN python -m pip check --disable-pip-version-check \\
 && python -m dagplane.cli --help > /dev/null
ENTRYPOINT ["python", "-m", "dagplane.cli"]
"""
    from dagplane.images._render import owned_dockerfile

    return owned_dockerfile(spec, body, sources)


def render_control_plane_dockerignore(spec: ImageSpec) -> str:
    """``<Dockerfile>.dockerignore``: only what the control-plane image copies in."""
    from dagplane.images._render import render_dockerignore

    return render_dockerignore(spec)
