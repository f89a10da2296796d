"""An image's hashed requirement list, exported from its packages' ``uv.lock`` files."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from dagplane.errors import ImageError
from dagplane.images._spec import ImageSpec

__all__ = ["export_requirements", "find_uv", "merge_requirements"]

_NAME = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==(?P<version>[^ ;\\]+)")


def find_uv() -> str:
    """The ``uv`` executable: ``$UV`` (set by ``uv run``), else ``uv`` on PATH."""
    found = os.environ.get("UV") or shutil.which("uv")
    if not found:
        raise ImageError(
            "uv is needed to export and verify image locks and was not found "
            "(fix: install uv, https://docs.astral.sh/uv/, or run dagplane with `uv run`)"
        )
    return found


def export_requirements(spec: ImageSpec, root: Path) -> str:
    """Every locked package of the image's packages (the ``base`` group left out), pinned and
    hashed, as one requirements text; conflicting pins across packages are an error."""
    exports = {}
    for path in spec.package_paths:
        command = [
            find_uv(),
            "export",
            "--frozen",
            "--no-default-groups",
            "--no-emit-project",
            "--no-header",
            "--no-annotate",
            "--format",
            "requirements-txt",
        ]
        if spec.dagplane_path:  # copied in from source instead
            command += ["--no-emit-package", "dagplane"]
        done = subprocess.run(command, cwd=root / path, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            detail = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise ImageError(
                f"image {spec.name!r}: `uv export` failed in {path}: {detail} "
                f"(fix: run `uv lock` in {path})"
            )
        exports[path] = done.stdout
    return merge_requirements(exports, image=spec.name)


def merge_requirements(exports: dict[str, str], *, image: str) -> str:
    """Join requirement texts block by block; the same block twice is kept once, the same
    package at two versions (for the same environment marker) is an error."""
    blocks: dict[str, tuple[str, str]] = {}
    for source, text in exports.items():
        for block in _blocks(text):
            first = block.splitlines()[0]
            match = _NAME.match(first)
            if match is None:
                raise ImageError(f"image {image!r}: {source}: cannot read requirement {first!r}")
            marker = first.partition(";")[2].rstrip(" \\").strip()
            key = f"{_normalize(match.group('name'))};{marker}"
            seen = blocks.get(key)
            if seen is None:
                blocks[key] = (source, block)
            elif seen[1] != block:
                raise ImageError(
                    f"image {image!r}: {seen[0]} and {source} lock {match.group('name')} "
                    "differently; jobs that share an image must agree on their dependencies "
                    "(fix: align the two pyproject.toml files and run `uv lock` in both, or "
                    "give the jobs different images)"
                )
    return "".join(block for _, block in sorted(blocks.values(), key=lambda b: b[1].lower()))


def _blocks(text: str) -> list[str]:
    blocks: list[list[str]] = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if line[0].isspace() and blocks:
            blocks[-1].append(line)
        else:
            blocks.append([line])
    return ["\n".join(lines) + "\n" for lines in blocks]


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()
