"""``SalesforceEmulator``: the HTTPS server, its data and its control methods in one object."""

from __future__ import annotations

import shutil
import ssl
import tempfile
import threading
from collections import Counter, deque
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from .auth import Credentials, Sessions
from .catalog import build_objects
from .custom import custom_field
from .customobj import build_custom_object, check_object_name, custom_prefix
from .data import Store
from .errors import EmulatorError, EmulatorUsageError
from .faults import Faults
from .formats import CSV_DIALECTS
from .handler import EmulatorServer
from .ids import MAX_RECORDS
from .jobs import BulkJobs, PageCache, QueryCursors
from .schema import KEY_PREFIXES, split_records
from .tls import write_certificates

STAT_KEYS = (
    "logins",
    "login_failures",
    "api_calls",
    "describes",
    "queries",
    "query_pages",
    "query_rows",
    "bulk_jobs",
    "bulk_pages",
    "bulk_rows",
    "errors",
)
_LOG_SIZE = 10_000


class SalesforceEmulator:
    """A local Salesforce org over HTTPS that the unmodified simple-salesforce client can use.

    Usable as a context manager; ``start()`` serves from a background thread. Bulk results
    are written as Salesforce writes them (``csv_dialect="salesforce"``: every cell quoted,
    Java-style numbers) unless ``csv_dialect="minimal"`` asks for the older, minimally quoted
    dialect (see ``formats.py``). ``page_cache_mb`` keeps up to that many MB of rendered
    Bulk pages for repeats of a query (benchmarks: a repeat costs the emulator little CPU).
    ``custom_objects`` declares custom objects, ``{"Invoice__c": {"records": 500, "fields":
    [{"name": "Amount__c", "type": "currency"}]}}``: each value holds ``add_object`` arguments.
    """

    def __init__(
        self,
        records: int = 100_000,
        seed: int = 0,
        host: str = "127.0.0.1",
        port: int = 0,
        state_dir: Path | None = None,
        records_per_object: dict[str, int] | None = None,
        api_usage_max: int = 1_000_000,
        *,
        credentials: Credentials | None = None,
        jwt_public_key: bytes | str | None = None,
        bulk_in_progress_polls: int = 0,
        query_batch_size: int = 2000,
        csv_dialect: str = "salesforce",
        page_cache_mb: int = 0,
        custom_objects: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        unknown = set(records_per_object or {}) - set(KEY_PREFIXES)
        if unknown:
            raise EmulatorUsageError(
                f"unknown objects {sorted(unknown)}; known: {list(KEY_PREFIXES)}"
            )
        if csv_dialect not in CSV_DIALECTS:
            raise EmulatorUsageError(
                f"unknown csv_dialect {csv_dialect!r}; known: {list(CSV_DIALECTS)}"
            )
        self.csv_dialect = csv_dialect
        self._counts = split_records(records, records_per_object)
        if any(not 0 <= n < MAX_RECORDS for n in self._counts.values()):
            raise EmulatorUsageError(f"record counts must be within 0..{MAX_RECORDS - 1}")
        self.seed = seed
        self.host, self.port = host, port
        self.store = Store(build_objects(seed, self._counts))
        key = jwt_public_key.encode() if isinstance(jwt_public_key, str) else jwt_public_key
        self.sessions = Sessions(credentials or Credentials(), key)
        self.faults = Faults()
        self.jobs = BulkJobs(PageCache(page_cache_mb << 20) if page_cache_mb else None)
        self.cursors = QueryCursors()
        self.bulk_in_progress_polls = bulk_in_progress_polls
        self.query_batch_size = query_batch_size
        self._state_dir = state_dir
        self._own_state_dir: Path | None = None
        self._ca_bundle: Path | None = None
        self._server: EmulatorServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stats: Counter[str] = Counter()
        self._log: deque[dict[str, Any]] = deque(maxlen=_LOG_SIZE)
        self._api_used, self._api_max = 0, api_usage_max
        for name, spec in (custom_objects or {}).items():
            self.add_object(name, **spec)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> SalesforceEmulator:
        """Write the TLS files, bind the port and serve from a daemon thread."""
        if self._server is not None:
            return self
        state_dir = self._state_dir
        if state_dir is None:
            state_dir = self._own_state_dir = Path(tempfile.mkdtemp(prefix="dagplane-sf-emu-"))
        url_host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        files = write_certificates(Path(state_dir), [url_host, "localhost", "127.0.0.1"])
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(files.cert_chain, files.key)
        try:
            server = EmulatorServer((self.host, self.port), self, context)
        except OSError as exc:
            raise EmulatorError(f"cannot listen on {self.host}:{self.port}: {exc}") from exc
        self._server, self._ca_bundle = server, files.ca_bundle
        self.port = server.server_address[1]
        self._url = f"https://{url_host}:{self.port}"
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), name="sf-emulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and remove the temporary state folder (if the emulator made one)."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.jobs.close()
        if self._own_state_dir is not None:
            shutil.rmtree(self._own_state_dir, ignore_errors=True)
            self._own_state_dir = None

    def __enter__(self) -> SalesforceEmulator:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- what clients need ----------------------------------------------------------------

    @property
    def url(self) -> str:
        """``https://<host>:<port>``: both the login URL and the instance URL."""
        if self._server is None:
            raise EmulatorUsageError("the emulator is not started (call start())")
        return self._url

    @property
    def ca_bundle(self) -> Path:
        """PEM file of the CA that signed the server certificate; clients must trust it."""
        if self._ca_bundle is None:
            raise EmulatorUsageError("the emulator is not started (call start())")
        return self._ca_bundle

    @property
    def credentials(self) -> dict[str, str]:
        """username, password, security_token, client_id, client_secret."""
        return self.sessions.credentials.as_dict()

    @property
    def record_counts(self) -> dict[str, int]:
        """Seeded records per object."""
        return dict(self._counts)

    # -- bookkeeping used by the HTTP layer ------------------------------------------------

    def count(self, key: str, n: int = 1) -> None:
        with self._lock:
            self._stats[key] += n

    def record(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self._log.append({"method": method, "path": path, "status": status})

    def use_api_call(self) -> tuple[int, int]:
        """Count one API request against the daily allowance; returns (used, max)."""
        with self._lock:
            self._api_used += 1
            self._stats["api_calls"] += 1
            return self._api_used, self._api_max

    @property
    def api_usage(self) -> tuple[int, int]:
        with self._lock:
            return self._api_used, self._api_max

    @property
    def stats(self) -> dict[str, int]:
        """Counters (logins, api_calls, queries, bulk_jobs, pages, ...) and fired faults."""
        with self._lock:
            counts = {key: self._stats[key] for key in STAT_KEYS}
        counts.update({f"fault.{kind}": n for kind, n in self.faults.fired.items()})
        return counts

    @property
    def requests(self) -> list[dict[str, Any]]:
        """The last 10,000 requests: method, path (with query string), status."""
        with self._lock:
            return list(self._log)

    # -- control ---------------------------------------------------------------------------

    def update(
        self,
        obj: str,
        ids: list[str] | None = None,
        count: int | None = None,
        fields: dict[str, Any] | None = None,
        *,
        last: bool = False,
    ) -> list[str]:
        """Change ``fields`` (or just touch) records by id, or the first/last ``count`` ones."""
        return self.store.update(obj, ids, count, fields, last)

    def delete(
        self,
        obj: str,
        ids: list[str] | None = None,
        count: int | None = None,
        *,
        last: bool = False,
    ) -> list[str]:
        """Move records to the recycle bin (``queryAll`` still returns them, IsDeleted=true)."""
        return self.store.set_deleted(obj, ids, count, True, last)

    def undelete(
        self, obj: str, ids: list[str] | None = None, count: int | None = None
    ) -> list[str]:
        """Restore deleted records (by id, or the first ``count`` deleted ones)."""
        return self.store.set_deleted(obj, ids, count, False)

    def create(self, obj: str, fields: dict[str, Any] | None = None) -> str:
        """Insert a record; returns its id."""
        return self.store.create(obj, fields)

    def add_field(self, obj: str, name: str, type: str = "string", **facets: Any) -> None:
        """Add a custom field (``Region__c``) of ``type``: string, picklist, number, int, ...

        Facets: values, fill ("seeded" or "null"), label, length, precision, scale.
        """
        schema = self.store.schema(obj)
        if schema.canonical(name):
            raise EmulatorUsageError(f"{schema.name}.{name} already exists")
        spec = custom_field(self.seed, schema.name, self._counts, name, type, **facets)
        with self.store.lock:
            schema.add_field(spec)

    def add_object(
        self,
        name: str,
        records: int = 0,
        fields: Sequence[Mapping[str, Any]] = (),
        *,
        label: str | None = None,
        name_format: str | None = None,
        allow_activities: bool = False,
    ) -> dict[str, Any]:
        """Add a custom object (``Invoice__c``) with ``records`` seeded records and custom
        ``fields`` (``add_field`` arguments: ``{"name": "Amount__c", "type": "currency"}``).

        It gets the standard fields of a custom object (see ``customobj.py``) and the next key
        prefix (a00, a01, ...); ``name_format="INV-{0000}"`` makes Name an auto-number field.
        Returns its name, keyPrefix and record count.
        """
        check_object_name(name)
        if self.store.find(name) is not None:
            raise EmulatorUsageError(f"{name} already exists")
        if not 0 <= records < MAX_RECORDS:
            raise EmulatorUsageError(f"record counts must be within 0..{MAX_RECORDS - 1}")
        position = sum(1 for obj in self.store.objects.values() if obj.custom)
        counts = {**self._counts, name: records}
        schema = build_custom_object(
            self.seed,
            name,
            counts,
            custom_prefix(position),
            fields,
            label=label,
            name_format=name_format,
            allow_activities=allow_activities,
        )
        self._counts[name] = records
        self.store.add_object(schema)
        return {"name": name, "keyPrefix": schema.prefix, "records": records}

    def change_field(self, obj: str, name: str, type: str, **facets: Any) -> None:
        """Change a custom field's type (same facets as ``add_field``), as Setup's "Change Field
        Type" does; describe reports the new type and records hold values of it.

        Salesforce Help, "Change the Custom Field Type": only custom fields can change type,
        and existing values are converted or lost.
        """
        schema = self.store.schema(obj)
        canonical = schema.canonical(name)
        if canonical is None:
            raise EmulatorUsageError(f"{schema.name}.{name} does not exist")
        if not schema.fields[canonical].custom:
            raise EmulatorUsageError(
                f"{schema.name}.{canonical} is a standard field; only custom fields change type"
            )
        spec = custom_field(self.seed, schema.name, self._counts, canonical, type, **facets)
        with self.store.lock:
            schema.add_field(spec)  # replaces the field, keeping its place in describe
            self.store.revision += 1

    def inject_fault(self, kind: str, count: int = 1, **options: Any) -> None:
        """Arm a fault for the next ``count`` matching requests (see ``faults.py``)."""
        self.faults.inject(kind, count, **options)

    def clear_faults(self) -> None:
        """Disarm every fault."""
        self.faults.clear()

    def set_api_usage(self, used: int, max: int | None = None) -> None:
        """Set the daily API usage reported by ``Sforce-Limit-Info`` and ``/limits``."""
        with self._lock:
            self._api_used = used
            if max is not None:
                self._api_max = max

    def record_count(self, obj: str, include_deleted: bool = False) -> int:
        """Records of ``obj`` now (seeded + created), without or with deleted ones."""
        return self.store.record_count(obj, include_deleted)
