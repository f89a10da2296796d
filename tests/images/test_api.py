"""The image API is pinned, and rendering needs neither Airflow nor any job dependency."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import dagplane.images

ROOT = Path(__file__).resolve().parents[2]

BLOCKER = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"airflow", "simple_salesforce", "psycopg", "kubernetes"}:
            raise ImportError(f"blocked for this test: {name}")
sys.meta_path.insert(0, Block())
from dagplane.cli import main
sys.exit(main(["images", "render", "--check"]))
"""


def test_images_exports() -> None:
    assert dagplane.images.__all__ == [
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


def test_render_check_never_imports_airflow_or_job_dependencies() -> None:
    done = subprocess.run(
        [sys.executable, "-c", BLOCKER], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert done.returncode == 0, done.stderr
