"""``PostgresDestination``: the loader's factory, configured without connecting."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from dagplane.connectors.pages import CsvPage
from dagplane.connectors.salesforce.fields import SalesforceField
from dagplane.errors import UsageError
from dagplane.warehouse.postgres._connection import (
    connect,
    conninfo_from_env,
    describe_conninfo,
    password_of,
)
from dagplane.warehouse.postgres._errors import translate_errors

if TYPE_CHECKING:
    import psycopg

    from dagplane.warehouse.postgres._loader import LoadResult
    from dagplane.warehouse.postgres._schema import SchemaChange

__all__ = ["PostgresDestination"]


class PostgresDestination:
    """Loads Salesforce objects into tables of one PostgreSQL schema.

    Holds only configuration: nothing connects until a method needs the database. The
    password never shows in ``repr()``/``str()`` or in error messages.
    """

    def __init__(self, conninfo: str, *, schema: str = "salesforce") -> None:
        if not conninfo or not schema:
            raise UsageError("PostgresDestination needs a connection string and a schema name")
        self._conninfo = conninfo
        self.schema = schema

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] | None = None,
        secrets_dir: Path | str | None = None,
        *,
        schema: str = "salesforce",
    ) -> PostgresDestination:
        """Configure from ``POSTGRES_URL`` or ``POSTGRES_HOST/PORT/USER/PASSWORD/DB``.

        Values come from ``env`` (default ``os.environ``), then from files named like the
        keys in ``secrets_dir``.
        """
        return cls(
            conninfo_from_env(os.environ if env is None else env, secrets_dir), schema=schema
        )

    @property
    def target(self) -> str:
        """``user@host:port/dbname``, safe to log."""
        return describe_conninfo(self._conninfo)

    def __repr__(self) -> str:
        return f"PostgresDestination(target={self.target!r}, schema={self.schema!r})"

    def connect(self) -> psycopg.Connection:
        """A new connection; use it as a context manager (commits on success, then closes)."""
        return connect(self._conninfo)

    def new_columns(self, object_name: str, fields: Iterable[SalesforceField]) -> list[str]:
        """Columns ``fields`` would add to the object's existing table (none if no table yet).

        A load adds them in its own transaction; rows loaded before have no values there, so
        a caller that wants them filled re-reads the whole object once (see the pipeline).
        """
        from dagplane.warehouse.postgres._schema import existing_columns
        from dagplane.warehouse.postgres._types import column_for, table_name

        with self._session(f"reading the columns of {object_name}") as conn:
            existing = existing_columns(conn, self.schema, table_name(object_name))
        if not existing:
            return []
        wanted = (column_for(object_name, field) for field in fields)
        return [column.name for column in wanted if column and column.name not in existing]

    def ensure_table(
        self, object_name: str, fields: Iterable[SalesforceField]
    ) -> list[SchemaChange]:
        """Create or evolve the object's table and commit; returns the changes applied."""
        from dagplane.warehouse.postgres._schema import ensure_table
        from dagplane.warehouse.postgres._types import table_name

        with self._session(f"preparing the table of {object_name}") as conn:
            return ensure_table(conn, self.schema, table_name(object_name), object_name, fields)

    def load_object(
        self,
        *,
        object_name: str,
        fields: Iterable[SalesforceField],
        pages: Iterable[CsvPage],
        run_id: str,
        cursor_field: str = "SystemModstamp",
        hard_delete: bool = False,
    ) -> LoadResult:
        """Load all pages of one object and advance its watermark in one transaction."""
        from dagplane.warehouse.postgres._loader import load_object

        with self._session(f"loading {object_name} into {self.schema}") as conn:
            return load_object(
                conn,
                schema=self.schema,
                object_name=object_name,
                fields=fields,
                pages=pages,
                run_id=run_id,
                cursor_field=cursor_field,
                hard_delete=hard_delete,
            )

    def read_watermark(self, object_name: str) -> datetime | None:
        """The committed watermark of ``object_name``, or None before its first load."""
        from dagplane.warehouse.postgres._loader import read_watermark

        with self._session(f"reading the watermark of {object_name}") as conn:
            return read_watermark(conn, object_name, schema=self.schema)

    @contextlib.contextmanager
    def _session(self, action: str) -> Iterator[psycopg.Connection]:
        """A connection whose psycopg errors, the final commit included, become dagplane's."""
        secret = password_of(self._conninfo)
        with translate_errors(action, secret=secret), connect(self._conninfo) as conn:
            yield conn
