"""Build an image with the container engine the user has: docker, else podman, else buildah."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dagplane.errors import ImageError
from dagplane.images._spec import ImageSpec, content_tag

__all__ = ["ENGINES", "BuildCommand", "build_command", "find_engine", "run_build"]

ENGINES = ("docker", "podman", "buildah")


@dataclass(frozen=True)
class BuildCommand:
    """The engine command that builds one image, and the reference it tags."""

    image: str
    reference: str
    argv: tuple[str, ...]


def find_engine(engines: Sequence[str] = ENGINES) -> str:
    """The path of the first container engine on PATH that answers, or an ``ImageError``.

    A docker client without a daemon behind it is common (it is installed, but the engine
    is podman): an engine whose ``info`` fails is passed over for the next one.
    """
    found = [path for path in map(shutil.which, engines) if path]
    for path in found:
        if path and _answers(path):
            return path
    tried = ", ".join(engines)
    if found:
        raise ImageError(
            f"no container engine answers (found {', '.join(found)}, but `info` failed for "
            f"each): start its daemon or service, or install another of {tried}"
        )
    raise ImageError(
        f"no container engine found on PATH (tried {tried}): install one, or "
        "let CI build the images (.github/workflows/dagplane-images.yml)"
    )


def _answers(engine: str) -> bool:
    if Path(engine).name == "buildah":  # daemonless, no `info` needed to build
        return True
    try:
        done = subprocess.run([engine, "info"], capture_output=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def build_command(
    spec: ImageSpec,
    root: Path,
    engine: str,
    *,
    base_image: str | None = None,
    extra_args: Sequence[str] = (),
) -> BuildCommand:
    """The argv that builds ``spec`` from the project root, tagged with its content tag.

    A ``base_image`` other than the default is passed as ``BASE_IMAGE`` and changes the tag.
    """
    reference = f"{spec.repository}:{content_tag(spec, root, base_image=base_image)}"
    verb = ["bud"] if Path(engine).name == "buildah" else ["build"]
    argv = [engine, *verb, "-f", spec.dockerfile_path, "-t", reference]
    if Path(engine).name != "docker":  # docker (BuildKit) finds <Dockerfile>.dockerignore
        argv += ["--ignorefile", f"{spec.dockerfile_path}.dockerignore"]
    if base_image:
        argv += ["--build-arg", f"BASE_IMAGE={base_image}"]
    argv += [*extra_args, "."]
    return BuildCommand(spec.name, reference, tuple(argv))


def run_build(command: BuildCommand, root: Path) -> None:
    """Run the build in ``root`` (the build context); a failure is an ``ImageError``."""
    done = subprocess.run(command.argv, cwd=root, check=False)
    if done.returncode != 0:
        raise ImageError(
            f"image {command.image!r}: `{' '.join(command.argv[:2])}` exited "
            f"{done.returncode} (its output is above)"
        )
