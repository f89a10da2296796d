"""Every bad job declaration gets a breadcrumb error: file:line: JOB.field: problem (fix: ...)."""

from __future__ import annotations

import pytest

from dagplane.errors import DuplicateJobError, JobDeclarationError
from dagplane.jobs.discovery import discover

HEADER = "from dagplane import Job, Resources, Secret\n\n\ndef run(ctx):\n    return 0\n\n\n"


def only_failure(packages) -> JobDeclarationError:
    result = discover(packages, root=packages.parent)
    assert not result.jobs
    assert len(result.failures) == 1, result.failures
    return result.failures[0]


@pytest.mark.parametrize(
    ("declaration", "field", "expected"),
    [
        (
            'JOB = Job(entrypoint=run, schedule="61 * * * *")',
            "schedule",
            "JOB.schedule: '61 * * * *' is not a valid cron expression (fix: use five fields "
            "'minute hour day-of-month month day-of-week' such as '0 * * * *', a preset such "
            "as '@daily', or None for manual runs)",
        ),
        (
            'JOB = Job(entrypoint=run, schedule="* * * *")',
            "schedule",
            "'* * * *' is not a valid cron expression",
        ),
        (
            'JOB = Job(entrypoint=run, schedule="@hourlyy")',
            "schedule",
            "JOB.schedule: '@hourlyy' is not an Airflow schedule preset (fix: use one of "
            "@continuous, @daily, @hourly, @monthly, @once, @quarterly, @weekly, @yearly, "
            "a cron expression, or None)",
        ),
        (
            'JOB = Job(entrypoint=run, shedule="@daily")',
            "shedule",
            "JOB.shedule: unknown field (fix: did you mean 'schedule'? remove it or use one of: "
            "description, entrypoint, "
            "image, max_active_runs, owner, partitions, resources, retries, retry_delay, "
            "schedule, secrets, tags, timeout)",
        ),
        (
            'JOB = Job(entrypoint=run, image="Sales_Force")',
            "image",
            "JOB.image: image group 'Sales_Force' is not a valid DNS-1123 label (fix: use at "
            "most 63 lowercase letters, digits and '-', starting and ending with a letter or "
            "digit (e.g. 'salesforce'))",
        ),
        (
            'JOB = Job(entrypoint=run, secrets=[Secret(name="Bad_Name", keys=["TOKEN"])])',
            "secrets.0.name",
            "JOB.secrets.0.name: secret name 'Bad_Name' is not a valid Kubernetes name",
        ),
        (
            'JOB = Job(entrypoint=run, secrets=[Secret(name="api", keys=[])])',
            "secrets.0.keys",
            "JOB.secrets.0.keys: Tuple should have at least 1 item after validation, not 0 "
            "(got []) (fix: give at least one item)",
        ),
        (
            'JOB = Job(entrypoint=run, secrets=[Secret(name="api", keys=["api-token"])])',
            "secrets.0.keys",
            "JOB.secrets.0.keys: secret key 'api-token' is not a valid key (fix: use letters, "
            "digits and '_', not starting with a digit (e.g. 'POSTGRES_PASSWORD'), so the key "
            "can be exported as an environment variable)",
        ),
        (
            'JOB = Job(entrypoint=run, secrets=[Secret(name="api")])',
            "secrets.0.keys",
            "JOB.secrets.0.keys: Field required (got {'name': 'api'}) (fix: add keys=...)",
        ),
        (
            'JOB = Job(entrypoint=run, secrets=[Secret(name="a", keys=["K"]), '
            'Secret(name="a", keys=["J"])])',
            "secrets",
            "JOB.secrets: a secret is listed twice (fix: merge its keys into one Secret(...))",
        ),
        (
            'JOB = Job(entrypoint=run, secrets=[Secret(name="a", keys=["K"]), '
            'Secret(name="b", keys=["K"])])',
            "secrets",
            "JOB.secrets: a key is read from two secrets (both would set one variable)",
        ),
        (
            'JOB = Job(entrypoint=run, secrets=[Secret(name="a", keys=["K"], '
            'optional_keys=["K"])])',
            "secrets.0",
            "JOB.secrets.0: key(s) K are listed as required and optional (fix: list each key "
            "in keys or in optional_keys, not both)",
        ),
        (
            'JOB = Job(entrypoint=run, secrets=[Secret(name="a", keys=["K"], '
            'optional_keys=["bad-key"])])',
            "secrets.0.optional_keys",
            "JOB.secrets.0.optional_keys: secret key 'bad-key' is not a valid key",
        ),
        (
            'JOB = Job(entrypoint=run, secrets=[Secret(name="a", keys=["K"], env="yes")])',
            "secrets.0.env",
            "JOB.secrets.0.env: Input should be a valid boolean",
        ),
        (
            'JOB = Job(entrypoint=run, secrets=[Secret(name="a", keys=["K"]), '
            'Secret(name="b", keys=["J"], optional_keys=["K"])])',
            "secrets",
            "JOB.secrets: a key is read from two secrets (both would set one variable)",
        ),
        (
            'JOB = Job(entrypoint=run, schedule="@continuous", max_active_runs=2)',
            "max_active_runs",
            "JOB.max_active_runs: a '@continuous' schedule allows one active run at a time "
            "(fix: set max_active_runs=1 or choose another schedule)",
        ),
        (
            'JOB = Job(entrypoint=run, partitions=["{{ ds }}"])',
            "partitions",
            "JOB.partitions: partition '{{ ds }}' contains a Jinja delimiter, which Airflow "
            "would render (fix: partitions are plain names: read dates from ctx.logical_date "
            "instead)",
        ),
        (
            'JOB = Job(entrypoint=run, resources=Resources(cpus="1"))',
            "resources.cpus",
            "JOB.resources.cpus: unknown field (fix: did you mean 'cpu'? remove it or use one "
            "of: cpu, cpu_limit, memory, memory_limit)",
        ),
        (
            'JOB = Job(entrypoint=run, secrets=[Secret(name="ok", key=["A"])])',
            "secrets.0.key",
            "JOB.secrets.0.key: unknown field (fix: did you mean 'keys'? remove it or use one "
            "of: env, keys, name, optional_keys)",
        ),
        (
            'JOB = Job(entrypoint=run, secrets=["ok"])',
            "secrets.0",
            "(fix: write each item as Secret(name='api', keys=['API_TOKEN']))",
        ),
        (
            'JOB = Job(entrypoint=run, retries="three")',
            "retries",
            "JOB.retries: Input should be a valid integer, unable to parse string as an integer "
            "(got 'three') (fix: use a whole number such as 3)",
        ),
        (
            "JOB = Job(entrypoint=run, retries=-1)",
            "retries",
            "JOB.retries: Input should be greater than or equal to 0 (got -1) (fix: use a number "
            "within bounds (ge 0))",
        ),
        (
            'JOB = Job(entrypoint=run, retry_delay="5 minutes")',
            "retry_delay",
            "JOB.retry_delay: retry_delay '5 minutes' is not a duration",
        ),
        (
            'JOB = Job(entrypoint=run, partitions=["eu", "eu"])',
            "partitions",
            "JOB.partitions: partitions repeat (fix: list each partition once)",
        ),
        (
            'JOB = Job(entrypoint=run, resources=Resources(cpu="lots"))',
            "resources.cpu",
            "JOB.resources.cpu: cpu 'lots' is not a Kubernetes quantity",
        ),
    ],
)
def test_invalid_field_values(write_job, packages, declaration, field, expected) -> None:
    write_job("sales", "nightly", HEADER + declaration + "\n")
    failure = only_failure(packages)
    assert failure.path == "packages/sales/jobs/nightly.py"
    assert failure.line == 8
    assert failure.field == field
    assert str(failure).startswith("packages/sales/jobs/nightly.py:8: ")
    assert expected in str(failure)


