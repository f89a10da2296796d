"""``CHECKLIST.md`` and ``RUNBOOK.md`` of one environment, rendered from its config and checks.

The checklist shows every check's real value and result, so it says only what the checks saw
in the chart render; the runbook spells out this platform's operations with its own names.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from dagplane.write import owned_header

if TYPE_CHECKING:
    from dagplane.deploy._context import DeployContext
    from dagplane.deploy.checks import CheckResult

__all__ = ["render_checklist", "render_runbook"]


def _md_header(ctx: DeployContext, body: str, what: str) -> str:
    # Markdown reads `#` as a heading: the header goes inside an HTML comment.
    header = owned_header(
        body,
        source=f"deploy/{ctx.env}/platform.yaml",
        made_from=f"deploy/{ctx.env}/platform.yaml ({what})",
        regenerate=f"run `dagplane render deploy --env {ctx.env}`",
    )
    return f"<!--\n{header}-->\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_checklist(ctx: DeployContext, results: Sequence[CheckResult], engine: str) -> str:
    passed = sum(r.ok for r in results)
    lines = [
        f"# Production checklist: {ctx.env}",
        "",
        f"Every item is a check that `dagplane check deploy --env {ctx.env}` runs on the "
        f"official Airflow chart {ctx.platform.chart_version} rendered with this environment's "
        f"values ({engine}). {passed} of {len(results)} pass.",
        "",
        "| | check | what it requires | value seen | fix |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        mark = "pass" if r.ok else "**FAIL**"
        lines.append(
            f"| {mark} | `{r.name}` | {_cell(r.title)} | {_cell(r.value)} | {_cell(r.fix)} |"
        )
    body = "\n".join(lines) + "\n"
    return _md_header(ctx, body, "the production checklist, with its check results") + body


def render_runbook(ctx: DeployContext, secrets: Sequence[Any]) -> str:
    """``secrets``: the platform's own Secrets (``PlatformSecret``s)."""
    from dagplane.deploy._platform_secrets import DB_CREDENTIALS, remote_key

    p = ctx.platform
    ns, rel, env = p.namespace, p.release, ctx.env
    flux = f"flux reconcile helmrelease {rel} -n {ns} --with-source"
    credentials = remote_key(p, p.metadata_db.secret)

    def stored(spec: Any) -> str:
        if spec.template is not None:  # built from the database's credentials
            return f"`{credentials}`: {', '.join(DB_CREDENTIALS)}"
        return f"`{remote_key(p, spec.name)}`: {', '.join(spec.keys)}"

    rotate = "\n".join(
        f"| `{s.name}` | {_cell(s.purpose)} | {stored(s)} | `kubectl -n {ns} annotate "
        f"externalsecret {s.name} force-sync=$(date +%s) --overwrite` |"
        for s in secrets
    )
    built = [s.name for s in secrets if s.template is not None]
    shared = (
        f"The database password is stored once, in `{credentials}`: {', '.join(built)} are "
        "templates over it, so after rotating it force the sync of all of them."
        if built
        else ""
    )
    sync = {
        "sync-sidecar": f"the `dag-sync` container of `deploy/{rel}-dag-processor`",
        "sync-init": f"the `dag-sync` init container of `deploy/{rel}-dag-processor`",
        "sync-cronjob": f"the `{rel}-dag-sync` CronJob's last Job",
        "git-sync": f"the `git-sync` container of `deploy/{rel}-dag-processor`",
    }[p.dags.distribution]
    body = f"""# Runbook: {env}

Namespace `{ns}`, Helm release `{rel}` of the official Airflow chart {p.chart_version}, Airflow
{p.airflow_version}, {p.executor}. Everything below changes `deploy/{env}/platform.yaml` or the
job packages, runs `dagplane render deploy --env {env}` and commits: Git is the only way in.

## Watch a release

    flux get helmreleases -n {ns}              # or: argocd app get airflow-{env}
    kubectl -n {ns} get pods -l release={rel}

A failed install or upgrade is retried, then rolled back by Flux (remediation in
`deploy/clusters/{env}/helmrelease.yaml`); `kubectl -n {ns} describe helmrelease {rel}` says why.

## Force a reconcile

    {flux}
    argocd app sync airflow-{env}            # on Argo CD

## Rotate a secret

Change the value in the secret store (`{p.secrets_store.kind}` `{p.secrets_store.name}`, at
the remote key below), then make the External Secrets Operator fetch it now and restart
what reads it (`kubectl -n {ns} rollout restart deploy/{rel}-scheduler deploy/{rel}-api-server
deploy/{rel}-dag-processor statefulset/{rel}-triggerer`). Rotating the fernet key: store
`new,old` first, restart, run `airflow rotate-fernet-key` in the scheduler, then store `new`.

| Secret | read by | stored at (properties) | force the sync |
|---|---|---|---|
{rotate}

{shared}

Job Secrets (`deploy/secrets/`) rotate the same way; a worker pod reads them when it starts.

## Roll back an image tag

Worker images are content-tagged (`sha-...`) and named in the generated pod templates. Revert
the commit that moved the tag (`git revert <commit>`), push, then `{flux}`. New task pods use
the old tag; running ones finish on theirs. The Airflow image follows `airflow_version`.

## Debug DAG import errors

    kubectl -n {ns} exec deploy/{rel}-dag-processor -- airflow dags list-import-errors
    uv run dagplane sync --check             # locally: is the committed DAG folder stale?

A job module that fails to load keeps its last good DAG (dagplane never prunes it); the error
names the file and the fix.

## When the DAG sync fails

Read the logs of {sync}. A failed pass keeps the last good DAG files, so running DAGs are not
affected; fix the job module or the image, then commit.

## Scale the scheduler

Set `ha.scheduler_replicas` (keep it >= 2), render, commit; PgBouncer's pools are recomputed
and shown in `CHECKLIST.md`.

## Create the first admin

The chart's auth manager (FAB) starts with no user (dagplane turns the chart's default
`admin`/`admin` job off). Create one, then move to your SSO (`apiServer.apiServerConfig`):

    kubectl -n {ns} exec deploy/{rel}-api-server -- airflow users create --role Admin \\
      --username you --email you@example.org --firstname You --lastname Admin --password '...'

## Restore the metadata database

1. Stop reconciling, or Flux puts the replicas back (drift detection is on):
   `flux suspend helmrelease {rel} -n {ns}` (Argo CD: disable auto-sync).
2. Stop everything that writes to it: `kubectl -n {ns} scale deploy/{rel}-scheduler
   deploy/{rel}-api-server deploy/{rel}-dag-processor statefulset/{rel}-triggerer --replicas=0`.
3. Restore `{p.metadata_db.host}` to a point in time with your database's tooling.
4. `flux resume helmrelease {rel} -n {ns}`: the release comes back at its configured replicas,
   and its migration job checks the schema.
"""
    return _md_header(ctx, body, "this platform's operations") + body
