"""The Salesforce → PostgreSQL demo: the main job, end to end, on embedded defaults.

Starts embedded PostgreSQL and the bundled Salesforce emulator, syncs the DAGs, runs the
Salesforce DAG through real Airflow 3, changes data in the emulator (updates, deletes, a new
custom field) and runs it again to show the incremental result.

Point it at your own PostgreSQL with ``--postgres-url`` (or ``POSTGRES_URL``), and at a real
org with ``--real-salesforce`` (credentials from ``SALESFORCE_*`` in the environment).
"""

from __future__ import annotations

import contextlib
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from dagplane.dags.local_airflow import LocalAirflow
from dagplane.demo._steps import prepare_airflow
from dagplane.errors import JobFailedError

if TYPE_CHECKING:
    from dagplane.emulators.salesforce import SalesforceEmulator

__all__ = ["DEMO_DAG", "SalesforceDemo", "run_salesforce_demo"]

DEMO_DAG = "salesforce__salesforce_to_postgres"
_TASK_END = re.compile(r"\[DAG TEST\] end task task_id=\S+ map_index=(\d+)")


def run_salesforce_demo(
    workdir: Path | None = None,
    *,
    records: int = 100_000,
    postgres_url: str | None = None,
    real_salesforce: bool = False,
) -> int:
    """Run the demo in ``workdir`` (a temporary folder, removed after, when None)."""
    console = Console(stderr=True, highlight=False, width=max(100, _terminal_width()))
    work = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="dagplane-demo-"))
    started = time.monotonic()
    try:
        demo = SalesforceDemo(work, records, postgres_url, real_salesforce, console)
        code = demo.run()
    finally:
        if workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    verdict = "[green]demo finished[/]" if code == 0 else "[red]demo finished with problems[/]"
    console.print(f"{verdict} in {time.monotonic() - started:.0f}s")
    if workdir is not None:
        console.print(
            f"kept in {work}: Airflow home and task logs in {work / 'airflow'}, DAG files in "
            f"{work / 'dags'}"
            + ("" if postgres_url else f", PostgreSQL data in {work / 'postgres'}")
        )
    console.print("to run and watch these DAGs in the Airflow UI: uv run dagplane dev up")
    return code


