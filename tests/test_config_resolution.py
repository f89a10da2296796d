"""Settings resolve flag > ``DAGPLANE__<KEY>`` > ``[tool.dagplane]`` > default, through the CLI.

Each layer points at its own folder holding a package of its own name, so which folder the real
``dagplane sync`` read (and wrote) shows in the DAG ids it produced; the registry shows in the
image reference of the generated worker pod template.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from dagplane.cli import main

JOB = "from dagplane import Job\n\ndef run(ctx):\n    return 0\n\nJOB = Job(entrypoint=run)\n"
PYPROJECT = """\
[project]
name = "someone-elses-project"

[tool.dagplane]
packages-dir = "jobs_here"
dags-dir = "out"
registry = "registry.from-toml.example"
"""
# The keys README.md lists for [tool.dagplane], plus max-prune-share (README, `dagplane sync`).
KNOWN = (
    "chart-dir, chart-schema, crd-dir, dags-dir, deploy-dir, image-owner, image-pull-secret, "
    "images-dir, max-prune-share, packages-dir, registry, secret-store, worker-base"
)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Project ``acme``, whose every layer has its own packages folder; the working directory."""
    root = tmp_path / "acme"  # images are named <registry>/<image-owner>/<project>-<image>
    for folder, package in [
        ("packages", "from_default"),
        ("jobs_here", "from_toml"),
        ("env_jobs", "from_env"),
        ("flag_jobs", "from_flag"),
    ]:
        job = root / folder / package / "jobs" / "job.py"
        job.parent.mkdir(parents=True)
        job.write_text(JOB, encoding="utf-8")
    (root / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    for key in ("PACKAGES_DIR", "DAGS_DIR", "REGISTRY", "IMAGE_OWNER"):
        monkeypatch.delenv(f"DAGPLANE__{key}", raising=False)
    monkeypatch.chdir(root)
    return root


def sync(capsys: pytest.CaptureFixture[str], *flags: str) -> list[str]:
    """Run the real `dagplane sync --json`; the DAG files it wrote."""
    code = main(["sync", "--json", *flags])
    out = capsys.readouterr().out
    assert code == 0, out
    return [name for name in json.loads(out)["written"] if name.endswith(".py")]


def image_of(template: Path) -> str:
    pod = yaml.safe_load(template.read_text(encoding="utf-8"))
    [container] = pod["spec"]["containers"]
    return container["image"]


def dag_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*.py"))


def test_pyproject_beats_the_defaults(project: Path, capsys) -> None:
    assert sync(capsys) == ["from_toml__job.py"]
    assert dag_files(project / "out") == ["from_toml__job.py"]
    assert not (project / "dags").exists()
    image = image_of(project / "out" / "pod_templates" / "from_toml__job.yaml")
    assert image.startswith("registry.from-toml.example/example-org/acme-from-toml:sha-")


def test_the_environment_beats_pyproject(project: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("DAGPLANE__PACKAGES_DIR", "env_jobs")
    monkeypatch.setenv("DAGPLANE__DAGS_DIR", "env_out")
    monkeypatch.setenv("DAGPLANE__REGISTRY", "registry.from-env.example")
    assert sync(capsys) == ["from_env__job.py"]
    assert dag_files(project / "env_out") == ["from_env__job.py"]
    assert not (project / "out").exists()
    image = image_of(project / "env_out" / "pod_templates" / "from_env__job.yaml")
    assert image.startswith("registry.from-env.example/example-org/acme-from-env:sha-")


def test_flags_beat_the_environment(project: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("DAGPLANE__PACKAGES_DIR", "env_jobs")
    monkeypatch.setenv("DAGPLANE__DAGS_DIR", "env_out")
    flags = ("--packages-dir", "flag_jobs", "--dags-dir", "flag_out")
    assert sync(capsys, *flags) == ["from_flag__job.py"]
    assert dag_files(project / "flag_out") == ["from_flag__job.py"]
    assert not (project / "env_out").exists() and not (project / "out").exists()


def test_defaults_when_nothing_is_set(project: Path, capsys) -> None:
    (project / "pyproject.toml").write_text("[tool.dagplane]\n", encoding="utf-8")
    assert sync(capsys) == ["from_default__job.py"]
    assert dag_files(project / "dags") == ["from_default__job.py"]
    image = image_of(project / "dags" / "pod_templates" / "from_default__job.yaml")
    assert image.startswith("ghcr.io/example-org/acme-from-default:sha-")


def test_settings_resolve_from_the_project_root_in_a_subfolder(
    project: Path, capsys, monkeypatch
) -> None:
    work = project / "deep" / "er"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    assert sync(capsys) == ["from_toml__job.py"]
    assert dag_files(project / "out") == ["from_toml__job.py"]
    assert not (work / "out").exists()


def test_an_unknown_key_names_the_file_and_the_known_keys(project: Path, capsys) -> None:
    (project / "pyproject.toml").write_text(
        '[tool.dagplane]\npackages_dir = "jobs_here"\nregistery = "x"\n', encoding="utf-8"
    )
    assert main(["sync"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == (
        f"error: {project / 'pyproject.toml'}: [tool.dagplane] has unknown key(s) "
        f"packages_dir, registery (known: {KNOWN})"
    )
    assert not (project / "dags").exists() and not (project / "out").exists()
