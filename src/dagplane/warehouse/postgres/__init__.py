"""The PostgreSQL loader: typed tables from ``describe()``, COPY + merge + watermark per object.

Importing this package is cheap: psycopg is imported only when a loader name is first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dagplane.warehouse.postgres._connection import connect
    from dagplane.warehouse.postgres._destination import PostgresDestination
    from dagplane.warehouse.postgres._errors import (
        InvalidValueError,
        PageRejectedError,
        PostgresConfigError,
        PostgresLoadError,
        PostgresUnavailableError,
        SchemaChangeError,
        UnsupportedFieldError,
    )
    from dagplane.warehouse.postgres._loader import LoadResult, load_object, read_watermark
    from dagplane.warehouse.postgres._schema import SchemaChange, ensure_table
    from dagplane.warehouse.postgres._types import column_for
    from dagplane.warehouse.postgres.embedded import embedded_postgres

__all__ = [
    "InvalidValueError",
    "LoadResult",
    "PageRejectedError",
    "PostgresConfigError",
    "PostgresDestination",
    "PostgresLoadError",
    "PostgresUnavailableError",
    "SchemaChange",
    "SchemaChangeError",
    "UnsupportedFieldError",
    "column_for",
    "connect",
    "embedded_postgres",
    "ensure_table",
    "load_object",
    "read_watermark",
]

_MODULES = {
    "InvalidValueError": "_errors",
    "LoadResult": "_loader",
    "PageRejectedError": "_errors",
    "PostgresConfigError": "_errors",
    "PostgresDestination": "_destination",
    "PostgresLoadError": "_errors",
    "PostgresUnavailableError": "_errors",
    "SchemaChange": "_schema",
    "SchemaChangeError": "_errors",
    "UnsupportedFieldError": "_errors",
    "column_for": "_types",
    "connect": "_connection",
    "embedded_postgres": "embedded",
    "ensure_table": "_schema",
    "load_object": "_loader",
    "read_watermark": "_loader",
}


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(f"{__name__}.{_MODULES[name]}")
    return getattr(module, name)


def __dir__() -> list[str]:
    return sorted(__all__)
