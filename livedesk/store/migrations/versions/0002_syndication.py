"""Syndication: near-duplicate index (MinHash LSH bands) and copy → original links.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("articles", sa.Column("original_id", sa.Integer))
    op.add_column("articles", sa.Column("syndication_evidence", sa.String(16)))
    op.create_index("ix_articles_original_id", "articles", ["original_id"])
    op.create_index("ix_articles_canonical_url", "articles", ["canonical_url"], postgresql_using="hash")
    op.create_table(
        "syndication_bands",
        sa.Column("band_key", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("article_id", sa.Integer, nullable=False, autoincrement=False),
        sa.PrimaryKeyConstraint("band_key", "article_id", name="pk_syndication_bands"),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.id"], name="fk_syndication_bands_article_id_articles", ondelete="CASCADE"
        ),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_syndication_bands_article_id", "syndication_bands", ["article_id"])


def downgrade() -> None:
    op.drop_table("syndication_bands")
    op.drop_index("ix_articles_canonical_url", table_name="articles")
    op.drop_index("ix_articles_original_id", table_name="articles")
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("syndication_evidence")
        batch.drop_column("original_id")
