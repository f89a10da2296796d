"""Benchmark: sync 1,000 jobs, then parse the DAGs with Airflow's DagBag against hand-written peers.

    uv run python bench/sync_parse.py [--jobs 1000] [--rounds 5] [--json]

Measured in one run, because absolute times on shared machines mean little:
- cold sync of N synthetic jobs (discover + render + write), target < 2 s for 1,000 jobs;
- no-op resync, which must write 0 files;
- DagBag parse time per DAG of the generated files and of an equal set of hand-written minimal
  DAGs with the same schedule, tasks and mapping (each side's fastest of several alternating
  rounds); target ratio generated / hand-written <= 1.2.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
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
    from dagplane.dags.sync import sync_dags
    from dagplane.jobs.discovery import discover

    started = time.perf_counter()
    report = sync_dags(discover(packages), dags)
    return time.perf_counter() - started, len(report.written)


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

    generated, hand = [], []
    time_parse(work / "hand", args.jobs)  # warm imports once, for both sides
    for round_number in range(args.rounds):
        # Alternate which side goes first, so neither always inherits the other's garbage.
        sides = [(generated, work / "dags"), (hand, work / "hand")]
        for times, folder in sides if round_number % 2 == 0 else reversed(sides):
            times.append(time_parse(folder, args.jobs))
    # The fastest round of each side: noise on a shared machine only ever adds time.
    gen_ms = min(generated) / args.jobs * 1000
    hand_ms = min(hand) / args.jobs * 1000
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
    shutil.rmtree(work, ignore_errors=True)
    ok = cold < 2.0 and rewritten == 0 and gen_ms / hand_ms <= 1.2
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
