"""Pure renderers: an image spec in, the text of its Dockerfile or the CI workflow out."""

from __future__ import annotations

from collections.abc import Sequence

from dagplane.images._spec import IMAGE_EXCLUDES, ImageSpec
from dagplane.write import owned_header

__all__ = [
    "RUNTIME_UID",
    "WORKFLOW_NAME",
    "render_dockerfile",
    "render_dockerignore",
    "render_requirements",
    "render_workflow",
]

# The official Airflow image's user: a numeric id, so runAsNonRoot can check it.
RUNTIME_UID = 50000
WORKFLOW_NAME = "dagplane-images.yml"
_REGENERATE = "run `dagplane images render` to update it"


def render_requirements(spec: ImageSpec, requirements: str) -> str:
    """The image's hashed requirement list, with dagplane's ownership header."""
    source = ", ".join(spec.lock_paths)
    header = owned_header(
        requirements, source=source, made_from=source + " (uv export)", regenerate=_REGENERATE
    )
    return header + requirements


def render_dockerfile(spec: ImageSpec) -> str:
    """The Dockerfile of one image; its build context is the project root."""
    copies = []
    if spec.dagplane_path:
        copies.append(f"COPY --chown={RUNTIME_UID}:0 {spec.dagplane_path} /tmp/src/dagplane")
    for path in spec.package_paths:
        name = path.rsplit("/", 1)[-1]
        copies.append(f"COPY --chown={RUNTIME_UID}:0 {path} /tmp/packages/{name}")
    python_path = "/opt/dagplane/site"
    runtime_copies = [
        "COPY --from=build --chown=0:0 /tmp/site /opt/dagplane/site",
        "COPY --from=build --chown=0:0 /tmp/packages /opt/dagplane/packages",
    ]
    if spec.dagplane_path:
        python_path += ":/opt/dagplane/src"
        runtime_copies.insert(1, "COPY --from=build --chown=0:0 /tmp/src /opt/dagplane/src")
    compiled = (
        "/tmp/site /tmp/src /tmp/packages" if spec.dagplane_path else "/tmp/site /tmp/packages"
    )
    jobs = ", ".join(spec.modules)
    modules = ", ".join(repr(m) for m in spec.modules)
    newline = "\n"
    body = f"""\
# Image {spec.name!r}: the jobs {jobs}.
# Build from the project root: docker build -f {spec.dockerfile_path} .
# Everything comes from the lock: hashed pins, no dependency resolution, wheels only.
ARG BASE_IMAGE={spec.base_image}

# Build stage, as the base image's user: install the locked packages, add the sources,
# byte-compile everything (the root filesystem is read-only at run time).
FROM ${{BASE_IMAGE}} AS build
COPY {spec.requirements_path} /tmp/requirements.txt
RUN PIP_USER=false python -m pip install --no-cache-dir --no-deps --require-hashes \\
        --only-binary=:all: --no-compile --target /tmp/site -r /tmp/requirements.txt
{newline.join(copies)}
RUN python -m compileall -q --invalidation-mode unchecked-hash {compiled}

# Runtime stage: the base image plus the compiled tree, root-owned, run as user {RUNTIME_UID}.
FROM ${{BASE_IMAGE}}
{newline.join(runtime_copies)}
ENV PYTHONPATH={python_path} \\
    DAGPLANE__PACKAGES_DIR=/opt/dagplane/packages \\
    PYTHONDONTWRITEBYTECODE=1
USER {RUNTIME_UID}
# The lock's pins sit before the base image's packages on PYTHONPATH: fail the build, not a
# task, if they break Airflow's task runner or any job's imports.
RUN python -m pip check --disable-pip-version-check \\
 && python -c "import airflow.sdk.execution_time.execute_workload, dagplane.jobs.airflow_task; \\
from dagplane.jobs.runtime import load_job; \\
[load_job(m, '/opt/dagplane/packages') for m in ({modules},)]"
"""
    return owned_dockerfile(spec, body, [*spec.package_paths, *spec.lock_paths])


def owned_dockerfile(spec: ImageSpec, body: str, sources: list[str]) -> str:
    """``body`` under the ownership header of ``spec``'s Dockerfile, made from ``sources``."""
    header = owned_header(
        body, source=spec.dockerfile_path, made_from=", ".join(sources), regenerate=_REGENERATE
    )
    return header + body


