"""Create an object's table, or evolve it to match the fields ``describe()`` reports now."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import psycopg
from psycopg import sql

from dagplane.connectors.salesforce.fields import SalesforceField
from dagplane.warehouse.postgres._bookkeeping import ensure_bookkeeping
from dagplane.warehouse.postgres._errors import SchemaChangeError
from dagplane.warehouse.postgres._types import AUDIT_COLUMNS, Column, columns_for, is_widening

__all__ = ["SchemaChange", "ensure_table", "existing_columns"]


@dataclass(frozen=True)
class SchemaChange:
    """One change applied to a table, for reporting: ``salesforce.account: add column x text``."""

    table: str
    action: str
    column: str | None = None
    detail: str = ""

    def __str__(self) -> str:
        what = " ".join(p for p in (self.action, self.column, self.detail) if p)
        return f"{self.table}: {what}"


@dataclass(frozen=True)
class ExistingColumn:
    """A column as the catalog describes it."""

    name: str
    type: str
    not_null: bool


def existing_columns(
    conn: psycopg.Connection, schema: str, table: str
) -> dict[str, ExistingColumn]:
    """The table's columns by name, in table order; empty when the table does not exist."""
    rows = conn.execute(
        """
        SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        WHERE a.attrelid = to_regclass(%s) AND c.relkind IN ('r', 'p')
          AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY a.attnum
        """,
        (sql.Identifier(schema, table).as_string(conn),),
    ).fetchall()
    return {name: ExistingColumn(name, pg_type, not_null) for name, pg_type, not_null in rows}


def ensure_table(
    conn: psycopg.Connection,
    schema: str,
    table: str,
    object_name: str,
    fields: Iterable[SalesforceField],
) -> list[SchemaChange]:
    """Create ``schema.table`` for the fields or evolve it; returns the changes applied.

    The schema and the bookkeeping tables are created first if missing (serialized across
    sessions). New fields become nullable columns, columns of removed fields stay (made
    nullable), and widenings (longer varchar, larger numeric, integer to bigint) are applied;
    any other type change raises ``SchemaChangeError`` before anything is altered.
    """
    wanted = columns_for(object_name, fields)
    wanted += [Column(name, pg_type, field="") for name, pg_type in AUDIT_COLUMNS.items()]
    qualified = sql.Identifier(schema, table)
    label = f"{schema}.{table}"
    ensure_bookkeeping(conn, schema)
    existing = existing_columns(conn, schema, table)
    if not existing:
        conn.execute(_create_table(qualified, wanted))
        return [SchemaChange(label, "create table", detail=f"({len(wanted)} columns)")]

    steps: list[tuple[SchemaChange, sql.Composable]] = []
    for column in wanted:
        ident = sql.Identifier(column.name)
        old = existing.get(column.name)
        if old is None:
            change = SchemaChange(label, "add column", column.name, column.type)
            steps.append((change, sql.SQL("ADD COLUMN {} {}").format(ident, sql.SQL(column.type))))
        elif old.type != column.type:
            if not is_widening(old.type, column.type):
                field = f"{object_name}.{column.field}" if column.field else ""
                raise SchemaChangeError(label, column.name, old.type, column.type, field)
            change = SchemaChange(
                label, "widen column", column.name, f"{old.type} -> {column.type}"
            )
            steps.append(
                (change, sql.SQL("ALTER COLUMN {} TYPE {}").format(ident, sql.SQL(column.type)))
            )
    keep_not_null = {c.name for c in wanted if c.not_null} | {"id"}
    for old in existing.values():
        if old.not_null and old.name not in keep_not_null:
            change = SchemaChange(label, "drop not null", old.name)
            steps.append(
                (change, sql.SQL("ALTER COLUMN {} DROP NOT NULL").format(sql.Identifier(old.name)))
            )
    if steps:
        actions = sql.SQL(", ").join(statement for _, statement in steps)
        conn.execute(sql.SQL("ALTER TABLE {} {}").format(qualified, actions))
    return [change for change, _ in steps]


def _create_table(qualified: sql.Identifier, columns: list[Column]) -> sql.Composed:
    definitions = [
        sql.SQL("{} {}{}").format(
            sql.Identifier(c.name), sql.SQL(c.type), sql.SQL(" NOT NULL" if c.not_null else "")
        )
        for c in columns
    ]
    definitions.append(sql.SQL("PRIMARY KEY (id)"))
    return sql.SQL("CREATE TABLE {} ({})").format(qualified, sql.SQL(", ").join(definitions))
