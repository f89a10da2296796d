"""Image specs: which jobs share an image, where its inputs live, and its content tag."""

from __future__ import annotations

import hashlib
import re
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from dagplane import __version__
from dagplane.errors import ImageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

if TYPE_CHECKING:
    from dagplane.config import ProjectConfig
    from dagplane.jobs.discovery import DiscoveryResult

__all__ = [
    "BASE_IMAGE_REPOSITORY",
    "ImageSpec",
    "airflow_version",
    "content_tag",
    "image_specs",
    "project_name",
]

BASE_IMAGE_REPOSITORY = "apache/airflow"
# Never part of an image's source tree, its build context or its tag: hidden files and folders
# (.env, .venv, .git, tool caches), byte code, logs and tests. One list for both uses.
IMAGE_EXCLUDES = ("**/.*", "**/__pycache__", "**/*.pyc", "**/*.log", "**/tests")
_IGNORED_DIRS = frozenset({"__pycache__", "tests"})
_IGNORED_SUFFIXES = frozenset({".pyc", ".log"})


@dataclass(frozen=True)
class ImageSpec:
    """One image: the jobs it runs, the build inputs (paths relative to the project root) and
    the registry repository it is pushed to."""

    name: str
    packages: tuple[str, ...]
    modules: tuple[str, ...]
    repository: str
    base_image: str
    package_paths: tuple[str, ...]
    lock_paths: tuple[str, ...]
    dockerfile_path: str
    requirements_path: str
    # ``src/dagplane`` when dagplane's source is in the project (this repository), so the
    # image gets exactly that source; ``None`` when dagplane comes from the lock instead.
    dagplane_path: str | None
    # ``job``: a worker image on Airflow; ``control-plane``: dagplane's core, no Airflow.
    kind: Literal["job", "control-plane"] = "job"
    # Single files the image copies in as they are (the control plane's pyproject and lock).
    extra_paths: tuple[str, ...] = ()

    @property
    def default_args(self) -> dict[str, str]:
        """Build arguments and their defaults (``BASE_IMAGE``)."""
        return {"BASE_IMAGE": self.base_image}


def project_name(root: Path) -> str:
    """The root ``pyproject.toml``'s ``[project].name`` as a registry path part."""
    data = _toml(root / "pyproject.toml")
    name = data.get("project", {}).get("name")
    if not isinstance(name, str) or not name:
        raise ImageError(
            f"{root / 'pyproject.toml'}: [project].name is missing; image repositories are "
            "named <registry>/<owner>/<project>-<image> (fix: set [project].name)"
        )
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def airflow_version(root: Path) -> str:
    """The exact ``apache-airflow`` version of the control plane, from the root ``uv.lock``."""
    lock = root / "uv.lock"
    data = _toml(lock)
    versions = sorted(
        {p["version"] for p in data.get("package", []) if p.get("name") == "apache-airflow"}
    )
    if len(versions) != 1:
        found = ", ".join(versions) or "none"
        raise ImageError(
            f"{lock}: needs exactly one apache-airflow version to base the images on "
            f"(found: {found}) (fix: pin apache-airflow in pyproject.toml, then `uv lock`)"
        )
    return versions[0]


def image_specs(discovery: DiscoveryResult, config: ProjectConfig) -> list[ImageSpec]:
    """One spec per image name the discovered jobs use, sorted by name.

    Reads the root pyproject and lock; fails with ``ImageError`` when a package of an image
    has no ``pyproject.toml`` or ``uv.lock``, or its ``base`` group pins another Airflow.
    """
    root = config.root
    version = airflow_version(root)
    project = project_name(root)
    groups: dict[str, list] = defaultdict(list)
    for job in discovery.jobs:
        groups[job.image].append(job)
    src = root / "src" / "dagplane"
    dagplane_path = _rel(src, root) if (src / "__init__.py").is_file() else None
    images_rel = _rel(config.images_dir, root)
    specs = []
    for name in sorted(groups):
        jobs = sorted(groups[name], key=lambda j: j.module)
        packages = tuple(sorted({j.package for j in jobs}))
        for package in packages:
            _check_package(config.packages_dir / package, name, version, root)
        package_paths = tuple(_rel(config.packages_dir / p, root) for p in packages)
        specs.append(
            ImageSpec(
                name=name,
                packages=packages,
                modules=tuple(j.module for j in jobs),
                repository=f"{config.registry}/{config.image_owner}/{project}-{name}",
                base_image=f"{BASE_IMAGE_REPOSITORY}:{version}",
                package_paths=package_paths,
                lock_paths=tuple(f"{p}/uv.lock" for p in package_paths),
                dockerfile_path=f"{images_rel}/{name}/Dockerfile",
                requirements_path=f"{images_rel}/{name}/requirements.txt",
                dagplane_path=dagplane_path,
            )
        )
    return specs


