"""Salesforce → PostgreSQL: describe, extract since the watermark, load in one transaction."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from dagplane.connectors.pages import CsvPage
from dagplane.connectors.salesforce.credentials import SalesforceCredentials
from dagplane.connectors.salesforce.extract import Mode, SalesforceSource
from dagplane.connectors.salesforce.incremental import DEFAULT_OVERLAP, Window, window_since
from dagplane.connectors.salesforce.schema import FieldSelection
from dagplane.errors import UsageError
from dagplane.pipelines._memory import map_large_buffers
from dagplane.pipelines._read_ahead import read_ahead

if TYPE_CHECKING:
    from dagplane.jobs.context import JobContext
    from dagplane.warehouse.postgres import PostgresDestination

__all__ = ["ObjectSyncResult", "main", "sync_object", "sync_objects"]

log = logging.getLogger(__name__)

Selection = FieldSelection | Sequence[str] | Mapping[str, Any] | None
# Pages fetched ahead of the one being loaded: enough to overlap the two, memory still flat.
READ_AHEAD_PAGES = 1


@dataclass(frozen=True)
class ObjectSyncResult:
    """What syncing one object did: rows loaded, time taken, the new watermark."""

    object_name: str
    rows: int
    seconds: float
    watermark: datetime | None
    rows_deleted: int = 0

    @property
    def rows_per_second(self) -> float:
        """Extraction and load throughput."""
        return self.rows / self.seconds if self.seconds > 0 else 0.0


def sync_object(
    object_name: str,
    *,
    source: SalesforceSource,
    destination: PostgresDestination,
    run_id: str,
    fields: Selection = None,
    mode: Mode | None = None,
    overlap: timedelta = DEFAULT_OVERLAP,
    hard_delete: bool = False,
    read_ahead_pages: int = READ_AHEAD_PAGES,
) -> ObjectSyncResult:
    """Sync one object: rows changed since ``watermark - overlap`` (all on the first run, and
    on the run that adds a new field's column, so existing rows get its values).

    Extraction runs ``read_ahead_pages`` pages ahead of the load in a thread (0: in turn).
    Schema changes, data and watermark commit together, so a failure anywhere loads nothing.
    """
    started = time.perf_counter()
    map_large_buffers()
    selected = source.fields(object_name, FieldSelection.of(fields))
    window = window_since(destination.read_watermark(object_name), overlap)
    added = destination.new_columns(object_name, selected)
    if added:
        # Rows loaded before have nothing in the new columns: read the whole object once. The
        # columns are added in the load's transaction, so a failed run decides this again.
        log.info("%s: new column(s) %s, re-reading every row", object_name, ", ".join(added))
        window = Window()
    log.info("%s: extracting %d fields, %s", object_name, len(selected), window)
    pages: Iterator[CsvPage] = source.pages(object_name, selected, window, mode=mode)
    if read_ahead_pages:
        pages = read_ahead(pages, read_ahead_pages, name=f"extract-{object_name}")
    with contextlib.closing(pages):
        loaded = destination.load_object(
            object_name=object_name,
            fields=selected,
            pages=pages,
            run_id=run_id,
            cursor_field=source.cursor_field,
            hard_delete=hard_delete,
        )
    result = ObjectSyncResult(
        object_name=object_name,
        rows=loaded.rows_copied,
        seconds=time.perf_counter() - started,
        watermark=loaded.watermark,
        rows_deleted=loaded.rows_deleted,
    )
    log.info(
        "%s: %d rows in %.1fs (%.0f rows/s), watermark %s",
        object_name,
        result.rows,
        result.seconds,
        result.rows_per_second,
        result.watermark,
    )
    return result


def sync_objects(
    objects: Iterable[str],
    *,
    source: SalesforceSource | SalesforceCredentials,
    destination: PostgresDestination,
    run_id: str,
    field_selection: Mapping[str, Selection] | None = None,
    mode: Mode | None = None,
    overlap: timedelta = DEFAULT_OVERLAP,
    hard_delete: bool = False,
) -> list[ObjectSyncResult]:
    """Sync each object in turn (one transaction each); stops at the first failure.

    ``field_selection`` maps object names to a selection (all fields when absent).
    """
    owned = isinstance(source, SalesforceCredentials)
    reader = SalesforceSource.from_credentials(source) if owned else source
    selections = field_selection or {}
    try:
        return [
            sync_object(
                name,
                source=reader,
                destination=destination,
                run_id=run_id,
                fields=selections.get(name),
                mode=mode,
                overlap=overlap,
                hard_delete=hard_delete,
            )
            for name in objects
        ]
    finally:
        if owned:
            reader.client.close()


def main(ctx: JobContext) -> int:
    """Job entrypoint: sync the object named by the task's partition (or first argument).

    Salesforce credentials come from ``SALESFORCE_*``, PostgreSQL from ``POSTGRES_*``: the
    environment first, then the files of the job's declared secret holding those keys.
    """
    from dagplane.jobs.context import secrets_dir
    from dagplane.warehouse.postgres import PostgresDestination

    object_name = ctx.partition or (ctx.args[0] if ctx.args else None)
    if not object_name:
        raise UsageError("give the Salesforce object as the partition or the first argument")
    folders = {
        prefix: secrets_dir() / name
        for name, keys in ctx.secret_names.items()
        for prefix in ("SALESFORCE_", "POSTGRES_")
        if any(key.startswith(prefix) for key in keys)
    }
    credentials = SalesforceCredentials.from_env(secrets_dir=folders.get("SALESFORCE_"))
    destination = PostgresDestination.from_env(secrets_dir=folders.get("POSTGRES_"))
    with SalesforceSource.from_credentials(credentials) as source:
        result = sync_object(object_name, source=source, destination=destination, run_id=ctx.run_id)
    print(
        f"{object_name}: {result.rows} rows in {result.seconds:.1f}s "
        f"({result.rows_per_second:.0f} rows/s), watermark {result.watermark}"
    )
    return 0
