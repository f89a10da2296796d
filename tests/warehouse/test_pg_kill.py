"""A load killed with SIGKILL mid-way leaves no rows and no watermark behind; a rerun is clean."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timezone
from pathlib import Path

from dagplane.connectors.pages import CsvPage
from dagplane.connectors.salesforce.fields import SalesforceField as F

FIELDS = [
    F("Id", "id", 18, nillable=False),
    F("Name", "string", 80),
    F("SystemModstamp", "datetime"),
]
NEW_STAMP = "2024-05-01T00:00:00.000Z"

LOADER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from dagplane.warehouse.postgres import PostgresDestination
    from test_pg_kill import FIELDS, pages

    url, schema, marker = sys.argv[1:]

    def pages_then_hang():
        yield from pages()
        Path(marker).write_text("pages copied")
        time.sleep(120)

    dest = PostgresDestination(url, schema=schema)
    dest.load_object(object_name="Account", fields=FIELDS, pages=pages_then_hang(), run_id="killed")
    """
)


def pages(count: int = 3, rows: int = 1000):
    """``count`` pages of new Account rows stamped ``NEW_STAMP``."""
    for n in range(count):
        body = "".join(f"001{n * rows + i + 1:015d},Row {i},{NEW_STAMP}\n" for i in range(rows))
        yield CsvPage("Account", ("Id", "Name", "SystemModstamp"), body.encode(), rows, n)


def test_sigkill_mid_load_keeps_nothing_and_a_rerun_loads_cleanly(
    dest, postgres_url, schema, query, tmp_path
):
    seed_row = b"001000000000000000,Seed,2024-01-01T00:00:00Z\n"
    seed = CsvPage("Account", ("Id", "Name", "SystemModstamp"), seed_row, 1)
    before = dest.load_object(object_name="Account", fields=FIELDS, pages=[seed], run_id="seed")
    marker = tmp_path / "copied"
    child = subprocess.Popen(
        [sys.executable, "-c", LOADER, postgres_url, schema, str(marker)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent)},
    )
    try:
        deadline = time.monotonic() + 20
        while not marker.exists():
            assert child.poll() is None, "the loader exited before copying its pages"
            assert time.monotonic() < deadline, "the loader never copied its pages"
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=10) == -signal.SIGKILL
    finally:
        child.kill()

    assert query(f'SELECT id, _run_id FROM "{schema}".account') == [("001000000000000000", "seed")]
    assert dest.read_watermark("Account") == before.watermark

    rerun = dest.load_object(object_name="Account", fields=FIELDS, pages=pages(), run_id="rerun")

    assert (rerun.rows_copied, rerun.rows_merged) == (3000, 3000)
    assert rerun.watermark == datetime(2024, 5, 1, tzinfo=timezone.utc)
    assert query(f'SELECT count(*), count(DISTINCT id) FROM "{schema}".account') == [(3001, 3001)]
