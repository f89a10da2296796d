"""Benchmark: sync 1,000 jobs, then parse the DAGs with Airflow's DagBag against hand-written peers.

    uv run python bench/sync_parse.py [--jobs 1000] [--rounds 5] [--json]

Measured in one run, because absolute times on shared machines mean little:
- cold sync of N synthetic jobs (discover + render + write), target < 2 s for 1,000 jobs;
- no-op resync, which must write 0 files;
- DagBag parse time per DAG of the generated files and of an equal set of hand-written minimal
  DAGs with the same schedule, tasks and mapping (each side's fastest of several alternating
  rounds); target ratio generated / hand-written <= 1.2;
- DagBag parse time of the generated DAGs with their worker pod settings (executor_config naming
  a pod template file, as `dagplane sync` writes them) against the same DAGs rendered without
  pod settings; target ratio <= 1.2. For reference, the other form: the same DAGs carrying a
  ``V1Pod`` in ``executor_config`` (kubernetes models imported by the DAG file), and what
  importing those models costs a fresh interpreter (the DAG processor parses each file in a
  fresh process, where a warm DagBag hides that import).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

SCHEDULES = ["@hourly", "@daily", "*/15 * * * *", "0 6 * * 1-5", None]
PARTITIONS = ["emea", "amer", "apac", "anz"]


def write_jobs(packages: Path, count: int) -> list[dict]:
    """Write ``count`` job modules over 10 packages; return what each declares."""
    jobs = []
    for i in range(count):
        package, schedule = f"team{i % 10}", SCHEDULES[i % len(SCHEDULES)]
        partitions = PARTITIONS if i % 3 == 0 else []
        folder = packages / package / "jobs"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"job{i:04d}.py").write_text(
            textwrap.dedent(
                f"""\
                import some_heavy_dependency
                from dagplane import Job, Secret

                def run(ctx):
                    return some_heavy_dependency.work(ctx)

                JOB = Job(
                    entrypoint=run,
                    description="Synthetic job {i}.",
                    schedule={schedule!r},
                    image="{package}",
                    secrets=[Secret(name="{package}-db", keys=["DB_PASSWORD"])],
                    partitions={partitions!r},
                    retries=2,
                    timeout="1h",
                    tags=["bench"],
                )
                """
            )
        )
        jobs.append({"dag_id": f"{package}__job{i:04d}", "schedule": schedule, "parts": partitions})
    return jobs


def write_hand_written(folder: Path, jobs: list[dict]) -> None:
    """The DAGs a person would write by hand for the same jobs (no dagplane involved)."""
    folder.mkdir(parents=True, exist_ok=True)
    for job in jobs:
        call = f"run_job.expand(partition={job['parts']!r})" if job["parts"] else "run_job()"
        (folder / f"hand_{job['dag_id']}.py").write_text(
            textwrap.dedent(
                f"""\
                import datetime

                from airflow.sdk import dag, task


                @dag(
                    dag_id="hand_{job["dag_id"]}",
                    schedule={job["schedule"]!r},
                    start_date=datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc),
                    catchup=False,
                )
                def pipeline():
                    @task(task_id="{job["dag_id"].split("__")[1]}")
                    def run_job(partition=None):
                        from dagplane.jobs.airflow_task import run_airflow_task

                        run_airflow_task("x", job_id="x", partition=partition)

                    {call}


                pipeline()
                """
            )
        )


def time_sync(packages: Path, dags: Path) -> tuple[float, int]:
    """Discover, render and write the DAGs and their pod templates, as `dagplane sync` does."""
    import dataclasses

    from dagplane.config import load_config
    from dagplane.jobs.discovery import discover
    from dagplane.plan import SYNC_KINDS, build_plan, write_plan

    config = dataclasses.replace(
        load_config(cwd=packages.parent), packages_dir=packages, dags_dir=dags
    )
    started = time.perf_counter()
    report = write_plan(build_plan(discover(packages), config, SYNC_KINDS), SYNC_KINDS)
    return time.perf_counter() - started, len(report.written)


def write_without_pods(packages: Path, folder: Path) -> None:
    """The same generated DAGs, rendered without worker pod settings."""
    from dagplane.dags.render import dag_filename, render_dag
    from dagplane.jobs.discovery import discover

    folder.mkdir(parents=True, exist_ok=True)
    for spec in discover(packages).jobs:
        (folder / dag_filename(spec)).write_text(render_dag(spec, pod_template=False))


def write_with_v1pod(dags: Path, folder: Path) -> None:
    """The generated DAGs with a ``V1Pod`` built from their pod template in the DAG file."""
    folder.mkdir(parents=True, exist_ok=True)
    for file in sorted(dags.glob("*.py")):
        text = file.read_text()
        template = dags / "pod_templates" / (file.stem + ".yaml")
        pod = json.loads("".join(x for x in template.read_text().splitlines() if x[:1] != "#"))
        c = pod["spec"]["containers"][0]
        override = (
            "k8s.V1Pod(metadata=k8s.V1ObjectMeta(labels={labels!r}), spec=k8s.V1PodSpec("
            "automount_service_account_token=False, containers=[k8s.V1Container(name='base', "
            "image={image!r}, image_pull_policy='IfNotPresent', "
            "resources=k8s.V1ResourceRequirements(requests={req!r}), "
            "security_context=k8s.V1SecurityContext(run_as_non_root=True, run_as_user=50000, "
            "allow_privilege_escalation=False, read_only_root_filesystem=True, "
            "capabilities=k8s.V1Capabilities(drop=['ALL'])), "
            "volume_mounts=[k8s.V1VolumeMount(name=m['name'], mount_path=m['mountPath']) "
            "for m in {mounts!r}])], "
            "volumes=[k8s.V1Volume(name='tmp', empty_dir=k8s.V1EmptyDirVolumeSource())]))"
        ).format(
            labels=pod["metadata"]["labels"],
            image=c["image"],
            req=c["resources"]["requests"],
            mounts=c["volumeMounts"],
        )
        text = text.replace(
            "import os\n", "import os\n\nfrom kubernetes.client import models as k8s\n"
        ).replace(
            'executor_config={"pod_template_file": _POD_TEMPLATE}',
            f'executor_config={{"pod_override": {override}}}',
        )
        (folder / file.name).write_text(text)


def fresh_import_seconds(module: str, rounds: int = 3) -> float:
    """Seconds a fresh interpreter (with airflow.sdk already imported) spends importing
    ``module``: what each DAG file's parse pays in its own process."""
    code = (
        "import time, airflow.sdk; t = time.perf_counter(); "
        f"import {module}; print(time.perf_counter() - t)"
    )
    times = []
    for _ in range(rounds):
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        times.append(float(done.stdout.strip().splitlines()[-1]))
    return min(times)


