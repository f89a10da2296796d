"""Merge the staging table into the target: newer cursor wins, deletes marked or removed."""

from __future__ import annotations

import psycopg
from psycopg import sql

from dagplane.warehouse.postgres._stage import STAGE, Stage

__all__ = ["merge"]


def merge(stage: Stage, target: sql.Identifier, run_id: str, hard_delete: bool) -> tuple[int, int]:
    """Merge staging into ``target``; returns (rows inserted or updated, rows hard-deleted).

    The fast path merges staging as is; should an id repeat (the merge would touch a row
    twice), it is rolled back to a savepoint and redone with the newest row per id.
    """
    if stage.source_columns is None:
        return 0, 0
    conn = stage.conn
    if hard_delete and "isdeleted" in stage.names:
        deleted = conn.execute(
            sql.SQL(
                "DELETE FROM {target} AS t USING {latest} AS s "
                "WHERE s.isdeleted AND t.id = s.id AND ({newer})"
            ).format(target=target, latest=_latest(stage), newer=_newer(stage, "s"))
        ).rowcount
        return _upsert(stage, target, run_id, _latest(stage), live_only=True), deleted
    try:
        with conn.transaction():
            return _upsert(stage, target, run_id, STAGE, live_only=False), 0
    except psycopg.errors.CardinalityViolation:
        return _upsert(stage, target, run_id, _latest(stage), live_only=False), 0


def _upsert(
    stage: Stage, target: sql.Identifier, run_id: str, source: sql.Composable, live_only: bool
) -> int:
    deletes = "isdeleted" in stage.names
    names = [sql.Identifier(n) for n in stage.names]
    audit = ["_extracted_at", "_run_id"] + (["_deleted_at"] if deletes else [])
    values = [sql.SQL("now()"), sql.Placeholder("run_id")]
    if deletes:
        values.append(sql.SQL("CASE WHEN s.isdeleted THEN now() END"))
    updates = [
        sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(n))
        for n in [*stage.names, "_extracted_at", "_run_id"]
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
        newer=_newer(stage, "EXCLUDED"),
    )
    return stage.conn.execute(statement, {"run_id": run_id}).rowcount


def _latest(stage: Stage) -> sql.Composable:
    """Staging reduced to the newest row per id."""
    return sql.SQL("(SELECT DISTINCT ON (id) * FROM {} ORDER BY id, {} DESC NULLS LAST)").format(
        STAGE, sql.Identifier(stage.cursor)
    )


def _newer(stage: Stage, incoming: str) -> sql.Composable:
    """The incoming row is applied unless the stored one has a newer cursor."""
    return sql.SQL("t.{c} IS NULL OR {new}.{c} IS NULL OR t.{c} <= {new}.{c}").format(
        c=sql.Identifier(stage.cursor), new=sql.SQL(incoming)
    )
