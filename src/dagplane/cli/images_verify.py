"""``dagplane images verify``: build an image's locked environment and import its jobs."""

from __future__ import annotations

import click

from dagplane.cli._common import echo_json, packages_option, project_config


@click.command("verify")
@packages_option
@click.argument("image")
@click.option(
    "--python",
    default=None,
    help="Python version of the venv (default: the one running dagplane; match the base image).",
)
@click.option("--no-monolith", is_flag=True, help="Skip the every-image environment.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def command(packages_dir, image: str, python: str | None, no_monolith: bool, as_json: bool) -> int:
    """Install IMAGE's lock with uv in a temp venv, import every job of IMAGE (and what they
    import) there, and print its size beside one environment holding every image's packages.

    Exit 1 when an import fails or the lock cannot be installed.
    """
    from dagplane.images import find_image, image_specs
    from dagplane.images._verify import verify_image
    from dagplane.jobs.discovery import discover

    config = project_config(packages_dir)
    discovery = discover(config.packages_dir, root=config.root)
    specs = image_specs(discovery, config)
    spec = find_image(specs, image)
    click.echo(f"verifying {image}: installing its lock in a temporary venv", err=True)
    report = verify_image(
        spec, specs, config.root, config.packages_dir, python=python, monolith=not no_monolith
    )
    if as_json:
        echo_json(report.as_dict())
    else:
        click.echo(
            f"{image}: {len(report.imported)} modules imported, {len(report.failed)} failed "
            f"(Python {report.python})"
        )
        for name, error in sorted(report.failed.items()):
            click.secho(f"  failed {name}: {error}", fg="red")
        size = report.size
        click.echo(f"  image environment: {size.megabytes} MB, {size.distributions} distributions")
        if report.monolith:
            mono = report.monolith
            click.echo(
                f"  monolith ({', '.join(report.monolith_images)}): {mono.megabytes} MB, "
                f"{mono.distributions} distributions; {image} is {size.bytes / mono.bytes:.0%} "
                "of it"
            )
    if not report.ok:
        click.secho(f"error: {image}: {len(report.failed)} module(s) failed to import", err=True)
        return 1
    return 0
