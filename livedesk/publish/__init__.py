"""Publish/subscribe for live updates: in-process for SQLite, LISTEN/NOTIFY for PostgreSQL."""
