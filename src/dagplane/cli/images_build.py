"""``dagplane images build``: build job images with docker, podman or buildah."""

from __future__ import annotations

import click

from dagplane.cli._common import echo_json, packages_option, project_config
from dagplane.errors import ImageError


@click.command("build")
@packages_option
@click.argument("image", required=False)
@click.option(
    "--base-image",
    default=None,
    help="Build on this image instead of apache/airflow:<version> (BASE_IMAGE; changes the tag).",
)
@click.option(
    "--engine-arg",
    "engine_args",
    multiple=True,
    help="Pass an extra argument to the engine's build (repeatable), e.g. --engine-arg=--pull.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the built references as JSON.")
def command(
    packages_dir, image: str | None, base_image: str | None, engine_args, as_json: bool
) -> int:
    """Build IMAGE (every job image and the control-plane image by default), tagged with its
    content tag.

    The generated files must be fresh (`dagplane images render`). Exit 1 when no engine
    exists, a file is stale or a build fails.
    """
    from dagplane.images import control_plane_spec, find_image, image_specs
    from dagplane.images._build import build_command, find_engine, run_build
    from dagplane.jobs.discovery import discover
    from dagplane.plan import build_plan
    from dagplane.write import write_outputs

    config = project_config(packages_dir)
    engine = find_engine()
    discovery = discover(config.packages_dir, root=config.root)
    specs = [*image_specs(discovery, config), control_plane_spec(config)]
    chosen = [find_image(specs, image)] if image else specs
    plan = build_plan(discovery, config, kinds=("images",))
    if write_outputs(plan.outputs["images"], check=True).stale:
        raise ImageError(
            f"{config.images_dir} is stale: run `dagplane images render` before building"
        )
    built = {}
    for spec in chosen:
        build = build_command(
            spec, config.root, engine, base_image=base_image, extra_args=engine_args
        )
        click.echo(f"building {build.reference} with {engine}", err=True)
        run_build(build, config.root)
        built[spec.name] = build.reference
    if as_json:
        echo_json(built)
    else:
        for reference in built.values():
            click.echo(reference)
    return 0
