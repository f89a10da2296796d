"""`dagplane demo` works end to end, as a new user runs it (smaller data, same path)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# The demos run DAGs through real Airflow 3: 12-25 s each.
pytestmark = [pytest.mark.airflow, pytest.mark.slow]


def run_demo(*args: str, expect: int = 0) -> str:
    """Run `dagplane demo ARGS` from the project root as a user would; its whole output."""
    proc = subprocess.run(
        [sys.executable, "-m", "dagplane.cli", "demo", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == expect, out[-4000:]
    return out


def test_salesforce_demo_runs_full_then_incremental(tmp_path: Path) -> None:
    work = tmp_path / "work"
    out = run_demo("--records", "3000", "--workdir", str(work))
    assert "first run (full load)" in out and "second run (incremental)" in out
    for name in ("Account", "Contact", "Opportunity", "Lead", "Case", "User"):
        assert f"│ {name}" in out
    flat = " ".join(out.split())
    assert (
        "incremental result: 250/250 updates merged, 40/40 deletes marked in _deleted_at, " in flat
    )
    assert "new column region__c filled for " in flat
    assert "demo finished in" in out
    # --workdir keeps AIRFLOW_HOME, the DAGs and the PostgreSQL data (a temp folder is removed).
    assert (work / "airflow" / "airflow.cfg").is_file()
    assert (work / "airflow" / "airflow.db").is_file()
    assert (work / "dags" / "salesforce__salesforce_to_postgres.py").is_file()
    assert (work / "postgres" / "pgdata" / "PG_VERSION").read_text().strip() == "18"
    assert (work / "emulator" / "ca.pem").is_file()


def test_examples_demo_runs_the_mapped_dag() -> None:
    out = run_demo("--examples")
    assert "secret masked in task logs: yes" in out
    for region in ("emea", "amer", "apac"):
        assert f"regional_report_{region}.json" in out


# Installed by an event trigger as soon as the demo creates salesforce.account: a warehouse that
# silently keeps every Account's old rating, so the demo's incremental check must catch it.
KEEP_OLD_RATINGS = """
CREATE FUNCTION public.keep_old_rating() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.rating := OLD.rating; RETURN NEW; END $$;
CREATE FUNCTION public.arm_keep_old_rating() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT FROM pg_event_trigger_ddl_commands()
             WHERE object_identity = 'salesforce.account') THEN
    CREATE TRIGGER keep_old_rating BEFORE UPDATE ON salesforce.account
      FOR EACH ROW EXECUTE FUNCTION public.keep_old_rating();
  END IF;
END $$;
CREATE EVENT TRIGGER arm_keep_old_rating ON ddl_command_end WHEN TAG IN ('CREATE TABLE')
  EXECUTE FUNCTION public.arm_keep_old_rating();
"""


def test_salesforce_demo_loads_into_postgres_url_and_exits_1_when_a_check_fails(
    postgres_url: str,
) -> None:
    import urllib.parse

    import psycopg

    name = "demo_target"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    target = urllib.parse.urlunsplit(urllib.parse.urlsplit(postgres_url)._replace(path=f"/{name}"))
    with psycopg.connect(target, autocommit=True) as conn:
        conn.execute(KEEP_OLD_RATINGS)

    out = run_demo("--records", "3000", "--postgres-url", target, expect=1)

    flat = " ".join(out.split())
    assert "second run (incremental)" in out
    assert "250/250 updates merged" not in flat and "/250 updates merged" in flat
    assert "40/40 deletes marked in _deleted_at" in flat  # the other checks still pass
    assert "demo finished with problems" in out
    with psycopg.connect(target) as conn:
        loaded = dict(
            conn.execute(
                "SELECT object_name, sum(rows_copied) FROM salesforce._dagplane_loads"
                " GROUP BY object_name"
            ).fetchall()
        )
        (accounts,) = conn.execute("SELECT count(*) FROM salesforce.account").fetchone()
    assert sorted(loaded) == ["Account", "Case", "Contact", "Lead", "Opportunity", "User"]
    assert accounts == 600  # 20% of --records 3000, loaded into the database we named
