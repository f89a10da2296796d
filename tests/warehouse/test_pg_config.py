"""Connection settings from env and secret files, safe repr, error translation, public API."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import dagplane.warehouse.postgres as pg
from dagplane.errors import ConfigError, DestinationError, TerminalError, TransientError
from dagplane.warehouse.postgres import (
    PostgresConfigError,
    PostgresDestination,
    PostgresLoadError,
    PostgresUnavailableError,
)
from dagplane.warehouse.postgres._errors import translate_errors

PASSWORD = "s3cr3t-pw!"  # pragma: allowlist secret


def test_url_from_env_wins():
    dest = PostgresDestination.from_env(
        {"POSTGRES_URL": f"postgresql://app:{PASSWORD}@db.internal:6432/warehouse"}
    )

    assert dest.target == "app@db.internal:6432/warehouse"
    assert (
        repr(dest)
        == "PostgresDestination(target='app@db.internal:6432/warehouse', schema='salesforce')"
    )
    assert PASSWORD not in repr(dest) and PASSWORD not in str(dest)


def test_parts_from_env_and_password_from_a_mounted_secret_file(tmp_path):
    (tmp_path / "POSTGRES_PASSWORD").write_text(PASSWORD + "\n")
    (tmp_path / "POSTGRES_DB").write_text("from-file")
    env = {"POSTGRES_HOST": "db", "POSTGRES_USER": "loader", "POSTGRES_DB": "analytics"}

    dest = PostgresDestination.from_env(env, secrets_dir=tmp_path, schema="sf")

    assert (dest.target, dest.schema) == ("loader@db:5432/analytics", "sf")
    assert PASSWORD in dest._conninfo
    assert PASSWORD not in repr(dest)


def test_missing_settings_list_every_key_tried(tmp_path):
    with pytest.raises(PostgresConfigError) as caught:
        PostgresDestination.from_env({"POSTGRES_USER": "loader"}, secrets_dir=tmp_path)

    assert str(caught.value) == (
        "PostgreSQL connection is not configured: missing POSTGRES_HOST, POSTGRES_DB (tried "
        "POSTGRES_URL, POSTGRES_HOST, POSTGRES_PORT, POSTGRES_USER, POSTGRES_PASSWORD, "
        f"POSTGRES_DB in the environment and files in {tmp_path}; set POSTGRES_URL, or "
        "POSTGRES_HOST, POSTGRES_USER, POSTGRES_DB with optional POSTGRES_PORT and "
        "POSTGRES_PASSWORD)"
    )
    assert isinstance(caught.value, ConfigError) and isinstance(caught.value, DestinationError)


def test_an_unreachable_server_is_transient_and_hides_the_password(tmp_path):
    dest = PostgresDestination(f"postgresql://app:{PASSWORD}@/db?host={tmp_path}&port=1")

    with pytest.raises(PostgresUnavailableError) as caught:
        dest.read_watermark("Account")

    assert isinstance(caught.value, TransientError)
    assert str(caught.value).startswith(
        f"PostgreSQL failed while connecting to app@{tmp_path}:1/db"
    )
    assert PASSWORD not in str(caught.value)


@pytest.mark.parametrize(
    "conninfo",
    # pragma: allowlist nextline secret
    ["postgresql://user:S3cretPw@[::1/db", "host=[::1 password=S3cretPw dbname=x port=abc"],
)
def test_an_unparsable_connection_string_does_not_echo_the_password(conninfo):
    with pytest.raises(DestinationError) as caught:
        PostgresDestination(conninfo).read_watermark("Account")
    assert "S3cretPw" not in str(caught.value)


def test_bad_sql_is_terminal(postgres_url):
    with (
        pg.connect(postgres_url) as conn,
        pytest.raises(PostgresLoadError) as caught,
        translate_errors("testing"),
    ):
        conn.execute("SELECT * FROM no_such_table")

    assert isinstance(caught.value, TerminalError)
    assert 'relation "no_such_table" does not exist' in str(caught.value)


def test_connect_returns_a_working_connection(postgres_url):
    with PostgresDestination(postgres_url).connect() as conn:
        assert conn.execute("SELECT current_setting('application_name')").fetchone() == (
            "dagplane",
        )


def test_public_api_is_pinned_and_importing_it_does_not_load_psycopg():
    assert pg.__all__ == [
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
    # Each name resolves (lazily) to the object of that name in its private home module.
    homes = {
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
        "read_watermark": "_bookkeeping",
    }
    assert sorted(homes) == sorted(pg.__all__)
    for name, home in homes.items():
        exported = getattr(pg, name)
        module = importlib.import_module(f"dagplane.warehouse.postgres.{home}")
        assert exported is getattr(module, name), name
        assert exported.__name__ == name and exported.__module__ == module.__name__, name
    probe = "import sys, dagplane.warehouse.postgres; print('psycopg' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
