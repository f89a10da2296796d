"""The renderer is pure, deterministic and injection-proof."""

from __future__ import annotations

import ast
import hashlib

import pytest

from dagplane.dags.render import MARKER, dag_filename, render_body, render_dag
from dagplane.jobs.discovery import discover

EVIL = (
    'Loads "orders".\n'
    "Ends here''' + __import__('os').system('touch /tmp/pwned') + '''\n"
    '""" ; import os; os.system("touch /tmp/pwned") #\\'
)


@pytest.fixture
def specs(write_job, packages):
    write_job(
        "sales",
        "orders",
        f"""\
        from dagplane import Job

        def run(ctx):
            return 0

        JOB = Job(entrypoint=run, description={EVIL!r}, schedule="@daily",
                  tags=["it's", 'say "hi"'], owner="o'brien", partitions=["a'b", 'c"d'])
        """,
    )
    write_job("sales", "legacy", "def main(argv):\n    return 0\n\nJOB = (main, 'hi')\n")
    result = discover(packages, root=packages.parent)
    assert not result.failures
    return {job.job_id: job for job in result.jobs}


def test_quotes_and_newlines_stay_inside_string_literals(specs) -> None:
    text = render_dag(specs["orders"])
    tree = ast.parse(text)
    # The only calls at module level are the decorator and the DAG function call; nothing
    # from the description ever becomes code.
    # ``os`` appears only where the pod template's path is computed, from ``__file__``.
    pod_path = next(n for n in tree.body if isinstance(n, ast.Assign))
    assert [t.id for t in pod_path.targets] == ["_POD_TEMPLATE"]
    assert ast.literal_eval(pod_path.value.args[2]) == "sales__orders.yaml"
    rest = [n for n in tree.body if n is not pod_path]
    names = {n.id for node in rest for n in ast.walk(node) if isinstance(n, ast.Name)}
    assert "__import__" not in names and "os" not in names
    dag_function = next(n for n in tree.body if isinstance(n, ast.FunctionDef))
    assert ast.get_docstring(dag_function) == EVIL
    decorator = dag_function.decorator_list[0]
    kwargs = {
        k.arg: ast.literal_eval(k.value)
        for k in decorator.keywords
        if k.arg != "start_date" and k.arg != "default_args"
    }
    assert kwargs["description"] == 'Loads "orders".'
    assert kwargs["tags"] == ["it's", 'say "hi"', "dagplane", "package:sales", "image:sales"]
    assert "expand(partition=[\"a'b\", 'c\"d'])" in text


def test_rendering_is_deterministic_and_hash_covers_the_body(specs) -> None:
    spec = specs["orders"]
    first, second = render_dag(spec), render_dag(spec)
    assert first == second
    marker_line = next(line for line in first.splitlines() if line.startswith(MARKER))
    assert marker_line == (
        f"{MARKER} v1 source=packages/sales/jobs/orders.py "
        f"sha256={hashlib.sha256(render_body(spec).encode()).hexdigest()}"
    )
    assert dag_filename(spec) == "sales__orders.py"


def test_generated_file_imports_only_airflow_sdk_at_parse_time(specs) -> None:
    tree = ast.parse(render_dag(specs["legacy"]))
    top_imports = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    modules = sorted(
        (n.module if isinstance(n, ast.ImportFrom) else n.names[0].name) for n in top_imports
    )
    assert modules == ["__future__", "airflow.sdk", "datetime", "os"]
    no_pod = ast.parse(render_dag(specs["legacy"], pod_template=False))
    assert not [n for n in no_pod.body if isinstance(n, ast.Import) and n.names[0].name == "os"]
    assert "dagplane.jobs.airflow_task" in render_dag(specs["legacy"])
    assert "run_job()" in render_dag(specs["legacy"])


def test_a_description_ending_in_md_is_not_read_as_a_file(write_job, packages) -> None:
    write_job("docs", "readme", "def main(argv):\n    return 0\n\nJOB = (main, 'see README.md')\n")
    [spec] = discover(packages, root=packages.parent).jobs
    tree = ast.parse(render_dag(spec))
    dag_function = next(n for n in tree.body if isinstance(n, ast.FunctionDef))
    # The docs Airflow shows (doc_md comes from the docstring) are the description itself, with
    # one newline so that Airflow does not take "...README.md" for a template file to read.
    assert ast.get_docstring(dag_function, clean=False) == "see README.md\n"
    decorator = dag_function.decorator_list[0]
    description = next(k.value for k in decorator.keywords if k.arg == "description")
    assert ast.literal_eval(description) == "see README.md"
