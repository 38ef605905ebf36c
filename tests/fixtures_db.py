"""Real databases for tests: a temporary SQLite file, or a private schema in the shared PostgreSQL.

Several people run the suite against the same PostgreSQL database at once, so each test gets its own
schema, selected for every connection through libpq's `options` (search_path), and dropped afterwards.
Tests that use PostgreSQL must carry the `postgres` marker; DATABASE_BACKENDS does that for parametrising.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from livedesk.store import Store

POSTGRES_URL = os.environ.get("LIVEDESK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DATABASE_BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def with_postgres_options(url: str, *options: str) -> str:
    """`url` with libpq run-time settings added (e.g. "-cTimeZone=Asia/Jakarta")."""
    parsed = sa.make_url(url)
    combined = " ".join(filter(None, (parsed.query.get("options"), *options)))
    return parsed.update_query_dict({"options": combined}).render_as_string(hide_password=False)


@contextmanager
def postgres_schema(base_url: str = POSTGRES_URL) -> Iterator[str]:
    """A URL whose every connection works in a fresh, private schema; the schema is dropped afterwards."""
    schema = f"t_{secrets.token_hex(8)}"
    admin = sa.create_engine(
        base_url, poolclass=NullPool, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5}
    )
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    except sa.exc.OperationalError as error:
        admin.dispose()
        # Fail, never skip: a silently skipped backend would pass CI without testing PostgreSQL.
        pytest.fail(
            f"PostgreSQL is not reachable at {base_url} ({error.orig}). Start the server, set "
            "LIVEDESK_TEST_POSTGRES_URL, or deselect these tests with -m 'not postgres'.",
            pytrace=False,
        )
    try:
        yield with_postgres_options(base_url, f"-csearch_path={schema}")
    finally:
        with admin.connect() as connection:
            # A connection left inside a transaction would otherwise make the drop wait forever.
            connection.exec_driver_sql("SET lock_timeout = '10s'")
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@contextmanager
def temporary_database(backend: str, directory: Path) -> Iterator[str]:
    """The URL of an empty database: a SQLite file in `directory`, or a private PostgreSQL schema."""
    if backend == "sqlite":
        yield f"sqlite:///{directory / 'livedesk.db'}"
    elif backend == "postgres":
        with postgres_schema() as url:
            yield url
    else:
        raise ValueError(f"unknown database backend {backend!r}")


@contextmanager
def temporary_store(backend: str, directory: Path) -> Iterator[Store]:
    """An opened (migrated) Store on an empty database of `backend`, closed and removed afterwards."""
    with temporary_database(backend, directory) as url, Store.open(url) as store:
        yield store


@pytest.fixture(params=DATABASE_BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with temporary_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """PostgreSQL only (for LISTEN/NOTIFY, procrastinate…); mark the test with @pytest.mark.postgres."""
    with postgres_schema() as url:
        yield url


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    with Store.open(database_url) as opened:
        yield opened