def content_tag(spec: ImageSpec, root: Path, *, base_image: str | None = None) -> str:
    """``sha-<12 hex>``: a sha256 over everything that goes into the image.

    Covers the image's name and Dockerfile, the packages' files (jobs, helpers,
    ``pyproject.toml`` and ``uv.lock``), the base image reference, dagplane's version, its
    extra files (the control plane's root pyproject and lock) and, when copied in, dagplane's
    source. Identical inputs
    give the same tag on every machine; any changed file gives a new one.
    """
    if spec.kind == "control-plane":
        from dagplane.images._control_plane import render_control_plane_dockerfile as render
    else:
        from dagplane.images._render import render_dockerfile as render
    digest = hashlib.sha256()

    def feed(label: str, data: bytes) -> None:
        digest.update(f"{label}\0{len(data)}\0".encode())
        digest.update(data)

    feed("image", spec.name.encode())
    feed("base", (base_image or spec.base_image).encode())
    feed("dockerfile", render(spec).encode())
    feed("dagplane", __version__.encode())
    for path in spec.extra_paths:
        # A project without a lock yet still gets a tag (the image cannot build until it has
        # one; `images render` says so), as the job images' pods do.
        extra = root / path
        feed(path, extra.read_bytes() if extra.is_file() else b"\0missing")
    trees = [*spec.package_paths, *([spec.dagplane_path] if spec.dagplane_path else [])]
    for tree in trees:
        for file in tree_files(root / tree):
            feed(f"{tree}/{file.relative_to(root / tree).as_posix()}", file.read_bytes())
    return f"sha-{digest.hexdigest()[:12]}"


def tree_files(folder: Path) -> list[Path]:
    """The files of ``folder`` that go into an image: all but ``IMAGE_EXCLUDES``."""
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and p.suffix not in _IGNORED_SUFFIXES and _kept(p.relative_to(folder).parts)
    )


def _kept(parts: tuple[str, ...]) -> bool:
    return not any(part.startswith(".") for part in parts) and not any(
        part in _IGNORED_DIRS for part in parts
    )


def _check_package(folder: Path, image: str, version: str, root: Path) -> None:
    pyproject, lock = folder / "pyproject.toml", folder / "uv.lock"
    where = _rel(folder, root)
    if not pyproject.is_file():
        raise ImageError(
            f"image {image!r}: {where}/pyproject.toml is missing; it is where the package's "
            f"jobs declare their Python dependencies (fix: create it with `dagplane` in "
            f'[project].dependencies and `base = ["apache-airflow=={version}"]` in '
            f"[dependency-groups], then run `uv lock` in {where})"
        )
    pin = f"apache-airflow=={version}"
    base = _toml(pyproject).get("dependency-groups", {}).get("base", [])
    if pin not in [str(item).replace(" ", "") for item in base]:
        raise ImageError(
            f'{where}/pyproject.toml: [dependency-groups] base must hold "{pin}", the '
            f"control plane's Airflow, so the lock agrees with the base image (fix: add it, "
            f"then run `uv lock` in {where})"
        )
    if not lock.is_file():
        raise ImageError(
            f"image {image!r}: {where}/uv.lock is missing (fix: run `uv lock` in {where} and "
            "commit it)"
        )


def _rel(path: Path, root: Path) -> str:
    try:
        return Path(path).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        raise ImageError(
            f"{path} is outside the project {root}: image builds use the project as context"
        ) from None


def _toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ImageError(f"{path}: cannot read it as TOML: {exc}") from None
