"""Connection settings from an argument, the environment or mounted secret files."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dagplane.warehouse.postgres._errors import PostgresConfigError, translate_errors

if TYPE_CHECKING:
    import psycopg

__all__ = ["ENV_KEYS", "connect", "conninfo_from_env", "describe_conninfo"]

URL_KEY = "POSTGRES_URL"
PART_KEYS = ("POSTGRES_HOST", "POSTGRES_PORT", "POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB")
REQUIRED_KEYS = ("POSTGRES_HOST", "POSTGRES_USER", "POSTGRES_DB")
ENV_KEYS = (URL_KEY, *PART_KEYS)
INSTALL_HINT = "pip install 'dagplane[salesforce]'"


def conninfo_from_env(env: Mapping[str, str], secrets_dir: Path | str | None = None) -> str:
    """A libpq connection string from ``POSTGRES_URL`` or the ``POSTGRES_*`` parts.

    Each key is read from ``env`` first, then from a file of the same name in ``secrets_dir``
    (a mounted Kubernetes secret). A missing value raises an error listing every key tried.
    """
    folder = Path(secrets_dir) if secrets_dir is not None else None

    def lookup(key: str) -> str | None:
        value = env.get(key)
        if not value and folder is not None and (folder / key).is_file():
            value = (folder / key).read_text(encoding="utf-8").strip()
        return value or None

    url = lookup(URL_KEY)
    if url:
        return url
    values = {key: lookup(key) for key in PART_KEYS}
    missing = [key for key in REQUIRED_KEYS if not values[key]]
    if missing:
        where = "the environment" + (f" and files in {folder}" if folder else "")
        raise PostgresConfigError(
            f"PostgreSQL connection is not configured: missing {', '.join(missing)} "
            f"(tried {', '.join(ENV_KEYS)} in {where}; set {URL_KEY}, or "
            f"{', '.join(REQUIRED_KEYS)} with optional POSTGRES_PORT and POSTGRES_PASSWORD)"
        )
    make_conninfo = _psycopg().conninfo.make_conninfo
    return make_conninfo(
        host=values["POSTGRES_HOST"],
        port=values["POSTGRES_PORT"] or "5432",
        user=values["POSTGRES_USER"],
        password=values["POSTGRES_PASSWORD"],
        dbname=values["POSTGRES_DB"],
    )


_URL_PASSWORD = re.compile(r"://[^:/@\s]*:([^@\s]+)@")
_KEYWORD_PASSWORD = re.compile(r"\bpassword\s*=\s*'?([^'\s]+)")


def describe_conninfo(conninfo: str) -> str:
    """``user@host:port/dbname`` for messages and repr; never includes the password."""
    try:
        params = _psycopg().conninfo.conninfo_to_dict(conninfo)
    except _psycopg().ProgrammingError:
        return "<invalid connection string>"
    host = str(params.get("host") or "localhost")
    port = str(params.get("port") or "5432")
    user = f"{params['user']}@" if params.get("user") else ""
    return f"{user}{host}:{port}/{params.get('dbname') or ''}"


def password_of(conninfo: str) -> str | None:
    """The password inside a connection string, to mask it out of error messages.

    A string libpq cannot parse is searched by shape (``scheme://user:PASSWORD@`` or
    ``password=...``), because the driver's parse error echoes the whole string.
    """
    try:
        value = _psycopg().conninfo.conninfo_to_dict(conninfo).get("password")
    except _psycopg().ProgrammingError:
        match = _URL_PASSWORD.search(conninfo) or _KEYWORD_PASSWORD.search(conninfo)
        value = match.group(1) if match else None
    return str(value) if value else None


def connect(conninfo: str) -> psycopg.Connection:
    """Open a READ COMMITTED connection (not autocommit); use it as a context manager."""
    psycopg = _psycopg()
    action = f"connecting to {describe_conninfo(conninfo)}"
    with translate_errors(action, secret=password_of(conninfo)):
        params = psycopg.conninfo.conninfo_to_dict(conninfo)
        params.setdefault("application_name", "dagplane")
        params.setdefault("connect_timeout", 10)
        conn = psycopg.connect(**params)
        # Loads create tables and read the catalog after waiting on locks: that is only safe
        # when each statement sees what others committed meanwhile (see _bookkeeping.py).
        conn.isolation_level = psycopg.IsolationLevel.READ_COMMITTED
        return conn


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise PostgresConfigError(f"the PostgreSQL loader needs psycopg: {INSTALL_HINT}") from exc
    return psycopg