@pytest.mark.parametrize(
    ("declaration", "line", "expected"),
    [
        (
            'SCHEDULE = "@daily"\nJOB = Job(entrypoint=run, schedule=SCHEDULE)',
            9,
            "JOB.schedule: `SCHEDULE` is not a literal value (fix: write the value inline as a "
            "literal (strings, numbers, lists, None, Secret(...), Resources(...), "
            "timedelta(...)); dagplane reads JOB without importing the module)",
        ),
        ('JOB = Job(entrypoint=run, description=f"{run}")', 8, "JOB.description: `f'{run}'`"),
        ("JOB = Job(run)", 8, "Job(...) takes keyword arguments only"),
        ("JOB = Job(entrypoint=lambda ctx: 0)", 8, "JOB.entrypoint: the entrypoint must be a"),
        (
            "JOB = Job(entrypoint=missing)",
            8,
            "JOB.entrypoint: the entrypoint 'missing' is not defined at the top level of the "
            "module (fix: define `def missing(...)` or import it in the module)",
        ),
        ('JOB = Job(description="no entrypoint")', 8, "Job(...) has no entrypoint"),
        ("JOB = make_job()", 8, "JOB must be Job(entrypoint=..., ...) or the legacy tuple"),
        ("JOB = (run,)", 8, "the legacy JOB tuple has 1 items, expected 2"),
        ("JOB = (run, 42)", 8, "JOB.description: the legacy JOB description must be a string"),
        ("JOB = Job(entrypoint=run,", 8, "syntax error: "),
        ("x = 1", 1, "no JOB declaration at the top level of the module"),
    ],
)
def test_declarations_that_are_not_static(write_job, packages, declaration, line, expected):
    write_job("sales", "nightly", HEADER + declaration + "\n")
    failure = only_failure(packages)
    assert failure.line == line
    assert expected in str(failure)


