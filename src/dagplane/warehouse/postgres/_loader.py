"""Load pages into a table and advance the watermark, all in one transaction.

Every page is COPYed as-is into a temporary staging table typed like the target; after the
last page one statement merges staging into the target (newer cursor wins), deleted rows
are marked or removed, and the watermark moves to the newest cursor loaded. A failure or a
kill anywhere before the commit leaves the target and the watermark as they were.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import NoReturn

import psycopg
from psycopg import sql

from dagplane.connectors.pages import CsvPage
from dagplane.connectors.salesforce.fields import SalesforceField
from dagplane.warehouse.postgres._errors import (
    PageRejectedError,
    PostgresLoadError,
    translate_errors,
)
from dagplane.warehouse.postgres._schema import SchemaChange, ensure_table, existing_columns
from dagplane.warehouse.postgres._types import AUDIT_COLUMNS, TIMESTAMPTZ, table_name

__all__ = ["LOADS_TABLE", "WATERMARKS_TABLE", "LoadResult", "load_object", "read_watermark"]

WATERMARKS_TABLE = "_dagplane_watermarks"
# One row per committed load: what each run did, for operators (and the demo's summary).
LOADS_TABLE = "_dagplane_loads"
STAGE = sql.Identifier("_dagplane_stage")
CURSOR_TYPES = frozenset({TIMESTAMPTZ, "date", "timestamp without time zone"})


@dataclass(frozen=True)
class LoadResult:
    """What one ``load_object`` call did.

    ``rows_merged`` counts rows inserted or updated; ``rows_deleted`` counts rows removed
    (``hard_delete``) or, for soft deletes, staged rows flagged ``IsDeleted``; ``watermark``
    is the stored watermark after the load.
    """

    object_name: str
    table: str
    rows_copied: int
    rows_merged: int
    rows_deleted: int
    watermark: datetime | None
    schema_changes: tuple[SchemaChange, ...]
    seconds: float


def load_object(
    conn: psycopg.Connection,
    *,
    schema: str,
    object_name: str,
    fields: Iterable[SalesforceField],
    pages: Iterable[CsvPage],
    run_id: str,
    cursor_field: str = "SystemModstamp",
    hard_delete: bool = False,
) -> LoadResult:
    """Load every page of ``object_name`` and advance its watermark in one transaction.

    ``pages`` is consumed lazily, one page in memory at a time. Rows whose ``cursor_field``
    is older than the stored row are ignored; equal or newer ones are applied. Rows with
    ``IsDeleted = true`` get ``_deleted_at`` set, or are deleted when ``hard_delete``.
    If the caller's connection is already inside a transaction, the load joins it.
    """
    started = time.perf_counter()
    table = table_name(object_name)
    with translate_errors(f"loading {object_name} into {schema}"), conn.transaction():
        conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"dagplane:{schema}.{table}",)
        )
        changes = ensure_table(conn, schema, table, object_name, fields)
        _ensure_watermarks(conn, schema)
        types = {c.name: c.type for c in existing_columns(conn, schema, table).values()}
        cursor = cursor_field.lower()
        if types.get(cursor) not in CURSOR_TYPES:
            raise PostgresLoadError(
                f"{object_name}.{cursor_field}: the cursor field must be a date or datetime "
                f"field of the object (column type: {types.get(cursor, 'no such column')})"
            )
        stage = _Stage(conn, object_name, types, cursor)
        copied = sum(stage.copy(page) for page in pages)
        merged, hard_deleted = stage.merge(sql.Identifier(schema, table), run_id, hard_delete)
        newest, flagged = stage.summary()
        watermark = _advance_watermark(
            conn, schema, object_name, cursor_field, run_id, copied, newest
        )
        stage.drop()
        result = LoadResult(
            object_name=object_name,
            table=f"{schema}.{table}",
            rows_copied=copied,
            rows_merged=merged,
            rows_deleted=hard_deleted if hard_delete else flagged,
            watermark=watermark,
            schema_changes=tuple(changes),
            seconds=time.perf_counter() - started,
        )
        _record_load(conn, schema, run_id, result)
    return result


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


class _Stage:
    """The temporary staging table: created from the first page, dropped at commit."""

    def __init__(
        self, conn: psycopg.Connection, object_name: str, types: dict[str, str], cursor: str
    ) -> None:
        self.conn = conn
        self.object_name = object_name
        self.types = types
        self.cursor = cursor
        self.source_columns: tuple[str, ...] | None = None
        self.names: list[str] = []
        self.copy_sql: sql.Composed | None = None

    def copy(self, page: CsvPage) -> int:
        """COPY one page's body into staging; returns its row count, checked against the page."""
        if self.source_columns is None:
            self._create(page)
        elif page.columns != self.source_columns:
            self._reject(page, "its columns differ from the first page's")
        if page.object_name.lower() != self.object_name.lower():
            self._reject(page, f"it holds {page.object_name} rows")
        assert self.copy_sql is not None
        with self.conn.cursor() as cur:
            try:
                with cur.copy(self.copy_sql) as copy:
                    copy.write(page.body)
            except psycopg.DataError as exc:
                diag = exc.diag
                where = f" ({diag.context.strip()})" if diag.context else ""
                reason = f"not valid CSV for its columns: {diag.message_primary}{where}"
                raise PageRejectedError(self.object_name, page.page_number, reason) from exc
            rows = cur.rowcount
        if rows != page.expected_rows:
            self._reject(
                page, f"PostgreSQL read {rows} rows but the source announced {page.expected_rows}"
            )
        return rows

    def merge(self, target: sql.Identifier, run_id: str, hard_delete: bool) -> tuple[int, int]:
        """Merge staging into ``target``; returns (rows inserted or updated, rows hard-deleted).

        The fast path merges staging as is; should an id repeat (the merge would touch a row
        twice), it is rolled back to a savepoint and redone with the newest row per id.
        """
        if self.source_columns is None:
            return 0, 0
        if hard_delete and "isdeleted" in self.names:
            deleted = self.conn.execute(
                sql.SQL(
                    "DELETE FROM {target} AS t USING {latest} AS s "
                    "WHERE s.isdeleted AND t.id = s.id AND ({newer})"
                ).format(target=target, latest=self._latest(), newer=self._newer("s"))
            ).rowcount
            return self._upsert(target, run_id, self._latest(), live_only=True), deleted
        try:
            with self.conn.transaction():
                return self._upsert(target, run_id, STAGE, live_only=False), 0
        except psycopg.errors.CardinalityViolation:
            return self._upsert(target, run_id, self._latest(), live_only=False), 0

    def summary(self) -> tuple[datetime | None, int]:
        """The newest cursor value staged and the number of staged rows flagged deleted."""
        if self.source_columns is None:
            return None, 0
        flagged = sql.SQL("count(*) FILTER (WHERE isdeleted)" if "isdeleted" in self.names else "0")
        row = self.conn.execute(
            sql.SQL("SELECT max({})::timestamptz, {} FROM {}").format(
                sql.Identifier(self.cursor), flagged, STAGE
            )
        ).fetchone()
        assert row is not None
        return row[0], row[1]

    def _upsert(
        self, target: sql.Identifier, run_id: str, source: sql.Composable, live_only: bool
    ) -> int:
        deletes = "isdeleted" in self.names
        names = [sql.Identifier(n) for n in self.names]
        audit = ["_extracted_at", "_run_id"] + (["_deleted_at"] if deletes else [])
        values = [sql.SQL("now()"), sql.Placeholder("run_id")]
        if deletes:
            values.append(sql.SQL("CASE WHEN s.isdeleted THEN now() END"))
        updates = [
            sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(n))
            for n in [*self.names, "_extracted_at", "_run_id"]
            if n != "id"
        ]
        if deletes:
            updates.append(
                sql.SQL(
                    "_deleted_at = CASE WHEN EXCLUDED._deleted_at IS NOT NULL "
                    "THEN coalesce(t._deleted_at, EXCLUDED._deleted_at) END"
                )
            )
        statement = sql.SQL(
            "INSERT INTO {target} AS t ({columns}) SELECT {values} FROM {source} AS s {live}"
            " ON CONFLICT (id) DO UPDATE SET {updates} WHERE {newer}"
        ).format(
            target=target,
            columns=sql.SQL(", ").join(names + [sql.Identifier(a) for a in audit]),
            values=sql.SQL(", ").join([sql.SQL("s.{}").format(n) for n in names] + values),
            source=source,
            live=sql.SQL("WHERE s.isdeleted IS NOT TRUE" if live_only else ""),
            updates=sql.SQL(", ").join(updates),
            newer=self._newer("EXCLUDED"),
        )
        return self.conn.execute(statement, {"run_id": run_id}).rowcount

    def _latest(self) -> sql.Composable:
        """Staging reduced to the newest row per id."""
        return sql.SQL(
            "(SELECT DISTINCT ON (id) * FROM {} ORDER BY id, {} DESC NULLS LAST)"
        ).format(STAGE, sql.Identifier(self.cursor))

    def _newer(self, incoming: str) -> sql.Composable:
        """The incoming row is applied unless the stored one has a newer cursor."""
        return sql.SQL("t.{c} IS NULL OR {new}.{c} IS NULL OR t.{c} <= {new}.{c}").format(
            c=sql.Identifier(self.cursor), new=sql.SQL(incoming)
        )

    def drop(self) -> None:
        """Drop staging now, so a caller's transaction may load another object."""
        if self.source_columns is not None:
            self.conn.execute(sql.SQL("DROP TABLE {}").format(STAGE))

    def _create(self, page: CsvPage) -> None:
        names = [c.lower() for c in page.columns]
        unknown = [
            c for c in page.columns if c.lower() not in self.types or c.lower() in AUDIT_COLUMNS
        ]
        if unknown:
            self._reject(page, f"columns not reported by describe(): {', '.join(unknown)}")
        if len(set(names)) != len(names):
            self._reject(page, "a column appears twice")
        for required in ("id", self.cursor):
            if required not in names:
                self._reject(page, f"the page has no {required!r} column")
        definitions = [
            sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(self.types[n])) for n in names
        ]
        self.conn.execute(
            sql.SQL("CREATE TEMP TABLE {} ({}) ON COMMIT DROP").format(
                STAGE, sql.SQL(", ").join(definitions)
            )
        )
        self.source_columns = page.columns
        self.names = names
        self.copy_sql = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
            STAGE, sql.SQL(", ").join(sql.Identifier(n) for n in names)
        )

    def _reject(self, page: CsvPage, reason: str) -> NoReturn:
        raise PageRejectedError(self.object_name, page.page_number, reason)


def _ensure_watermarks(conn: psycopg.Connection, schema: str) -> None:
    conn.execute(
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} ("
            " object_name text PRIMARY KEY, cursor_field text NOT NULL, watermark timestamptz,"
            " run_id text NOT NULL, rows_loaded bigint NOT NULL, updated_at timestamptz NOT NULL)"
        ).format(sql.Identifier(schema, WATERMARKS_TABLE))
    )
    conn.execute(
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} ("
            " run_id text NOT NULL, object_name text NOT NULL, rows_copied bigint NOT NULL,"
            " rows_merged bigint NOT NULL, rows_deleted bigint NOT NULL, watermark timestamptz,"
            " seconds double precision NOT NULL, schema_changes text[] NOT NULL,"
            " loaded_at timestamptz NOT NULL DEFAULT now())"
        ).format(sql.Identifier(schema, LOADS_TABLE))
    )


def _record_load(conn: psycopg.Connection, schema: str, run_id: str, result: LoadResult) -> None:
    conn.execute(
        sql.SQL(
            "INSERT INTO {} (run_id, object_name, rows_copied, rows_merged, rows_deleted,"
            " watermark, seconds, schema_changes) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
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
        ),
    )


def _advance_watermark(
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
    return row[0]
