"""The temporary staging table: pages are COPYed into it unparsed, then merged into the target.

Bulk API 2.0 pages quote every value and write a null as ``""``, and write numbers with a
decimal part even in int fields (``"12.0"``, ``"1.2E3"``). PostgreSQL does that work itself:
``FORCE_NULL`` on every column reads a quoted empty value as NULL (Salesforce stores no empty
strings), and int columns are staged as ``numeric`` and checked to be whole before the merge
casts them. The only byte edit made in Python is dropping NUL bytes, which PostgreSQL text
cannot hold, and only on pages that have any.
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal
from typing import NoReturn

import psycopg
from psycopg import sql

from dagplane.connectors.pages import CsvPage
from dagplane.warehouse.postgres._errors import InvalidValueError, PageRejectedError
from dagplane.warehouse.postgres._types import AUDIT_COLUMNS, INTEGER_RANGES

__all__ = ["STAGE", "Stage"]

log = logging.getLogger(__name__)

STAGE = sql.Identifier("_dagplane_stage")


class Stage:
    """Staging for one object's load: created from the first page, holding one page at a
    time (``clear()`` after its merge), dropped before commit."""

    def __init__(
        self, conn: psycopg.Connection, object_name: str, types: dict[str, str], cursor: str
    ) -> None:
        self.conn = conn
        self.object_name = object_name
        self.types = types
        self.cursor = cursor
        self.source_columns: tuple[str, ...] | None = None
        self.names: list[str] = []
        self.copy_sql: dict[bool, sql.Composed] = {}
        self.nul_bytes_removed = 0

    def copy(self, page: CsvPage) -> int:
        """COPY one page's body into staging; returns its row count, checked against the page."""
        if self.source_columns is None:
            self._create(page)
        elif page.columns != self.source_columns:
            self._reject(page, "its columns differ from the first page's")
        if page.object_name.lower() != self.object_name.lower():
            self._reject(page, f"it holds {page.object_name} rows")
        body = page.body
        if nuls := body.count(b"\x00"):
            body = body.replace(b"\x00", b"")
            self.nul_bytes_removed += nuls
            log.warning(
                "%s page %d: removed %d NUL byte(s) from text values (PostgreSQL cannot store "
                "them)",
                self.object_name,
                page.page_number,
                nuls,
            )
        with self.conn.cursor() as cur:
            try:
                with cur.copy(self.copy_sql[page.header]) as copy:
                    copy.write(memoryview(body))  # psycopg slices it into chunks: no copies
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

    def summary(self) -> tuple[datetime | None, int]:
        """The newest cursor staged and how many staged rows are flagged deleted.

        The same scan checks int columns; should one hold a value its column cannot (a
        fraction, or out of range), ``InvalidValueError`` names the first such record.
        """
        assert self.source_columns is not None
        checked = [n for n in self.names if self.types[n] in INTEGER_RANGES]
        deleted = "count(*) FILTER (WHERE isdeleted)" if "isdeleted" in self.names else "0"
        misfits = (
            sql.SQL("count(*) FILTER (WHERE {})").format(self._misfit(checked))
            if checked
            else sql.SQL("0")
        )
        row = self.conn.execute(
            sql.SQL("SELECT max({})::timestamptz, {}, {} FROM {}").format(
                sql.Identifier(self.cursor), sql.SQL(deleted), misfits, STAGE
            )
        ).fetchone()
        assert row is not None
        newest, flagged, misfit_rows = row
        if misfit_rows:
            self._raise_misfit(checked)
        return newest, flagged

    def _misfit(self, names: list[str]) -> sql.Composable:
        """True for a row where one of the int columns ``names`` holds what it cannot."""
        tests = []
        for name in names:
            low, high = INTEGER_RANGES[self.types[name]]
            tests.append(
                sql.SQL("({c} <> trunc({c}) OR {c} NOT BETWEEN {lo} AND {hi})").format(
                    c=sql.Identifier(name), lo=sql.Literal(low), hi=sql.Literal(high)
                )
            )
        return sql.SQL(" OR ").join(tests)

    def _raise_misfit(self, checked: list[str]) -> NoReturn:
        assert self.source_columns is not None
        fields = dict(zip(self.names, self.source_columns, strict=True))
        row = self.conn.execute(
            sql.SQL("SELECT id, {} FROM {} WHERE {} ORDER BY id LIMIT 1").format(
                sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(n)) for n in checked),
                STAGE,
                self._misfit(checked),
            )
        ).fetchone()
        assert row is not None
        record_id, *values = row
        for name, value in zip(checked, values, strict=True):
            low, high = INTEGER_RANGES[self.types[name]]
            if value is not None and not _fits(value, low, high):
                raise InvalidValueError(
                    self.object_name, fields[name], record_id, value, self.types[name]
                )
        raise AssertionError("a misfit row was counted but not found")

    def clear(self) -> None:
        """Empty staging for the next page (the table and its COPY statement stay)."""
        self.conn.execute(sql.SQL("TRUNCATE {}").format(STAGE))

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
            sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(_staged_type(self.types[n])))
            for n in names
        ]
        self.conn.execute(
            sql.SQL("CREATE TEMP TABLE {} ({}) ON COMMIT DROP").format(
                STAGE, sql.SQL(", ").join(definitions)
            )
        )
        self.source_columns = page.columns
        self.names = names
        columns = sql.SQL(", ").join(sql.Identifier(n) for n in names)
        self.copy_sql = {
            header: sql.SQL(
                "COPY {} ({}) FROM STDIN (FORMAT csv, HEADER {}, FORCE_NULL ({}))"
            ).format(STAGE, columns, sql.SQL("true" if header else "false"), columns)
            for header in (False, True)
        }

    def _reject(self, page: CsvPage, reason: str) -> NoReturn:
        raise PageRejectedError(self.object_name, page.page_number, reason)


def _staged_type(column_type: str) -> str:
    """Int columns stage as numeric, so ``12.0`` and ``1.2E3`` are read (and checked later)."""
    return "numeric" if column_type in INTEGER_RANGES else column_type


def _fits(text: str, low: int, high: int) -> bool:
    number = Decimal(text)
    return number == number.to_integral_value() and low <= number <= high
