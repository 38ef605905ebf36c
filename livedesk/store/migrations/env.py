"""Alembic environment. Migrations run from Store.open(), which hands over an open connection."""

from __future__ import annotations

from alembic import context

from livedesk.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("livedesk migrations run from Store.open(url), which passes the connection in")

# Batch mode lets future migrations alter SQLite tables (by copy) with the same code as PostgreSQL.
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
