"""Content tags: the same inputs give the same tag, a changed input a new one; never latest."""

from __future__ import annotations

import re
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from dagplane.config import load_config
from dagplane.errors import ImageError
from dagplane.images import content_tag, image_reference, image_references, image_specs
from dagplane.jobs.discovery import discover

JOB = """\
from dagplane import Job


def run(ctx):
    return {value}


JOB = Job(entrypoint=run, image="sales")
"""


def _project(tmp_path: Path, airflow: str = "3.3.2", base: str | None = None) -> Path:
    root = tmp_path / "proj"
    (root / "packages" / "crm" / "jobs").mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[project]\nname = "Acme_Pipes"\nversion = "1"\n\n[tool.dagplane]\n'
        'registry = "registry.example.com"\nimage-owner = "data"\n',
        encoding="utf-8",
    )
    (root / "uv.lock").write_text(
        f'version = 1\n\n[[package]]\nname = "apache-airflow"\nversion = "{airflow}"\n',
        encoding="utf-8",
    )
    base = base if base is not None else f'base = ["apache-airflow=={airflow}"]'
    (root / "packages" / "crm" / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""\
            [project]
            name = "crm-jobs"
            version = "0"
            dependencies = ["dagplane"]

            [dependency-groups]
            {base}
            """
        ),
        encoding="utf-8",
    )
    (root / "packages" / "crm" / "uv.lock").write_text("version = 1\n", encoding="utf-8")
    (root / "packages" / "crm" / "jobs" / "sync_accounts.py").write_text(
        JOB.format(value=0), encoding="utf-8"
    )
    return root


def _tag(root: Path) -> str:
    return image_reference(load_config(cwd=root), "sales", root)


def test_reference_names_registry_owner_project_image_and_a_content_tag(tmp_path) -> None:
    root = _project(tmp_path)
    reference = _tag(root)
    assert re.fullmatch(r"registry\.example\.com/data/acme-pipes-sales:sha-[0-9a-f]{12}", reference)
    assert not reference.endswith(":latest")
    assert image_references(load_config(cwd=root)) == {"sales": reference}


def test_unchanged_inputs_keep_the_tag_and_a_changed_job_moves_it(tmp_path) -> None:
    root = _project(tmp_path)
    first = _tag(root)
    job = root / "packages" / "crm" / "jobs" / "sync_accounts.py"
    job.write_text(JOB.format(value=0), encoding="utf-8")  # rewritten, same bytes
    (root / "packages" / "crm" / "jobs" / "__pycache__").mkdir()
    (root / "packages" / "crm" / "jobs" / "__pycache__" / "x.pyc").write_bytes(b"junk")
    assert _tag(root) == first
    job.write_text(JOB.format(value=1), encoding="utf-8")
    changed = _tag(root)
    assert changed != first
    job.write_text(JOB.format(value=0), encoding="utf-8")
    assert _tag(root) == first  # content, not history


@pytest.mark.parametrize(
    "change",
    ["lock", "helper", "base"],
)
def test_lock_helpers_and_base_image_move_the_tag(tmp_path, change) -> None:
    root = _project(tmp_path)
    config = load_config(cwd=root)
    (spec,) = image_specs(discover(config.packages_dir, root=root), config)
    first = content_tag(spec, root)
    if change == "lock":
        (root / "packages" / "crm" / "uv.lock").write_text("version = 2\n", encoding="utf-8")
        assert content_tag(spec, root) != first
    elif change == "helper":
        (root / "packages" / "crm" / "jobs" / "_util.py").write_text("X = 1\n", "utf-8")
        assert content_tag(spec, root) != first
    else:
        assert content_tag(spec, root, base_image="stand-in/airflow:3.3.2") != first
        assert content_tag(replace(spec, base_image="apache/airflow:3.3.1"), root) != first


def test_files_that_never_go_into_an_image_never_move_its_tag(tmp_path) -> None:
    from dagplane.images import render_dockerignore

    root = _project(tmp_path)
    first = _tag(root)
    crm = root / "packages" / "crm"
    strays = {
        ".env": "SALESFORCE_PASSWORD=hunter2\n",  # a local secret must never reach an image
        "jobs/.sync_accounts.py.swp": "editor",
        ".venv/lib/site.py": "x",
        "run.log": "log",
        "tests/test_sync.py": "def test(): pass\n",
        "jobs/tests/test_more.py": "",
    }
    for name, text in strays.items():
        (crm / name).parent.mkdir(parents=True, exist_ok=True)
        (crm / name).write_text(text, encoding="utf-8")
    assert _tag(root) == first
    # The build context leaves out exactly the same files (one list for both).
    config = load_config(cwd=root)
    (spec,) = image_specs(discover(config.packages_dir, root=root), config)
    ignore = render_dockerignore(spec).splitlines()
    assert ignore[-5:] == ["**/.*", "**/__pycache__", "**/*.pyc", "**/*.log", "**/tests"]
    (crm / "jobs" / "queries.sql").write_text("select 1\n", encoding="utf-8")
    assert _tag(root) != first  # package data does go in


def test_a_package_without_pyproject_is_a_clear_error(tmp_path) -> None:
    root = _project(tmp_path)
    (root / "packages" / "crm" / "pyproject.toml").unlink()
    with pytest.raises(ImageError) as caught:
        _tag(root)
    assert str(caught.value) == (
        "image 'sales': packages/crm/pyproject.toml is missing; it is where the package's jobs "
        "declare their Python dependencies (fix: create it with `dagplane` in "
        '[project].dependencies and `base = ["apache-airflow==3.3.2"]` in '
        "[dependency-groups], then run `uv lock` in packages/crm)"
    )


def test_a_package_locked_against_another_airflow_is_an_error(tmp_path) -> None:
    root = _project(tmp_path, base='base = ["apache-airflow==3.2.0"]')
    with pytest.raises(ImageError, match=r'base must hold "apache-airflow==3.3.2", the control'):
        _tag(root)


def test_a_missing_lock_is_an_error(tmp_path) -> None:
    root = _project(tmp_path)
    (root / "packages" / "crm" / "uv.lock").unlink()
    with pytest.raises(ImageError, match=r"packages/crm/uv.lock is missing \(fix: run `uv lock`"):
        _tag(root)


def test_an_unknown_image_lists_the_known_ones(tmp_path) -> None:
    root = _project(tmp_path)
    with pytest.raises(ImageError, match=r"no job uses an image named 'nope' \(images: sales\)"):
        image_reference(load_config(cwd=root), "nope")
