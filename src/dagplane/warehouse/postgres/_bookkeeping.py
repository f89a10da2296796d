"""The schema and the tables every load shares: watermarks and the record of loads.

Airflow runs one task per object, so on a fresh database many loads try to create these at
the same moment, and ``CREATE ... IF NOT EXISTS`` is not safe against that (two sessions both
see "missing" and one fails on the catalog's unique index). Creation is therefore serialized
by a transaction-level advisory lock, and only attempted when something is missing, so a
database whose schema a DBA made needs no CREATE privilege.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from psycopg import sql

from dagplane.warehouse.postgres._errors import PostgresLoadError

if TYPE_CHECKING:
    import psycopg

    from dagplane.warehouse.postgres._loader import LoadResult

__all__ = [
    "LOADS_TABLE",
    "WATERMARKS_TABLE",
    "advance_watermark",
    "ensure_bookkeeping",
    "lock",
    "read_watermark",
    "record_load",
    "require_read_committed",
]

WATERMARKS_TABLE = "_dagplane_watermarks"
# One row per committed load: what each run did, for operators (and the demo's summary).
LOADS_TABLE = "_dagplane_loads"
# Columns added after the first release; created tables have them, older ones get them here.
_LOADS_ADDED = {"nul_bytes_removed": "bigint NOT NULL DEFAULT 0"}


def lock(conn: psycopg.Connection, name: str) -> None:
    """Take the transaction-level advisory lock ``dagplane:<name>`` (released at commit)."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"dagplane:{name}",))


def require_read_committed(conn: psycopg.Connection) -> None:
    """Refuse a transaction whose snapshot could hide tables other loads just created."""
    (level,) = conn.execute("SHOW transaction_isolation").fetchone()
    if level != "read committed":
        raise PostgresLoadError(
            f"the load runs in a {level} transaction, but creating and evolving tables while "
            "other loads run needs read committed (fix: load on a connection of its own, or "
            "SET TRANSACTION ISOLATION LEVEL READ COMMITTED first)"
        )


def ensure_bookkeeping(conn: psycopg.Connection, schema: str) -> None:
    """Create ``schema`` and its bookkeeping tables where missing, one session at a time.

    On an idle connection this commits its own short transaction, so concurrent loads wait
    for each other only while the tables are created; inside a caller's transaction it joins
    it (and the lock is held until the caller commits).
    """
    with conn.transaction():
        require_read_committed(conn)
        if _ready(conn, schema):
            return
        lock(conn, f"schema:{schema}")
        # to_regnamespace reads the current catalog, not this transaction's snapshot.
        (exists,) = conn.execute("SELECT to_regnamespace(%s) IS NOT NULL", (schema,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} ("
                " object_name text PRIMARY KEY, cursor_field text NOT NULL,"
                " watermark timestamptz, run_id text NOT NULL, rows_loaded bigint NOT NULL,"
                " updated_at timestamptz NOT NULL)"
            ).format(sql.Identifier(schema, WATERMARKS_TABLE))
        )
        loads = sql.Identifier(schema, LOADS_TABLE)
        conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} ("
                " run_id text NOT NULL, object_name text NOT NULL, rows_copied bigint NOT NULL,"
                " rows_merged bigint NOT NULL, rows_deleted bigint NOT NULL,"
                " watermark timestamptz, seconds double precision NOT NULL,"
                " schema_changes text[] NOT NULL, loaded_at timestamptz NOT NULL DEFAULT now())"
            ).format(loads)
        )
        for column, definition in _LOADS_ADDED.items():
            conn.execute(
                sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} {}").format(
                    loads, sql.Identifier(column), sql.SQL(definition)
                )
            )


def _ready(conn: psycopg.Connection, schema: str) -> bool:
    """True when both tables exist with every column (a catalog read, no lock)."""
    row = conn.execute(
        "SELECT to_regclass(%s) IS NOT NULL, (SELECT count(*) FROM pg_attribute"
        " WHERE attrelid = to_regclass(%s) AND attname = ANY(%s) AND NOT attisdropped)",
        (
            sql.Identifier(schema, WATERMARKS_TABLE).as_string(conn),
            sql.Identifier(schema, LOADS_TABLE).as_string(conn),
            list(_LOADS_ADDED),
        ),
    ).fetchone()
    assert row is not None
    return bool(row[0]) and row[1] == len(_LOADS_ADDED)


def read_watermark(
    conn: psycopg.Connection, object_name: str, *, schema: str = "salesforce"
) -> datetime | None:
    """The committed watermark of ``object_name``, or None before its first load."""
    qualified = sql.Identifier(schema, WATERMARKS_TABLE)
    (exists,) = conn.execute(
        "SELECT to_regclass(%s) IS NOT NULL", (qualified.as_string(conn),)
    ).fetchone()
    if not exists:
        return None
    row = conn.execute(
        sql.SQL("SELECT watermark FROM {} WHERE object_name = %s").format(qualified), (object_name,)
    ).fetchone()
    return row[0] if row else None


def advance_watermark(
    conn: psycopg.Connection,
    schema: str,
    object_name: str,
    cursor_field: str,
    run_id: str,
    rows: int,
    newest: datetime | None,
) -> datetime | None:
    """Record the run; the watermark only moves forward (unless the cursor field changed)."""
    row = conn.execute(
        sql.SQL(
            "INSERT INTO {table} AS w"
            " (object_name, cursor_field, watermark, run_id, rows_loaded, updated_at)"
            " VALUES (%(object)s, %(field)s, %(newest)s, %(run_id)s, %(rows)s, now())"
            " ON CONFLICT (object_name) DO UPDATE SET"
            " watermark = CASE WHEN w.cursor_field = EXCLUDED.cursor_field"
            "  THEN greatest(w.watermark, EXCLUDED.watermark) ELSE EXCLUDED.watermark END,"
            " cursor_field = EXCLUDED.cursor_field, run_id = EXCLUDED.run_id,"
            " rows_loaded = EXCLUDED.rows_loaded, updated_at = EXCLUDED.updated_at"
            " RETURNING watermark"
        ).format(table=sql.Identifier(schema, WATERMARKS_TABLE)),
        {
            "object": object_name,
            "field": cursor_field,
            "newest": newest,
            "run_id": run_id,
            "rows": rows,
        },
    ).fetchone()
    assert row is not None
    return row[0]


def record_load(conn: psycopg.Connection, schema: str, run_id: str, result: LoadResult) -> None:
    """Append what one load did to ``_dagplane_loads``."""
    conn.execute(
        sql.SQL(
            "INSERT INTO {} (run_id, object_name, rows_copied, rows_merged, rows_deleted,"
            " watermark, seconds, schema_changes, nul_bytes_removed)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
        ).format(sql.Identifier(schema, LOADS_TABLE)),
        (
            run_id,
            result.object_name,
            result.rows_copied,
            result.rows_merged,
            result.rows_deleted,
            result.watermark,
            result.seconds,
            [str(change) for change in result.schema_changes],
            result.nul_bytes_removed,
        ),
    )
