"""Claims' evidence: per carrier, what its time rests on, its syndication group, and how its wording drifts.

`time_basis` is "published" where the article gives its publication time, "first_seen" where it does not;
`original_id` is the carrier's original (null for an original), so copies of one original count as one source;
`drift` lists how a copy's wording departs from the claim (a hedge or the attribution dropped).

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("claim_carriers") as batch:
        batch.add_column(sa.Column("time_basis", sa.String(16), nullable=False, server_default="published"))
        batch.add_column(sa.Column("original_id", sa.Integer))
        batch.add_column(sa.Column("drift", sa.Text, nullable=False, server_default=""))
    carriers = sa.table(
        "claim_carriers",
        sa.column("article_id", sa.Integer),
        sa.column("time_basis", sa.String),
        sa.column("original_id", sa.Integer),
    )
    articles = sa.table(
        "articles", sa.column("id", sa.Integer), sa.column("published_at"), sa.column("original_id", sa.Integer)
    )
    undated = sa.select(articles.c.id).where(articles.c.published_at.is_(None))
    op.execute(sa.update(carriers).where(carriers.c.article_id.in_(undated)).values(time_basis="first_seen"))
    original = (
        sa.select(articles.c.original_id)
        .where(articles.c.id == carriers.c.article_id, articles.c.original_id != articles.c.id)
        .scalar_subquery()
    )
    op.execute(sa.update(carriers).values(original_id=original))


def downgrade() -> None:
    with op.batch_alter_table("claim_carriers") as batch:
        batch.drop_column("drift")
        batch.drop_column("original_id")
        batch.drop_column("time_basis")
