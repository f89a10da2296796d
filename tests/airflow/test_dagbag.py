"""Airflow's own DagBag loads every generated DAG with zero import errors."""

from __future__ import annotations

import datetime
import sys
from pathlib import Path

import pytest

from dagplane.cli import main
from dagplane.dags.sync import sync_dags
from dagplane.jobs.discovery import discover

pytestmark = pytest.mark.airflow

SCHEDULES = ["@hourly", "*/15 * * * *", None, "@once", "0 6 * * 1-5"]


@pytest.fixture(scope="module")
def dagbag_of():
    from airflow.dag_processing.dagbag import DagBag

    def parse(folder: Path) -> DagBag:
        bag = DagBag(dag_folder=str(folder), safe_mode=True)
        assert bag.import_errors == {}
        return bag

    return parse


def test_example_dags_parse_with_their_schedules_tasks_and_mapping(example_dags, dagbag_of):
    bag = dagbag_of(example_dags)
    assert sorted(bag.dag_ids) == [
        "examples__always_fails",
        "examples__hello_legacy",
        "examples__regional_report",
        "salesforce__salesforce_to_postgres",
    ]
    salesforce = bag.dags["salesforce__salesforce_to_postgres"]
    assert salesforce.schedule == "@hourly"
    assert "image:salesforce" in salesforce.tags
    [extract] = salesforce.tasks
    assert extract.op_kwargs_expand_input.value == {
        "partition": ["Account", "Contact", "Opportunity", "Lead", "Case", "User"]
    }
    report = bag.dags["examples__regional_report"]
    assert report.schedule == "0 6 * * *"
    assert report.catchup is False
    assert report.max_active_runs == 1
    assert report.start_date == datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
    assert set(report.tags) == {
        "reports",
        "example",
        "dagplane",
        "package:examples",
        "image:reports",
        "owner:analytics",
    }
    assert report.default_args["owner"] == "analytics"
    assert report.default_args["retries"] == 2
    assert report.default_args["execution_timeout"] == datetime.timedelta(minutes=30)
    assert report.doc_md.startswith("Daily orders report")
    [task] = report.tasks
    assert task.task_id == "regional_report"
    assert task.op_kwargs_expand_input.value == {"partition": ["emea", "amer", "apac"]}
    legacy = bag.dags["examples__hello_legacy"]
    assert legacy.schedule is None
    assert [t.task_id for t in legacy.tasks] == ["hello_legacy"]
    assert not hasattr(legacy.tasks[0], "op_kwargs_expand_input")


def test_many_schedules_parse_and_dags_do_not_import_job_code(
    write_job, packages, tmp_path, dagbag_of, monkeypatch
):
    # An importable sentinel the job modules import first: if parsing the DAGs imported any job
    # module, the sentinel would land in sys.modules and write its marker file (a missing module
    # alone can never be in sys.modules, so it could not show the import happened).
    sentinel_dir = tmp_path / "sentinel"
    sentinel_dir.mkdir()
    marker = tmp_path / "job-module-was-imported"
    (sentinel_dir / "dagplane_test_job_import_sentinel.py").write_text(
        f"from pathlib import Path\nPath({str(marker)!r}).touch()\n", encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(sentinel_dir))
    monkeypatch.delitem(sys.modules, "dagplane_test_job_import_sentinel", raising=False)
    for i, schedule in enumerate(SCHEDULES):
        write_job(
            "team",
            f"job{i}",
            f"""\
            import dagplane_test_job_import_sentinel
            import module_that_is_not_installed_anywhere
            from dagplane import Job

            def run(ctx):
                return 0

            JOB = Job(entrypoint=run, schedule={schedule!r}, description="it's \\"quoted\\"")
            """,
        )
    result = discover(packages, root=tmp_path)
    assert not result.failures
    sync_dags(result, tmp_path / "dags")
    bag = dagbag_of(tmp_path / "dags")
    assert len(bag.dags) == len(SCHEDULES)
    for i, schedule in enumerate(SCHEDULES):
        dag = bag.dags[f"team__job{i}"]
        assert dag.schedule == schedule
        assert dag.description == 'it\'s "quoted"'
    assert "dagplane_test_job_import_sentinel" not in sys.modules
    assert not marker.exists()
    assert not any(name.startswith("team.") for name in sys.modules)


def test_a_description_ending_in_md_is_the_dag_docs_not_a_file(
    write_job, packages, tmp_path, dagbag_of, monkeypatch
):
    write_job("docs", "readme", "def main(argv):\n    return 0\n\nJOB = (main, 'see README.md')\n")
    result = discover(packages, root=tmp_path)
    assert not result.failures
    sync_dags(result, tmp_path / "dags")
    # Airflow opens a doc_md ending in ".md" relative to the working directory: put a file of
    # that name there, so a docstring read as a path would show the file's text.
    (tmp_path / "see README.md").write_text("the file, not the description\n")
    monkeypatch.chdir(tmp_path)
    dag = dagbag_of(tmp_path / "dags").dags["docs__readme"]
    assert dag.description == "see README.md"
    assert dag.doc_md.startswith("see README.md\n\nJob readme from packages/docs/jobs/readme.py")
    assert "the file, not the description" not in dag.doc_md


DURATIONS = """\
from datetime import timedelta

from dagplane import Job, Resources

def run(ctx):
    return 0

JOB = Job(
    entrypoint=run,
    retries={retries},
    retry_delay={retry_delay},
    timeout={timeout},
    resources={resources},
)
"""


@pytest.mark.parametrize(
    ("retries", "retry_delay", "timeout", "resources", "expected"),
    [
        (
            4,
            "timedelta(minutes=5)",
            "timedelta(hours=1, minutes=30)",
            'Resources(cpu="750m", memory="300Mi", cpu_limit="1", memory_limit="600Mi")',
            (
                4,
                datetime.timedelta(seconds=300),
                datetime.timedelta(seconds=5400),
                {
                    "requests": {"cpu": "750m", "memory": "300Mi"},
                    "limits": {"cpu": "1", "memory": "600Mi"},
                },
            ),
        ),
        (
            0,
            '"2m"',
            '"1h30m"',
            'Resources(cpu="2", memory="1Gi")',
            (
                0,
                datetime.timedelta(seconds=120),
                datetime.timedelta(seconds=5400),
                {"requests": {"cpu": "2", "memory": "1Gi"}},
            ),
        ),
        (
            2,
            "90",
            "None",
            'Resources(cpu="100m", memory="64Mi", memory_limit="128Mi")',
            (
                2,
                datetime.timedelta(seconds=90),
                None,
                {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
            ),
        ),
    ],
)
def test_retries_durations_and_resources_reach_airflow_and_the_pod(
    write_job, packages, tmp_path, dagbag_of, retries, retry_delay, timeout, resources, expected
):
    import yaml

    write_job(
        "team",
        "durations",
        DURATIONS.format(
            retries=retries, retry_delay=retry_delay, timeout=timeout, resources=resources
        ),
    )
    # The real `dagplane sync`: it writes the DAG and its worker pod template.
    assert (
        main(["sync", "--packages-dir", str(packages), "--dags-dir", str(tmp_path / "dags")]) == 0
    )
    [task] = dagbag_of(tmp_path / "dags").dags["team__durations"].tasks
    want_retries, want_delay, want_timeout, want_resources = expected
    assert (task.retries, task.retry_delay, task.execution_timeout) == (
        want_retries,
        want_delay,
        want_timeout,
    )
    template = tmp_path / "dags" / "pod_templates" / "team__durations.yaml"
    [container] = yaml.safe_load(template.read_text())["spec"]["containers"]
    assert container["resources"] == want_resources
