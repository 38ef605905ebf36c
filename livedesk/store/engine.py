"""Engines for SQLite and PostgreSQL, and migrations to the latest schema."""

from __future__ import annotations

import functools
from importlib.resources import files
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.pool import NullPool

# Execution option marking a connection that will write (see _sqlite_begin).
WRITE = "livedesk_write"
SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_MMAP_BYTES = 1 << 30  # address space, not memory: pages are shared with the OS page cache
# Any constant shared by every livedesk process: they queue on it to migrate one at a time.
_PG_MIGRATION_LOCK = 0x11FEDE5C
_DUPLICATE_DATABASE = "42P04"


def make_url(url: str) -> sa.URL:
    """A SQLAlchemy URL; a plain file path means a SQLite database at that path."""
    if "://" not in url:
        return sa.URL.create("sqlite", database=url)
    return sa.make_url(url)


def create_database(url: str) -> bool:
    """Create the PostgreSQL database `url` names if it does not exist, through the `postgres` maintenance
    database; True if created. Nothing to do for SQLite, whose file is created on first use.

    RuntimeError (one line, with the command that does it by hand) when the server refuses."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql" or not parsed.database:
        return False
    name = parsed.database
    admin = sa.create_engine(parsed.set(database="postgres"), poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = sa.text("SELECT 1 FROM pg_database WHERE datname = :name")
            if connection.execute(exists, {"name": name}).first() is not None:
                return False
            quoted = connection.dialect.identifier_preparer.quote_identifier(name)
            connection.exec_driver_sql(f"CREATE DATABASE {quoted}")
            return True
    except sa.exc.ProgrammingError as error:
        if getattr(error.orig, "sqlstate", None) == _DUPLICATE_DATABASE:  # created meanwhile by another process
            return False
        raise _cannot_create(parsed, error) from error
    except sa.exc.SQLAlchemyError as error:
        raise _cannot_create(parsed, error) from error
    finally:
        admin.dispose()


def _cannot_create(url: sa.URL, error: sa.exc.SQLAlchemyError) -> RuntimeError:
    reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
    host = f" -h {url.host}" if url.host else ""
    user = f" -U {url.username}" if url.username else ""
    return RuntimeError(
        f"cannot create database {url.database} ({reason}); create it with: createdb{host}{user} {url.database}"
    )


def create(url: str) -> sa.Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = sa.create_engine(parsed)
        sa.event.listen(engine, "connect", _sqlite_connect)
        sa.event.listen(engine, "begin", _sqlite_begin)
        return engine
    # Pre-ping so a long-running server survives a PostgreSQL restart.
    return sa.create_engine(parsed, pool_pre_ping=True)


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control away from the sqlite3 module (it would skip BEGIN before DDL and
    # cannot say IMMEDIATE); _sqlite_begin emits BEGIN instead.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL: readers never block the writer nor each other. NORMAL is durable across application
    # crashes in WAL mode and much faster than FULL. Foreign keys are off by default in SQLite.
    # The stages' index lookups (band keys, terms) land on random pages: a 32 MB page cache per
    # connection (default 2 MB) and memory-mapped reads keep them from re-reading the file; temporary
    # B-trees (large IN lists, sorts) stay in memory.
    for pragma in (
        "journal_mode=WAL",
        "synchronous=NORMAL",
        "foreign_keys=ON",
        f"busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
        "cache_size=-32000",
        f"mmap_size={SQLITE_MMAP_BYTES}",
        "temp_store=MEMORY",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _sqlite_begin(connection: sa.Connection) -> None:
    # A writer takes the write lock up front: a deferred transaction that reads and then writes fails
    # at once with SQLITE_BUSY (the busy timeout does not apply) if another connection wrote meanwhile.
    immediate = connection.get_execution_options().get(WRITE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(files("livedesk.store") / "migrations"))
    return cfg


@functools.cache
def _heads() -> frozenset[str]:
    return frozenset(ScriptDirectory.from_config(_alembic_config()).get_heads())


def at_head(connection: sa.Connection) -> bool:
    """Whether the database's schema is at the latest revision this code knows."""
    return frozenset(MigrationContext.configure(connection).get_current_heads()) == _heads()


def migrate(engine: sa.Engine) -> None:
    """Bring the schema to the latest revision, in one transaction; a no-op when already there."""
    cfg = _alembic_config()
    with engine.connect() as connection:
        connection.execution_options(**{WRITE: True})
        with connection.begin():
            if engine.dialect.name == "postgresql":
                # Several workers may start together; without the lock they would race to create tables.
                connection.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_MIGRATION_LOCK)))
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, "head")
