"""How much of the publication time the page gave (a day only, or an instant), and desk or agency bylines.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing rows keep their times as instants: what they were read as.
    op.add_column("articles", sa.Column("published_date_only", sa.Boolean, nullable=False, server_default=sa.false()))
    op.add_column(
        "articles", sa.Column("byline_is_organisation", sa.Boolean, nullable=False, server_default=sa.false())
    )


def downgrade() -> None:
    op.drop_column("articles", "byline_is_organisation")
    op.drop_column("articles", "published_date_only")
