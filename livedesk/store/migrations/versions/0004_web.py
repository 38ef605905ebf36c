"""Web: stream order column and indexes, full-text search (SQLite FTS5 / PostgreSQL tsvector) and topic pages.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)

# External-content FTS5 table over articles(title, text), kept in sync by triggers.
SQLITE_SEARCH = (
    "CREATE VIRTUAL TABLE articles_fts USING fts5("
    "title, text, content='articles', content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN "
    "INSERT INTO articles_fts(rowid, title, text) VALUES (new.id, new.title, new.text); END",
    "CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN "
    "INSERT INTO articles_fts(articles_fts, rowid, title, text) VALUES ('delete', old.id, old.title, old.text); END",
    "CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, text ON articles BEGIN "
    "INSERT INTO articles_fts(articles_fts, rowid, title, text) VALUES ('delete', old.id, old.title, old.text); "
    "INSERT INTO articles_fts(rowid, title, text) VALUES (new.id, new.title, new.text); END",
    "INSERT INTO articles_fts(articles_fts) VALUES ('rebuild')",
)
# 'simple': no stemming, like FTS5's unicode61, and right for every language the desk reads.
POSTGRES_SEARCH = (
    "CREATE INDEX ix_articles_search ON articles USING gin "
    "(to_tsvector('simple'::regconfig, articles.title || ' ' || articles.text))",
)


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    # SQLite can add only VIRTUAL generated columns to a table; PostgreSQL indexes only STORED ones.
    computed = sa.Computed("coalesce(published_at, first_seen_at)", persisted=not sqlite)
    op.add_column("articles", sa.Column("sort_at", TIMESTAMP, computed))
    op.create_index("ix_articles_story_sort", "articles", ["story_id", "sort_at", "id"])
    op.create_index("ix_articles_site_sort", "articles", ["site", "sort_at", "id"])
    op.create_index("ix_articles_sort", "articles", ["sort_at", "id"])
    op.create_table(
        "topics",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("slug", sa.String(100), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("keywords", sa.Text, nullable=False, server_default=""),
        sa.Column("sources", sa.JSON, nullable=False),
        sa.Column("story_ids", sa.JSON, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_topics"),
        sa.UniqueConstraint("slug", name="uq_topics_slug"),
    )
    for statement in SQLITE_SEARCH if sqlite else POSTGRES_SEARCH:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER articles_fts_{trigger}")
        op.execute("DROP TABLE articles_fts")
    else:
        op.drop_index("ix_articles_search", table_name="articles")
    op.drop_table("topics")
    for index in ("ix_articles_sort", "ix_articles_site_sort", "ix_articles_story_sort"):
        op.drop_index(index, table_name="articles")
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("sort_at")