def time_parse(folder: Path, expected: int) -> float:
    from airflow.dag_processing.dagbag import DagBag

    started = time.perf_counter()
    bag = DagBag(dag_folder=str(folder), safe_mode=True)
    seconds = time.perf_counter() - started
    if bag.import_errors or len(bag.dags) != expected:
        sys.exit(f"parse failed: {len(bag.dags)} DAGs, errors: {list(bag.import_errors)[:3]}")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="dagplane-bench-"))
    os.environ.setdefault("AIRFLOW_HOME", str(work / "airflow"))
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "WARNING"
    jobs = write_jobs(work / "packages", args.jobs)
    write_hand_written(work / "hand", jobs)

    cold, written = time_sync(work / "packages", work / "dags")
    resync, rewritten = time_sync(work / "packages", work / "dags")
    write_without_pods(work / "packages", work / "no_pods")
    write_with_v1pod(work / "dags", work / "v1pod")

    generated, hand, no_pods, v1pod = [], [], [], []
    time_parse(work / "hand", args.jobs)  # warm imports once, for every side
    time_parse(work / "v1pod", args.jobs)
    sides = [
        (generated, work / "dags"),
        (hand, work / "hand"),
        (no_pods, work / "no_pods"),
        (v1pod, work / "v1pod"),
    ]
    for round_number in range(args.rounds):
        # Rotate which side goes first, so none always inherits another's garbage.
        shift = round_number % len(sides)
        for times, folder in sides[shift:] + sides[:shift]:
            times.append(time_parse(folder, args.jobs))
    # The fastest round of each side: noise on a shared machine only ever adds time.
    gen_ms = min(generated) / args.jobs * 1000
    hand_ms = min(hand) / args.jobs * 1000
    no_pods_ms = min(no_pods) / args.jobs * 1000
    v1pod_ms = min(v1pod) / args.jobs * 1000
    k8s_import_ms = fresh_import_seconds("kubernetes.client.models") * 1000
    figures = {
        "jobs": args.jobs,
        "cold_sync_s": round(cold, 3),
        "cold_sync_target_s": 2.0,
        "cold_sync_vs_target": round(cold / 2.0, 2),
        "files_written_cold": written,
        "noop_resync_s": round(resync, 3),
        "files_written_noop": rewritten,
        "parse_ms_per_dag_generated": round(gen_ms, 3),
        "parse_ms_per_dag_hand_written": round(hand_ms, 3),
        "parse_ratio": round(gen_ms / hand_ms, 3),
        "parse_ratio_target": 1.2,
        "parse_ms_per_dag_with_pod_template": round(gen_ms, 3),
        "parse_ms_per_dag_without_pod_settings": round(no_pods_ms, 3),
        "pod_settings_parse_ratio": round(gen_ms / no_pods_ms, 3),
        "pod_settings_parse_ratio_target": 1.2,
        "parse_ms_per_dag_with_v1pod_warm": round(v1pod_ms, 3),
        "v1pod_parse_ratio_warm": round(v1pod_ms / no_pods_ms, 3),
        "kubernetes_models_fresh_import_ms": round(k8s_import_ms, 1),
        "v1pod_parse_ratio_fresh_process": round((v1pod_ms + k8s_import_ms) / no_pods_ms, 2),
    }
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print(
            f"cold sync of {args.jobs} jobs: {cold:.2f} s ({cold / 2.0:.2f} of the 2 s ceiling),"
            f" {written} files written"
        )
        print(f"no-op resync: {resync:.2f} s, {rewritten} files written (target 0)")
        print(
            f"DagBag parse: generated {gen_ms:.2f} ms/DAG, hand-written {hand_ms:.2f} ms/DAG, "
            f"ratio {gen_ms / hand_ms:.2f} (target <= 1.2)"
        )
        print(
            f"pod settings: with pod template {gen_ms:.2f} ms/DAG, without pod settings "
            f"{no_pods_ms:.2f} ms/DAG, ratio {gen_ms / no_pods_ms:.2f} (target <= 1.2)"
        )
        print(
            f"the other form, a V1Pod in the DAG file: {v1pod_ms:.2f} ms/DAG in a warm DagBag "
            f"(ratio {v1pod_ms / no_pods_ms:.2f}), plus {k8s_import_ms:.0f} ms to import the "
            f"kubernetes models in each fresh parsing process (ratio "
            f"{(v1pod_ms + k8s_import_ms) / no_pods_ms:.1f})"
        )
    shutil.rmtree(work, ignore_errors=True)
    ok = cold < 2.0 and rewritten == 0 and gen_ms / hand_ms <= 1.2 and gen_ms / no_pods_ms <= 1.2
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
