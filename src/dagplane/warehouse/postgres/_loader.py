"""Load pages into a table and advance the watermark, all in one transaction.

Every page is COPYed as-is into a temporary staging table typed like the target (see
``_stage.py``), merged into the target (newer cursor wins, deleted rows marked or removed:
``_merge.py``) and cleared, page after page, so the database merges one page while the source
fetches the next; after the last page the watermark moves to the newest cursor loaded
(``_bookkeeping.py``). A failure or a kill anywhere before the commit
leaves the target and the watermark as they were.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg import sql

from dagplane.connectors.pages import CsvPage
from dagplane.connectors.salesforce.fields import SalesforceField
from dagplane.warehouse.postgres._bookkeeping import (
    LOADS_TABLE,
    WATERMARKS_TABLE,
    advance_watermark,
    ensure_bookkeeping,
    lock,
    read_watermark,
    record_load,
)
from dagplane.warehouse.postgres._errors import PostgresLoadError, translate_errors
from dagplane.warehouse.postgres._merge import merge
from dagplane.warehouse.postgres._schema import SchemaChange, ensure_table, existing_columns
from dagplane.warehouse.postgres._stage import Stage
from dagplane.warehouse.postgres._types import TIMESTAMPTZ, table_name

__all__ = ["LOADS_TABLE", "WATERMARKS_TABLE", "LoadResult", "load_object", "read_watermark"]

CURSOR_TYPES = frozenset({TIMESTAMPTZ, "date", "timestamp without time zone"})


@dataclass(frozen=True)
class LoadResult:
    """What one ``load_object`` call did.

    ``rows_merged`` counts rows inserted or updated (a row changed on two pages counts
    twice); ``rows_deleted`` counts rows removed
    (``hard_delete``) or, for soft deletes, staged rows flagged ``IsDeleted``; ``watermark``
    is the stored watermark after the load; ``nul_bytes_removed`` counts NUL bytes dropped from
    text values (PostgreSQL cannot store them).
    """

    object_name: str
    table: str
    rows_copied: int
    rows_merged: int
    rows_deleted: int
    watermark: datetime | None
    schema_changes: tuple[SchemaChange, ...]
    seconds: float
    nul_bytes_removed: int = 0


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
    with translate_errors(f"loading {object_name} into {schema}"):
        ensure_bookkeeping(conn, schema)
        with conn.transaction():
            lock(conn, f"{schema}.{table}")
            changes = ensure_table(conn, schema, table, object_name, fields)
            types = {c.name: c.type for c in existing_columns(conn, schema, table).values()}
            cursor = cursor_field.lower()
            if types.get(cursor) not in CURSOR_TYPES:
                raise PostgresLoadError(
                    f"{object_name}.{cursor_field}: the cursor field must be a date or datetime "
                    f"field of the object (column type: {types.get(cursor, 'no such column')})"
                )
            stage = Stage(conn, object_name, types, cursor)
            merger = _Merger(stage, sql.Identifier(schema, table), run_id, hard_delete)
            copied = 0
            for page in pages:
                rows = stage.copy(page)
                copied += rows
                # Page by page, PostgreSQL merges one page while the source fetches the next.
                # Hard deletes merge once at the end instead: a row deleted on one page must
                # still be there to stop an older copy of it on a later page coming back.
                if rows and not hard_delete:
                    merger.flush()
            if hard_delete and copied:
                merger.flush()
            merged, hard_deleted, flagged, newest = (
                merger.merged,
                merger.deleted,
                merger.flagged,
                merger.newest,
            )
            watermark = advance_watermark(
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
                nul_bytes_removed=stage.nul_bytes_removed,
            )
            record_load(conn, schema, run_id, result)
    return result


class _Merger:
    """Merges what staging holds into the target and clears it, adding up the counts."""

    def __init__(
        self, stage: Stage, target: sql.Identifier, run_id: str, hard_delete: bool
    ) -> None:
        self.stage, self.target, self.run_id, self.hard_delete = stage, target, run_id, hard_delete
        self.merged = self.deleted = self.flagged = 0
        self.newest: datetime | None = None

    def flush(self) -> None:
        newest, flagged = self.stage.summary()  # also rejects a misfit int value
        merged, deleted = merge(self.stage, self.target, self.run_id, self.hard_delete)
        self.stage.clear()
        self.merged += merged
        self.deleted += deleted
        self.flagged += flagged
        if newest is not None and (self.newest is None or newest > self.newest):
            self.newest = newest