@pytest.mark.parametrize(
    ("package", "name", "expected"),
    [
        ("sales", "Nightly", "job id (the file name) 'Nightly' is not a valid name"),
        ("sales", "nightly__load", "job id (the file name) 'nightly__load' is not a valid name"),
        ("Sales", "nightly", "package name 'Sales' is not a valid name"),
        ("sales", "x" * 60, "package and job names together are 66 characters"),
    ],
)
def test_names_that_are_not_airflow_or_dns_safe(write_job, packages, package, name, expected):
    write_job(package, name, HEADER + "JOB = Job(entrypoint=run)\n")
    failure = only_failure(packages)
    assert expected in str(failure)
    assert failure.hint


def test_duplicate_job_ids_across_packages_name_both_files(write_job, packages) -> None:
    write_job("sales", "nightly", HEADER + "JOB = Job(entrypoint=run)\n")
    write_job("finance", "nightly", HEADER + "JOB = Job(entrypoint=run)\n")
    write_job("finance", "weekly", HEADER + "JOB = Job(entrypoint=run)\n")
    result = discover(packages, root=packages.parent)
    assert [job.job_id for job in result.jobs] == ["weekly"]
    assert all(isinstance(f, DuplicateJobError) for f in result.failures)
    assert [str(f) for f in result.failures] == [
        "packages/finance/jobs/nightly.py:8: job id 'nightly' is also declared by "
        "packages/sales/jobs/nightly.py (fix: job ids are global: rename one of the files)",
        "packages/sales/jobs/nightly.py:8: job id 'nightly' is also declared by "
        "packages/finance/jobs/nightly.py (fix: job ids are global: rename one of the files)",
    ]


def test_a_package_named_like_a_python_module_is_rejected(write_job, packages) -> None:
    write_job("email", "digest", HEADER + "JOB = Job(entrypoint=run)\n")
    failure = only_failure(packages)
    assert str(failure) == (
        "packages/email/jobs/digest.py: package name 'email' shadows the Python module of the "
        "same name (fix: rename the package folder (e.g. 'sales_reports'): it is imported by name)"
    )
