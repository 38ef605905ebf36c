"""Views: exact, non-negative view counts per article and the visitor de-duplication window.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "article_views",
        sa.Column("article_id", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("article_id", name="pk_article_views"),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.id"], name="fk_article_views_article_id_articles", ondelete="CASCADE"
        ),
        # op.f: the name is final; the naming convention would prefix it a second time.
        sa.CheckConstraint("count >= 0", name=op.f("ck_article_views_count_non_negative")),
    )
    op.create_table(
        "view_windows",
        sa.Column("article_id", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("visitor_hash", sa.String(64), nullable=False),
        sa.Column("window_start", TIMESTAMP, nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("article_id", "visitor_hash", name="pk_view_windows"),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.id"], name="fk_view_windows_article_id_articles", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_view_windows_expires_at", "view_windows", ["expires_at"])
    op.create_table(
        "view_salts",
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("salt", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("day", name="pk_view_salts"),
    )


def downgrade() -> None:
    op.drop_table("view_salts")
    op.drop_table("view_windows")
    op.drop_table("article_views")
