"""Errors of the PostgreSQL loader and the one place psycopg errors become dagplane errors.

DestinationError (dagplane.errors)
├── PostgresConfigError        connection settings missing (also a ConfigError)
├── PostgresUnavailableError   connection lost, serialization failure, deadlock... (transient)
└── PostgresLoadError          PostgreSQL refused the load (terminal)
    ├── UnsupportedFieldError  a Salesforce field type has no PostgreSQL column type
    ├── SchemaChangeError      a column cannot be changed to the new type safely
    ├── InvalidValueError      a value does not fit its column (a fraction in an int field)
    └── PageRejectedError      a page is short or is not valid CSV for the table
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from dagplane.errors import ConfigError, DestinationError, TerminalError, TransientError

__all__ = [
    "InvalidValueError",
    "PageRejectedError",
    "PostgresConfigError",
    "PostgresLoadError",
    "PostgresUnavailableError",
    "SchemaChangeError",
    "UnsupportedFieldError",
    "translate_errors",
]

# SQLSTATE classes worth retrying: connection exception, transaction rollback (serialization
# failure, deadlock), insufficient resources, operator intervention (shutdown, cancel).
_TRANSIENT_CLASSES = ("08", "40", "53", "57")
_TRANSIENT_STATES = frozenset({"55P03"})  # lock_not_available
# Connection-time states that no retry fixes: bad credentials, unknown database.
_TERMINAL_CLASSES = ("28", "3D")
MIN_SECRET_LENGTH = 4  # shorter values would mask ordinary words of the message


class PostgresConfigError(ConfigError, DestinationError):
    """The PostgreSQL connection settings are missing or invalid."""


class PostgresUnavailableError(DestinationError, TransientError):
    """PostgreSQL could not be reached or asked to retry; the load was rolled back."""


class PostgresLoadError(DestinationError, TerminalError):
    """PostgreSQL refused the load; retrying will fail the same way."""


class UnsupportedFieldError(PostgresLoadError):
    """A Salesforce field has a type the loader does not know."""

    def __init__(self, object_name: str, field: str, field_type: str) -> None:
        self.object_name = object_name
        self.field = field
        self.field_type = field_type
        super().__init__(
            f"{object_name}.{field}: Salesforce type {field_type!r} has no PostgreSQL column "
            "type (fix: leave the field out of the extraction or teach "
            "dagplane.warehouse.postgres a mapping for it)"
        )


class SchemaChangeError(PostgresLoadError):
    """An existing column cannot take the field's new type without losing data."""

    def __init__(
        self, table: str, column: str, old_type: str, new_type: str, field: str = ""
    ) -> None:
        self.table = table
        self.column = column
        self.old_type = old_type
        self.new_type = new_type
        self.field = field  # the Salesforce field, ``Object.Field``, when known
        where = f"{field} ({table}.{column})" if field else f"{table}.{column}"
        super().__init__(
            f"{where}: cannot change column type from {old_type} to {new_type}: "
            "it is not a widening and could lose or reject data (fix: convert it yourself, "
            f"e.g. ALTER TABLE {table} ALTER COLUMN {column} TYPE {new_type} "
            f"USING {column}::{new_type}, or rename or drop the column so the next load "
            "creates it again)"
        )


class InvalidValueError(PostgresLoadError):
    """A staged value does not fit its column; nothing of the load was kept."""

    def __init__(
        self, object_name: str, field: str, record_id: str, value: str, column_type: str
    ) -> None:
        self.object_name = object_name
        self.field = field
        self.record_id = record_id
        self.value = value
        self.column_type = column_type
        super().__init__(
            f"{object_name}.{field}: record {record_id} holds {value}, which is not a whole "
            f"number within the range of its {column_type} column (describe() reports an int "
            "field); the load was rolled back and the watermark is unchanged (fix: correct the "
            "record in Salesforce, or leave the field out of the extraction)"
        )


class PageRejectedError(PostgresLoadError):
    """A page is short or malformed; nothing of the load was kept."""

    def __init__(self, object_name: str, page_number: int, reason: str) -> None:
        self.object_name = object_name
        self.page_number = page_number
        self.reason = reason
        super().__init__(
            f"{object_name} page {page_number}: {reason}; the load was rolled back and the "
            "watermark is unchanged"
        )


@contextlib.contextmanager
def translate_errors(action: str, *, secret: str | None = None) -> Iterator[None]:
    """Re-raise psycopg errors raised in the block as dagplane errors about ``action``.

    ``secret`` (the password) is masked out of the message should the driver echo it.
    """
    import psycopg

    try:
        yield
    except psycopg.Error as exc:
        state = exc.sqlstate or ""
        message = " ".join(str(exc).split()) or type(exc).__name__
        if secret and len(secret) >= MIN_SECRET_LENGTH:
            message = message.replace(secret, "***")
        text = f"PostgreSQL failed while {action}: {message}"
        if state.startswith(_TERMINAL_CLASSES):
            raise PostgresLoadError(text) from exc
        if (
            state.startswith(_TRANSIENT_CLASSES)
            or state in _TRANSIENT_STATES
            or (not state and isinstance(exc, psycopg.OperationalError))
        ):
            raise PostgresUnavailableError(text) from exc
        raise PostgresLoadError(text) from exc
