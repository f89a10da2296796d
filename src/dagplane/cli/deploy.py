"""``dagplane render deploy`` and ``dagplane check deploy``: one environment's deployment."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from dagplane.cli._common import echo_json, packages_option, print_write_report, project_config
from dagplane.errors import DagplaneError

__all__ = ["check_deploy", "render_deploy"]


def _options(func: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(
        [
            click.option(
                "--env",
                "env",
                required=True,
                help="Environment: deploy/<ENV>/platform.yaml is its config.",
            ),
            packages_option,
            click.option(
                "--chart",
                type=click.Path(file_okay=False, exists=True, path_type=Path),
                help="The official Airflow chart's folder (default: [tool.dagplane] chart-dir).",
            ),
            click.option(
                "--chart-schema",
                type=click.Path(dir_okay=False, exists=True, path_type=Path),
                help="The chart's values.schema.json (default: [tool.dagplane] chart-schema).",
            ),
            click.option(
                "--crd-dir",
                type=click.Path(file_okay=False, exists=True, path_type=Path),
                help="Folder of Flux, Argo CD and External Secrets CRDs (default: "
                "[tool.dagplane] crd-dir).",
            ),
            click.option("--json", "as_json", is_flag=True, help="Print the result as JSON."),
        ]
    ):
        func = option(func)
    return func


def _render(env: str, packages_dir: Path | None, chart, schema, crd_dir):
    from dagplane.deploy._render import ChartInputs, deploy_context, render_deploy
    from dagplane.jobs.discovery import discover

    config = project_config(packages_dir)
    discovery = discover(config.packages_dir, root=config.root)
    if discovery.failures:
        raise DagplaneError(
            f"{len(discovery.failures)} job module(s) failed to load; fix them first "
            f"(`dagplane discover`): the deployment names their Secrets and images"
        )
    ctx = deploy_context(env, discovery, config)
    return render_deploy(ctx, ChartInputs.from_config(config, chart, schema, crd_dir))


@click.command("deploy")
@_options
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if the files are stale.")
def render_deploy(
    env: str, packages_dir, chart, chart_schema, crd_dir, as_json: bool, check: bool
) -> int:
    """Render ENV's deployment from deploy/ENV/platform.yaml and the job specs: Helm values
    (deploy/ENV/values.yaml), Flux CD (deploy/clusters/ENV/), Argo CD (deploy/argocd/ENV/),
    platform ExternalSecrets, network policies, the DAG sync pattern, CHECKLIST.md (with the
    check results) and RUNBOOK.md. Deterministic; the chart is rendered to fill the checklist.

    Exit 1 when the config is invalid, a hand-written file is in the way, or (with --check)
    a file is stale.
    """
    from dagplane.deploy._render import DEPLOY_KINDS, deploy_plan
    from dagplane.plan import write_plan
    from dagplane.write import raise_for_conflicts

    started = time.monotonic()
    render = _render(env, packages_dir, chart, chart_schema, crd_dir)
    plan = deploy_plan(render)
    report = write_plan(plan, DEPLOY_KINDS, check=check)
    folder = render.ctx.config.deploy_dir
    if as_json:
        echo_json({**report.as_dict(), "seconds": round(time.monotonic() - started, 2)})
    else:
        seconds = f" ({time.monotonic() - started:.1f} s)"
        print_write_report(folder, report, check=check, suffix=seconds)
    raise_for_conflicts(report, folder)
    if check and report.stale:
        raise DagplaneError(
            f"{folder} is stale for {env}: run `dagplane render deploy --env {env}` and commit"
        )
    return 0


@click.command("deploy")
@_options
def check_deploy(env: str, packages_dir, chart, chart_schema, crd_dir, as_json: bool) -> int:
    """Prove ENV's deployment: the committed files match the generator, the official chart
    renders with the values, every rendered object and manifest validates (kubernetes-validate
    strict, CRD schemas), the values match the chart's schema, the Flux kustomization builds,
    and every production checklist item passes. Exit 1, one line per failure, if any fails.
    """
    from dagplane.deploy._render import DEPLOY_KINDS, deploy_plan
    from dagplane.deploy.checks import validation_results
    from dagplane.plan import write_plan

    started = time.monotonic()
    render = _render(env, packages_dir, chart, chart_schema, crd_dir)
    report = write_plan(deploy_plan(render), DEPLOY_KINDS, check=True)
    results = [
        *validation_results(render, stale=sorted(report.written + report.pruned)),
        *render.results,
    ]
    failed = [r for r in results if not r.ok]
    if as_json:
        echo_json(
            {
                "env": env,
                "engine": render.chart.engine,
                "seconds": round(time.monotonic() - started, 2),
                "checks": [r.__dict__ for r in results],
            }
        )
    else:
        for r in results:
            mark = click.style("pass", fg="green") if r.ok else click.style("FAIL", fg="red")
            click.echo(f"{mark} {r.name}: {r.value}", err=True)
            if not r.ok:
                click.echo(f"     fix: {r.fix}", err=True)
        click.echo(
            f"{env}: {len(results) - len(failed)} of {len(results)} checks pass "
            f"({render.chart.engine}, {time.monotonic() - started:.1f} s)",
            err=True,
        )
    return 1 if failed else 0
