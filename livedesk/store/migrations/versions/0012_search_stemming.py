"""Search with stemming and relevance: FTS5 with the porter tokenizer; on PostgreSQL an English configuration
without stop words and an index of the title (weight A) and the text (weight B).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def _sqlite_search(tokenize: str) -> tuple[str, ...]:
    """The external-content FTS5 table over articles(title, text), its triggers, and its content rebuilt."""
    return (
        "CREATE VIRTUAL TABLE articles_fts USING fts5("
        f"title, text, content='articles', content_rowid='id', tokenize='{tokenize}')",
        "CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN "
        "INSERT INTO articles_fts(rowid, title, text) VALUES (new.id, new.title, new.text); END",
        "CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN "
        "INSERT INTO articles_fts(articles_fts, rowid, title, text) "
        "VALUES ('delete', old.id, old.title, old.text); END",
        "CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, text ON articles BEGIN "
        "INSERT INTO articles_fts(articles_fts, rowid, title, text) "
        "VALUES ('delete', old.id, old.title, old.text); "
        "INSERT INTO articles_fts(rowid, title, text) VALUES (new.id, new.title, new.text); END",
        "INSERT INTO articles_fts(articles_fts) VALUES ('rebuild')",
    )


SQLITE_DROP = (
    "DROP TRIGGER articles_fts_insert",
    "DROP TRIGGER articles_fts_delete",
    "DROP TRIGGER articles_fts_update",
    "DROP TABLE articles_fts",
)
# English stems for words in any case and form, no stop words (like FTS5's porter: a query of "the" or of a
# foreign word that is an English stop word still finds it). The index expression is spelled as
# livedesk.store.web.PG_DOCUMENT, so that the planner matches the two.
POSTGRES_UPGRADE = (
    "CREATE TEXT SEARCH DICTIONARY livedesk_english_stem (TEMPLATE = snowball, LANGUAGE = english)",
    "CREATE TEXT SEARCH CONFIGURATION livedesk_english (COPY = pg_catalog.english)",
    "ALTER TEXT SEARCH CONFIGURATION livedesk_english ALTER MAPPING REPLACE english_stem WITH livedesk_english_stem",
    "DROP INDEX ix_articles_search",
    "CREATE INDEX ix_articles_search ON articles USING gin ("
    "(setweight(to_tsvector('livedesk_english'::regconfig, articles.title), 'A'::\"char\")"
    " || setweight(to_tsvector('livedesk_english'::regconfig, articles.text), 'B'::\"char\")))",
)
POSTGRES_DOWNGRADE = (
    "DROP INDEX ix_articles_search",
    "CREATE INDEX ix_articles_search ON articles USING gin "
    "(to_tsvector('simple'::regconfig, articles.title || ' ' || articles.text))",
    "DROP TEXT SEARCH CONFIGURATION livedesk_english",
    "DROP TEXT SEARCH DICTIONARY livedesk_english_stem",
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        statements = (*SQLITE_DROP, *_sqlite_search("porter unicode61 remove_diacritics 2"))
    else:
        statements = POSTGRES_UPGRADE
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        statements = (*SQLITE_DROP, *_sqlite_search("unicode61 remove_diacritics 2"))
    else:
        statements = POSTGRES_DOWNGRADE
    for statement in statements:
        op.execute(statement)