@dataclass
class SalesforceDemo:
    """Settings of one demo run."""

    work: Path
    records: int = 100_000
    postgres_url: str | None = None
    real_salesforce: bool = False
    console: Console | None = None

    def run(self) -> int:
        """Run both DAG runs and print their summaries; 0 when everything checked out."""
        console = self.console or Console(stderr=True, highlight=False)
        with contextlib.ExitStack() as stack:
            postgres_url = self.postgres_url or stack.enter_context(self._embedded_postgres())
            emulator = None if self.real_salesforce else stack.enter_context(self._emulator())
            airflow, discovery = prepare_airflow(
                self.work, self._env(postgres_url, emulator), console
            )
            spec = discovery.get(DEMO_DAG)
            partitions = spec.options.partitions if spec else ()
            first = self._dag_run(airflow, console, "first run: full load", len(partitions))
            self._print_loads(postgres_url, first, console, "first run (full load)")
            if emulator is None:
                return 0
            changed = self._change_data(emulator, console)
            second = self._dag_run(airflow, console, "second run: incremental", len(partitions))
            self._print_loads(postgres_url, second, console, "second run (incremental)")
            return self._check_incremental(postgres_url, changed, console)

    @contextlib.contextmanager
    def _embedded_postgres(self) -> Iterator[str]:
        from dagplane.warehouse.postgres.embedded import embedded_postgres

        with embedded_postgres(self.work / "postgres") as url:
            yield url

    @contextlib.contextmanager
    def _emulator(self) -> Iterator[SalesforceEmulator]:
        from dagplane.emulators.salesforce import SalesforceEmulator

        with SalesforceEmulator(records=self.records, state_dir=self.work / "emulator") as emu:
            yield emu

    def _env(self, postgres_url: str, emulator: SalesforceEmulator | None) -> dict[str, str]:
        """Where the DAG's tasks find PostgreSQL and Salesforce (the emulator, or your org)."""
        env = {"POSTGRES_URL": postgres_url}
        if emulator is not None:
            creds = emulator.credentials
            env.update(
                {
                    "SALESFORCE_LOGIN_URL": emulator.url,
                    "SALESFORCE_CA_BUNDLE": str(emulator.ca_bundle),
                    "SALESFORCE_USERNAME": creds["username"],
                    "SALESFORCE_PASSWORD": creds["password"],
                    "SALESFORCE_SECURITY_TOKEN": creds["security_token"],
                }
            )
        return env

    def _dag_run(self, airflow: LocalAirflow, console: Console, label: str, total: int) -> str:
        """Run the DAG once with a progress bar over its mapped tasks; return its run id."""
        progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        )
        with progress:
            bar = progress.add_task(f"{label}: {DEMO_DAG}", total=total)

            def on_line(line: str) -> None:
                if _TASK_END.search(line):
                    progress.advance(bar)

            proc = airflow.test_dag(DEMO_DAG, on_line=on_line)
        run_ids = re.findall(r"run_id=(manual__\S+?),", proc.stdout)
        if proc.returncode != 0 or not run_ids:
            console.print(proc.stdout[-5000:])
            raise JobFailedError(DEMO_DAG, f"`airflow dags test` exited with {proc.returncode}")
        return run_ids[-1]

    def _print_loads(self, postgres_url: str, run_id: str, console: Console, title: str) -> None:
        import psycopg

        with psycopg.connect(postgres_url) as conn:
            rows = conn.execute(
                "SELECT object_name, rows_copied, rows_merged, rows_deleted, seconds, watermark "
                "FROM salesforce._dagplane_loads WHERE run_id = %s ORDER BY object_name",
                (run_id,),
            ).fetchall()
        table = Table(title=f"{title}, {run_id}", title_justify="left")
        for column in ("object", "rows", "merged", "deleted", "seconds", "rows/s", "watermark"):
            table.add_column(column, justify="left" if column == "object" else "right")
        for name, copied, merged, deleted, seconds, watermark in rows:
            rate = f"{copied / seconds:,.0f}" if seconds else "-"
            table.add_row(
                name,
                f"{copied:,}",
                f"{merged:,}",
                f"{deleted:,}",
                f"{seconds:.2f}",
                rate,
                f"{watermark:%Y-%m-%d %H:%M:%S}" if watermark else "-",
            )
        console.print(table)

    def _change_data(self, emu: SalesforceEmulator, console: Console) -> dict[str, list[str]]:
        updated = emu.update("Account", count=250, fields={"Rating": "Hot"})
        deleted = emu.delete("Contact", count=40)
        emu.add_field("Account", "Region__c", type="picklist")
        console.print(
            f"[yellow]↻[/] changed the org: {len(updated)} Accounts updated, {len(deleted)} "
            "Contacts deleted, custom field Account.Region__c added"
        )
        return {"updated": updated, "deleted": deleted}

    def _check_incremental(
        self, postgres_url: str, changed: dict[str, list[str]], console: Console
    ) -> int:
        import psycopg

        with psycopg.connect(postgres_url) as conn:
            (marked,) = conn.execute(
                "SELECT count(*) FROM salesforce.contact "
                "WHERE _deleted_at IS NOT NULL AND id = ANY(%s)",
                (changed["deleted"],),
            ).fetchone()
            (hot,) = conn.execute(
                "SELECT count(*) FROM salesforce.account WHERE rating = 'Hot' AND id = ANY(%s)",
                (changed["updated"],),
            ).fetchone()
            (has_region,) = conn.execute(
                "SELECT count(*) FROM information_schema.columns WHERE table_schema = "
                "'salesforce' AND table_name = 'account' AND column_name = 'region__c'"
            ).fetchone()
            filled, accounts = (
                conn.execute("SELECT count(region__c), count(*) FROM salesforce.account").fetchone()
                if has_region
                else (0, 0)
            )
        ok = marked == len(changed["deleted"]) and hot == len(changed["updated"]) and filled > 0
        console.print(
            f"incremental result: {hot}/{len(changed['updated'])} updates merged, "
            f"{marked}/{len(changed['deleted'])} deletes marked in _deleted_at, new column "
            f"region__c {'filled for ' + format(filled, ',') if has_region else 'MISSING'} of "
            f"{accounts:,} accounts (a new field makes its object re-read once)"
        )
        return 0 if ok else 1


def _terminal_width() -> int:
    return shutil.get_terminal_size().columns
