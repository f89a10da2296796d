"""One environment's deployment: context from the project, every renderer, one plan to write.

``deploy_context`` reads the platform config and the job specs; ``render_deploy`` runs the
pure renderers, renders the official chart with the values (read-only I/O: the chart folder)
and runs the checklist, whose results ``CHECKLIST.md`` shows; ``deploy_plan`` turns it all
into ``OutputSet``s for the one writer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dagplane.deploy._context import DeployContext
from dagplane.deploy._docs import render_checklist, render_runbook
from dagplane.deploy._platform import load_platform, platform_path, platform_schema
from dagplane.deploy._values import helm_values, render_values
from dagplane.errors import ConfigError
from dagplane.plan import Plan
from dagplane.write import OutputSet, owned_header

if TYPE_CHECKING:
    from dagplane.config import ProjectConfig
    from dagplane.deploy.checks import ChartRender, CheckResult
    from dagplane.jobs.discovery import DiscoveryResult

__all__ = ["ChartInputs", "DeployRender", "deploy_context", "deploy_plan", "render_deploy"]

DEPLOY_KINDS = ("gitops", "platform_schema", "deploy_env")  # names relative to deploy/


@dataclass(frozen=True)
class ChartInputs:
    """The official chart and the schemas a deployment is checked against."""

    chart_dir: Path
    values_schema: Path | None = None
    crd_dir: Path | None = None

    @classmethod
    def from_config(
        cls,
        config: ProjectConfig,
        chart: Path | None = None,
        schema: Path | None = None,
        crd_dir: Path | None = None,
    ) -> ChartInputs:
        chart_dir = chart or config.chart_dir
        if chart_dir is None or not chart_dir.is_dir():
            raise ConfigError(
                f"the official Airflow chart is not at {chart_dir or '(not configured)'} (fix: "
                "pass --chart DIR, or set [tool.dagplane] chart-dir to an unpacked "
                "`helm pull apache-airflow/airflow --version <chart_version> --untar`)"
            )
        return cls(chart_dir, schema or config.chart_schema, crd_dir or config.crd_dir)


def deploy_context(env: str, discovery: DiscoveryResult, config: ProjectConfig) -> DeployContext:
    from dagplane.images import control_plane_image
    from dagplane.pods import base_pod
    from dagplane.pods._image import pod_images
    from dagplane.secrets import render_local_settings, secret_keys

    platform = load_platform(platform_path(config.deploy_dir, env), env=env)
    images = pod_images(discovery, config)
    return DeployContext(
        platform=platform,
        config=config,
        job_secret_key_sets=secret_keys(discovery),
        local_settings=render_local_settings(discovery, config, images),
        worker_images=dict(images),
        control_plane_image=control_plane_image(config),
        worker_base=base_pod(config),
    )


@dataclass
class DeployRender:
    """Everything rendered for one environment, and what the checks found."""

    ctx: DeployContext
    values: dict[str, Any]
    resources: dict[str, str]
    gitops: dict[str, str]
    chart: ChartRender
    results: list[CheckResult]
    secret_specs: list[Any] = field(default_factory=list)  # the platform's PlatformSecrets

    @property
    def secrets(self) -> list[tuple[str, str]]:
        return [(s.name, s.purpose) for s in self.secret_specs]

    @property
    def resource_objects(self) -> tuple[dict[str, Any], ...]:
        import yaml

        return tuple(
            doc
            for text in self.resources.values()
            for doc in yaml.safe_load_all(text)
            if isinstance(doc, dict)
        )


def render_deploy(ctx: DeployContext, chart: ChartInputs) -> DeployRender:
    from dagplane.deploy._dag_sync import dag_sync_values, render_dag_sync
    from dagplane.deploy._gitops import render_gitops
    from dagplane.deploy._job_secrets import render_job_secrets
    from dagplane.deploy._network import render_network_policies
    from dagplane.deploy._platform_secrets import (
        pgbouncer_config_secret,
        pgbouncer_stats_secret,
        platform_secret_specs,
        render_platform_secrets,
    )
    from dagplane.deploy.checks import render_chart, run_checks

    platform = ctx.platform
    values = helm_values(
        ctx,
        pod_template=json.dumps(ctx.worker_base, indent=2) + "\n",
        local_settings=ctx.local_settings,
        fragments=(dag_sync_values(ctx),),
        pgbouncer_secrets=(pgbouncer_config_secret(platform), pgbouncer_stats_secret(platform)),
    )
    resources = {
        **render_platform_secrets(ctx),
        **render_job_secrets(ctx),
        **render_network_policies(ctx),
        **render_dag_sync(ctx),
    }
    specs = platform_secret_specs(platform)
    rendered = render_chart(
        chart.chart_dir, values, release=platform.release, namespace=platform.namespace
    )
    out = DeployRender(
        ctx=ctx,
        values=values,
        resources=resources,
        gitops=render_gitops(ctx, values, resources),
        chart=rendered,
        results=[],
        secret_specs=specs,
    )
    out.results = run_checks(
        ctx,
        values,
        rendered,
        backed_secrets=frozenset(s.name for s in specs),
        extra_objects=out.resource_objects,
    )
    return out


def _schema_text() -> str:
    body = json.dumps(platform_schema(), indent=2, sort_keys=True) + "\n"
    # JSON takes no comments: the marker lives in a `$comment` key of its own line instead.
    header = owned_header(
        body,
        source="dagplane.deploy.Platform",
        made_from="dagplane.deploy.Platform (the JSON schema of deploy/<env>/platform.yaml)",
        regenerate="run `dagplane render deploy`",
    )
    comment = " ".join(line.removeprefix("# ") for line in header.splitlines())
    return "{\n" + f'  "$comment": {json.dumps(comment)},' + "\n" + body[2:]


def deploy_plan(render: DeployRender) -> Plan:
    ctx = render.ctx
    deploy = ctx.config.deploy_dir
    env_files = {
        "values.yaml": render_values(ctx, render.values),
        "CHECKLIST.md": render_checklist(ctx, render.results, render.chart.engine),
        "RUNBOOK.md": render_runbook(ctx, render.secret_specs),
    }
    return Plan(
        outputs={
            "deploy_env": OutputSet(deploy / ctx.env, env_files, pattern="*.*"),
            "gitops": OutputSet(deploy, render.gitops, pattern=f"*/{ctx.env}/**/*"),
            "platform_schema": OutputSet(
                deploy, {"platform.schema.json": _schema_text()}, pattern="platform.schema.json"
            ),
        }
    )
