"""`dagplane images render|build`: through the one writer, stale checks, engines."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

from dagplane.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_committed_images_and_workflow_are_fresh(capsys) -> None:
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        code = main(["images", "render", "--check"])
    finally:
        os.chdir(cwd)
    assert code == 0, capsys.readouterr().err


def test_a_changed_job_makes_check_fail_until_render(project_copy, capsys) -> None:
    assert main(["images", "render", "--check"]) == 0
    workflow = project_copy / ".github" / "workflows" / "dagplane-images.yml"
    before = workflow.read_text(encoding="utf-8")
    job = project_copy / "packages" / "salesforce" / "jobs" / "salesforce_to_postgres.py"
    job.write_text(job.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["images", "render", "--check", "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["workflow"]["written"] == ["dagplane-images.yml"]
    assert out["images"]["written"] == []  # the Dockerfiles do not name the tag
    assert workflow.read_text(encoding="utf-8") == before  # --check writes nothing
    assert main(["images", "render"]) == 0
    after = workflow.read_text(encoding="utf-8")
    tags = [line.split()[-1] for line in after.splitlines() if "tag: sha-" in line]
    old = [line.split()[-1] for line in before.splitlines() if "tag: sha-" in line]
    assert tags[:2] == old[:2] and tags[2] != old[2]  # examples, reports, salesforce
    assert main(["images", "render", "--check"]) == 0


def test_render_prunes_owned_files_and_never_touches_hand_written_ones(project_copy, capsys):
    stale = project_copy / "images" / "gone" / "Dockerfile"
    stale.parent.mkdir()
    stale.write_text(
        (project_copy / "images" / "salesforce" / "Dockerfile").read_text(encoding="utf-8")
    )
    mine = project_copy / "images" / "salesforce" / "requirements.txt"
    mine.write_text("hand-written\n", encoding="utf-8")
    assert main(["images", "render"]) == 1
    err = capsys.readouterr().err
    assert "salesforce/requirements.txt already exist(s) without dagplane's marker" in err
    assert mine.read_text(encoding="utf-8") == "hand-written\n"
    assert not stale.exists()


def test_build_without_an_engine_is_one_line_and_exit_1(monkeypatch, tmp_path, capsys) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["images", "build"]) == 1
    err = capsys.readouterr().err
    assert err == (
        "error: no container engine found on PATH (tried docker, podman, buildah): install "
        "one, or let CI build the images (.github/workflows/dagplane-images.yml)\n"
    )


def test_build_calls_the_engine_with_the_content_tag(monkeypatch, tmp_path, capsys) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.json"
    engine = bin_dir / "podman"
    engine.write_text(
        "#!/bin/sh\n"
        f"{sys.executable} -c "
        "'import json,os,sys; print(json.dumps([os.getcwd(), *sys.argv[1:]]))' "
        f'"$@" >> {log}\n'
    )
    docker = bin_dir / "docker"  # a client with no daemon behind it, as on many machines
    docker.write_text("#!/bin/sh\necho 'Cannot connect to the Docker daemon' >&2\nexit 1\n")
    for fake in (engine, docker):
        fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.chdir(ROOT)
    assert main(["images", "build", "salesforce", "--base-image", "stand-in:3.3.2", "--json"]) == 0
    built = json.loads(capsys.readouterr().out)
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert calls[0] == [str(ROOT), "info"]  # docker did not answer; podman did
    cwd, *argv = calls[1]
    assert cwd == str(ROOT)
    assert argv == [
        "build",
        "-f",
        "images/salesforce/Dockerfile",
        "-t",
        built["salesforce"],
        "--ignorefile",
        "images/salesforce/Dockerfile.dockerignore",
        "--build-arg",
        "BASE_IMAGE=stand-in:3.3.2",
        ".",
    ]
    assert built["salesforce"].startswith("ghcr.io/example-org/dagplane-salesforce:sha-")
    # Another base is another image, so another tag than the default one.
    assert built["salesforce"] not in (ROOT / ".github/workflows/dagplane-images.yml").read_text()
