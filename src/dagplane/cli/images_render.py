"""``dagplane images render``: write one Dockerfile per image and the image workflow."""

from __future__ import annotations

import click

from dagplane.cli._common import (
    echo_json,
    packages_option,
    print_failures,
    print_write_report,
    project_config,
)


@click.command("render")
@packages_option
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if a generated file is stale.")
@click.option("--json", "as_json", is_flag=True, help="Print what happened as JSON.")
def command(packages_dir, check: bool, as_json: bool) -> int:
    """Generate images/<image>/{Dockerfile,requirements.txt} and the GitHub Actions workflow.

    Exit 1 when a job module failed discovery, a hand-written file is in the way, or (with
    --check) a generated file is stale.
    """
    from dagplane.jobs.discovery import discover
    from dagplane.plan import build_plan
    from dagplane.write import raise_for_conflicts, write_outputs

    config = project_config(packages_dir)
    discovery = discover(config.packages_dir, root=config.root)
    plan = build_plan(discovery, config, kinds=("images", "workflow"))
    reports = {kind: write_outputs(output, check=check) for kind, output in plan.outputs.items()}
    if as_json:
        echo_json(
            {
                **{kind: report.as_dict() for kind, report in reports.items()},
                "failures": [str(f) for f in discovery.failures],
            }
        )
    else:
        for kind, report in reports.items():
            print_write_report(plan.outputs[kind].folder, report, check=check)
    print_failures(discovery.failures)
    for kind, report in reports.items():
        raise_for_conflicts(report, plan.outputs[kind].folder)
    stale = [str(plan.outputs[k].folder) for k, r in reports.items() if r.stale]
    if check and stale:
        click.secho(
            f"error: {', '.join(stale)} stale: run `dagplane images render` and commit the result",
            err=True,
        )
        return 1
    return 1 if discovery.failures else 0