def render_dockerignore(spec: ImageSpec) -> str:
    """``<Dockerfile>.dockerignore``: the build context holds only what the image copies in
    (BuildKit reads an ignore file named after the Dockerfile; it keeps ``.venv`` and the
    other packages out of the context)."""
    keep = [*spec.extra_paths, spec.requirements_path, *spec.package_paths]
    if spec.dagplane_path:
        keep.insert(0, spec.dagplane_path)
    body = "*\n" + "".join(f"!{path}\n" for path in keep)
    body += "".join(f"{pattern}\n" for pattern in IMAGE_EXCLUDES)
    header = owned_header(
        body,
        source=spec.dockerfile_path + ".dockerignore",
        made_from=spec.dockerfile_path,
        regenerate=_REGENERATE,
    )
    return header + body


def render_workflow(specs: Sequence[ImageSpec], tags: dict[str, str], *, registry: str) -> str:
    """A GitHub Actions workflow that builds every image in a matrix, one registry package
    per image, with a per-image build cache and provenance; it pushes only from main and
    tags, and first checks that the generated files match the generator."""
    include = "".join(
        f"          - image: {s.name}\n"
        f"            dockerfile: {s.dockerfile_path}\n"
        f"            repository: {s.repository}\n"
        f"            tag: {tags[s.name]}\n"
        for s in specs
    )
    if registry == "ghcr.io":
        username, password = "${{ github.actor }}", "${{ secrets.GITHUB_TOKEN }}"
    else:
        username, password = "${{ secrets.REGISTRY_USERNAME }}", "${{ secrets.REGISTRY_PASSWORD }}"
    push = (
        "${{ github.event_name == 'push' && "
        "(github.ref == 'refs/heads/main' || startsWith(github.ref, 'refs/tags/')) }}"
    )
    # The control plane's lock is the root one, which `uv run` above already checks.
    locks = " ".join(sorted({p for s in specs if s.kind == "job" for p in s.package_paths}))
    body = f"""\
name: dagplane images

on:
  push:
    branches: [main]
    tags: ["*"]
  pull_request:
  workflow_dispatch:

permissions:
  contents: read

concurrency:
  group: dagplane-images-${{{{ github.ref }}}}
  cancel-in-progress: true

jobs:
  fresh:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@11d5960a326750d5838078e36cf38b85af677262  # v4.4.0
      - uses: astral-sh/setup-uv@d0cc045d04ccac9d8b7881df0226f9e82c39688e  # v6.8.0
      - name: Generated Dockerfiles and this workflow match the job packages
        run: uv run --no-default-groups dagplane images render --check
      - name: Every package lock matches its pyproject.toml
        run: for dir in {locks}; do (cd "$dir" && uv lock --check); done

  build:
    needs: fresh
    runs-on: ubuntu-latest
    permissions:
      contents: read
      packages: write
      id-token: write
      attestations: write
    env:
      PUSH: {push}
    strategy:
      fail-fast: false
      matrix:
        include:
{include}    steps:
      - uses: actions/checkout@11d5960a326750d5838078e36cf38b85af677262  # v4.4.0
      - uses: docker/setup-buildx-action@8d2750c68a42422c14e847fe6c8ac0403b4cbd6f  # v3.12.0
      - name: Log in to {registry}
        if: env.PUSH == 'true'
        uses: docker/login-action@c94ce9fb468520275223c153574b00df6fe4bcc9  # v3.7.0
        with:
          registry: {registry}
          username: {username}
          password: {password}
      - name: Build ${{{{ matrix.image }}}}
        id: build
        uses: docker/build-push-action@10e90e3645eae34f1e60eeb005ba3a3d33f178e8  # v6.19.2
        with:
          context: .
          file: ${{{{ matrix.dockerfile }}}}
          tags: ${{{{ matrix.repository }}}}:${{{{ matrix.tag }}}}
          push: ${{{{ env.PUSH == 'true' }}}}
          cache-from: type=gha,scope=${{{{ matrix.image }}}}
          cache-to: type=gha,mode=max,scope=${{{{ matrix.image }}}}
          provenance: mode=max
          sbom: true
      - name: Attest the build provenance of ${{{{ matrix.image }}}}
        if: env.PUSH == 'true'
        uses: actions/attest-build-provenance@e8998f949152b193b063cb0ec769d69d929409be  # v2.4.0
        with:
          subject-name: ${{{{ matrix.repository }}}}
          subject-digest: ${{{{ steps.build.outputs.digest }}}}
          push-to-registry: true
"""
    header = owned_header(
        body,
        source=f".github/workflows/{WORKFLOW_NAME}",
        made_from=", ".join(s.dockerfile_path for s in specs) or "no images",
        regenerate=_REGENERATE,
    )
    return header + body
