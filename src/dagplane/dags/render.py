"""Render one ``JobSpec`` into the text of a static Airflow 3 DAG file. Pure: no I/O.

The file imports only ``datetime`` and ``airflow.sdk`` at parse time; the task imports the
dagplane runtime lazily and runs the job by module path, so the scheduler needs neither dagplane
nor the job's dependencies. Every user string is written with ``repr``, so a quote or newline in
a description can neither break nor inject code.
"""

from __future__ import annotations

from datetime import timedelta

from dagplane.jobs.spec import JobSpec
from dagplane.write import MARKER, owned_header
from dagplane.write._files import FORMAT_VERSION

__all__ = [
    "FORMAT_VERSION",
    "MARKER",
    "START_DATE",
    "dag_filename",
    "render_dag",
    "unique_tags",
]

START_DATE = "datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)"

_TEMPLATE = """\
from __future__ import annotations

import datetime
{os_import}
from airflow.sdk import dag, task
{pod_template}

@dag(
    dag_id={dag_id!r},
    description={summary!r},
    schedule={schedule!r},
    start_date={start_date},
    catchup=False,
    max_active_runs={max_active_runs!r},
    tags={tags!r},
    default_args={{
        "owner": {owner!r},
        "retries": {retries!r},
        "retry_delay": {retry_delay},
        "execution_timeout": {timeout},
    }},
)
def {function}():
    {docstring}

    @task(task_id={task_id!r}{executor_config})
    def run_job(partition: str | None = None) -> None:
        from dagplane.jobs.airflow_task import run_airflow_task

        run_airflow_task({module!r}, job_id={job_id!r}, partition=partition)

    {invocation}


{function}()
"""


def dag_filename(spec: JobSpec) -> str:
    """The generated file's name: the dag id plus ``.py``."""
    return f"{spec.dag_id}.py"


def unique_tags(spec: JobSpec) -> list[str]:
    """The job's tags, then dagplane's own, without repeats."""
    tags: list[str] = []
    for tag in (*spec.options.tags, "dagplane", f"package:{spec.package}", f"image:{spec.image}"):
        if tag not in tags:
            tags.append(tag)
    return tags


def _timedelta(value: timedelta | None) -> str:
    if value is None:
        return "None"
    return f"datetime.timedelta(seconds={int(value.total_seconds())})"


def _summary(description: str) -> str:
    first = description.strip().splitlines()[0] if description.strip() else ""
    return first[:200]


# The worker pod's settings live in a pod template file beside the DAG (dagplane.pods), named
# by an absolute path computed at parse time: a string costs nothing to parse, where a V1Pod
# would import the kubernetes models into every DAG file.
_POD_TEMPLATE = """
_POD_TEMPLATE = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "pod_templates", {filename!r}
)
"""


def render_body(spec: JobSpec, *, pod_template: bool = True) -> str:
    """The DAG file without its header; ``pod_template`` names the DAG's worker pod template
    in ``executor_config`` (for the KubernetesExecutor; other executors ignore it)."""
    o = spec.options
    partitions = list(o.partitions)
    invocation = f"run_job.expand(partition={partitions!r})" if partitions else "run_job()"
    doc = o.description.strip() or f"dagplane job {spec.job_id} ({spec.path})."
    if doc.endswith(".md"):
        doc += "\n"  # Airflow reads a doc_md ending in ".md" as a file path
    docstring = repr(doc)
    return _TEMPLATE.format(
        dag_id=spec.dag_id,
        summary=_summary(o.description) or None,
        schedule=o.schedule,
        start_date=START_DATE,
        max_active_runs=o.max_active_runs,
        tags=unique_tags(spec),
        owner=spec.owner,
        retries=o.retries,
        retry_delay=_timedelta(o.retry_delay),
        timeout=_timedelta(o.timeout),
        function=spec.dag_id,
        docstring=docstring,
        task_id=spec.job_id,
        module=spec.module,
        job_id=spec.job_id,
        invocation=invocation,
        os_import="import os\n" if pod_template else "",
        pod_template=_POD_TEMPLATE.format(filename=f"{spec.dag_id}.yaml") if pod_template else "",
        executor_config=', executor_config={"pod_template_file": _POD_TEMPLATE}'
        if pod_template
        else "",
    )


def render_dag(spec: JobSpec, *, pod_template: bool = True) -> str:
    """The whole DAG file: an ownership header (source and content hash), then the body."""
    body = render_body(spec, pod_template=pod_template)
    source = spec.path.encode("unicode_escape").decode("ascii")
    header = owned_header(
        body,
        source=spec.path,
        made_from=f"{source} (job {spec.job_id!r})",
        regenerate="change the job module and run `dagplane sync`",
    )
    return header + body
