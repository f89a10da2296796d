"""``dagplane images``: the group of the image commands (one module per command)."""

from __future__ import annotations

import click

from dagplane.cli import images_build, images_render, images_verify


@click.group("images")
def group() -> None:
    """Job images: render their Dockerfiles and CI workflow, build them, verify them.

    \b
      dagplane images render --check    fail in CI when images/ or the workflow is stale
      dagplane images build [IMAGE]     build with docker, podman or buildah
      dagplane images verify IMAGE      install its lock in a temp venv and import its jobs
    """


for _command in (images_render.command, images_build.command, images_verify.command):
    group.add_command(_command)
