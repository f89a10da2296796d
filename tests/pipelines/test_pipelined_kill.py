"""SIGKILL at random moments of a pipelined load (extraction ahead of COPY), then a normal run.

Each killed run is a child process running the real pipeline against the HTTPS emulator and
real PostgreSQL. After every kill the table and watermark are either exactly as before or
exactly the completed load (nothing in between); after the final normal run the table holds
exactly the emulator's records: no loss, no duplicate, latest values, deletes marked, and the
watermark is the newest stamp loaded.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from dagplane.connectors.salesforce import SalesforceClient
from dagplane.emulators.salesforce import SalesforceEmulator

pytestmark = pytest.mark.slow

ROWS = 12_000
CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from dagplane.connectors.salesforce import SalesforceSource
    from dagplane.pipelines.salesforce import sync_object
    from dagplane.warehouse.postgres import PostgresDestination

    conninfo, schema, started = sys.argv[1:]
    source = SalesforceSource.from_env(mode="bulk", page_size=500, poll_interval=0.001)
    source.client.login()
    destination = PostgresDestination(conninfo, schema=schema)
    Path(started).touch()
    began = time.perf_counter()
    sync_object("Account", source=source, destination=destination, run_id="child")
    print(time.perf_counter() - began)
    """
)


class Child:
    """Runs the pipeline in a child process; ``kill_after`` kills it mid-way."""

    def __init__(self, emu: SalesforceEmulator, conninfo: str, folder: Path) -> None:
        creds = emu.credentials
        self.env = {
            **os.environ,
            "SALESFORCE_LOGIN_URL": emu.url,
            "SALESFORCE_CA_BUNDLE": str(emu.ca_bundle),
            "SALESFORCE_USERNAME": creds["username"],
            "SALESFORCE_PASSWORD": creds["password"],
            "SALESFORCE_SECURITY_TOKEN": creds["security_token"],
        }
        self.conninfo, self.folder, self.runs = conninfo, folder, 0

    def _start(self, schema: str) -> tuple[subprocess.Popen[str], Path]:
        self.runs += 1
        started = self.folder / f"started-{self.runs}"
        command = [sys.executable, "-c", CHILD, self.conninfo, schema, str(started)]
        child = subprocess.Popen(command, env=self.env, stdout=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while not started.exists():
            assert child.poll() is None, "the child exited before it started loading"
            assert time.monotonic() < deadline, "the child never started loading"
            time.sleep(0.005)
        return child, started

    def run(self, schema: str) -> float:
        """A normal run; returns the seconds the load took."""
        child, _ = self._start(schema)
        out, _ = child.communicate(timeout=120)
        assert child.returncode == 0
        return float(out.split()[-1])

    def kill_after(self, schema: str, seconds: float) -> bool:
        """Kill the run ``seconds`` after it started loading; False if it had finished."""
        child, _ = self._start(schema)
        time.sleep(seconds)
        finished = child.poll() is not None
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=30)
        return not finished


def emulator_records(client: SalesforceClient) -> dict[str, tuple[Any, ...]]:
    """Every Account the emulator holds, deleted ones included, read over its REST API."""
    result = client.query("SELECT Id, Name, Rating, SystemModstamp, IsDeleted FROM Account")
    records = list(result["records"])
    while not result["done"]:
        result = client.query_more(result["nextRecordsUrl"])
        records += result["records"]
    return {
        r["Id"]: (r["Name"], r["Rating"], _stamp(r["SystemModstamp"]), r["IsDeleted"])
        for r in records
    }


def _stamp(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")


def warehouse(conninfo: str, schema: str) -> tuple[dict[str, tuple[Any, ...]], int, Any]:
    """(rows by id, row count, watermark) of the Account table; empty before the first load."""
    with psycopg.connect(conninfo) as conn:
        if conn.execute("SELECT to_regclass(%s)", (f"{schema}.account",)).fetchone()[0] is None:
            return {}, 0, None
        found = conn.execute(
            f"SELECT id, name, rating, systemmodstamp, _deleted_at IS NOT NULL "
            f"FROM {schema}.account"
        ).fetchall()
        mark = conn.execute(
            f"SELECT watermark FROM {schema}._dagplane_watermarks WHERE object_name = 'Account'"
        ).fetchone()
    return {r[0]: r[1:] for r in found}, len(found), mark[0] if mark else None


def newest(records: dict[str, tuple[Any, ...]]) -> datetime:
    return max(stamp for _, _, stamp, _ in records.values())


def drop_schema(conninfo: str, schema: str) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def test_random_kills_of_a_pipelined_load_then_a_normal_run_leave_exactly_the_source(
    postgres_url: str, tmp_path: Path, credentials_for: Any
) -> None:
    rng = random.Random(20261201)
    schema = "killed_pipeline"
    with SalesforceEmulator(records=0, records_per_object={"Account": ROWS, "User": 20}) as emu:
        child = Child(emu, postgres_url, tmp_path)
        client = SalesforceClient(credentials_for(emu))
        seconds = child.run("calibration")

        interrupted = 0
        for _ in range(4):  # each kill lands inside a full load, on a fresh schema
            drop_schema(postgres_url, schema)
            killed = child.kill_after(schema, rng.uniform(0.1, 0.6) * seconds)
            rows, count, mark = warehouse(postgres_url, schema)
            if killed and count == 0:
                assert mark is None  # nothing of the load, not even the watermark
                interrupted += 1
            else:  # the kill came after the commit: the load is there whole
                assert (count, rows) == (ROWS, emulator_records(client))
        assert interrupted >= 3, "the kills should land inside the load"

        child.run(schema)
        before = warehouse(postgres_url, schema)
        for _ in range(3):  # kills during incremental loads of several pages
            emu.update("Account", count=2_000, fields={"Rating": rng.choice(["Hot", "Cold"])})
            emu.delete("Account", count=5)
            child.kill_after(schema, rng.uniform(0.05, 0.5))
            after = warehouse(postgres_url, schema)
            if after != before:  # then the run committed, and whole
                assert after[0] == emulator_records(client)
            before = after

        child.run(schema)
        truth = emulator_records(client)
        client.close()

    rows, count, mark = warehouse(postgres_url, schema)
    assert count == len(rows) == len(truth) == ROWS
    assert rows == truth
    assert sum(deleted for *_, deleted in rows.values()) >= 5
    assert mark == newest(truth)
