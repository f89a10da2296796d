"""Image fixtures: the repository's image plan, and a throwaway copy of the project."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from dagplane.config import load_config
from dagplane.jobs.discovery import discover
from dagplane.plan import build_plan

ROOT = Path(__file__).resolve().parents[2]
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".venv")


@pytest.fixture(scope="module")
def repo_plan():
    """The image and workflow outputs of this repository, rendered once."""
    config = load_config(cwd=ROOT)
    discovery = discover(config.packages_dir, root=config.root)
    return build_plan(discovery, config, kinds=("images", "workflow"))


@pytest.fixture
def project_copy(tmp_path: Path) -> Iterator[Path]:
    """A copy of this project (sources, packages, locks, generated files) as the cwd."""
    target = tmp_path / "project"
    target.mkdir()
    for name in ("pyproject.toml", "uv.lock"):
        shutil.copy2(ROOT / name, target / name)
    for name in ("src", "packages", "images", ".github"):
        shutil.copytree(ROOT / name, target / name, ignore=_IGNORE)
    cwd = os.getcwd()
    os.chdir(target)
    try:
        yield target
    finally:
        os.chdir(cwd)
