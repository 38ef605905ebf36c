"""Resumable chain and source leases: when an article went through every stage, and who polls a source now.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)
UNPROCESSED = sa.text("processed_at IS NULL")


def upgrade() -> None:
    op.add_column("articles", sa.Column("processed_at", TIMESTAMP))
    # Articles stored before this revision that reached a story went through the whole chain of their time.
    op.execute("UPDATE articles SET processed_at = updated_at WHERE story_id IS NOT NULL")
    # The articles still to process are few: a partial index finds them without scanning the table.
    op.create_index(
        "ix_articles_unprocessed", "articles", ["id"], sqlite_where=UNPROCESSED, postgresql_where=UNPROCESSED
    )
    op.add_column("sources", sa.Column("leased_until", TIMESTAMP))


def downgrade() -> None:
    op.drop_column("sources", "leased_until")
    op.drop_index("ix_articles_unprocessed", table_name="articles")
    op.drop_column("articles", "processed_at")
