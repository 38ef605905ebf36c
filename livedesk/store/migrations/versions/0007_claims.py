"""Claims: the claim ledger per story, the outlets carrying each claim, editors' status decisions.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "claims",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("story_id", sa.Integer, nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("attributed_to", sa.Text, nullable=False),
        sa.Column("cue", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("editor_set", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_claims"),
        sa.ForeignKeyConstraint(["story_id"], ["stories.id"], name="fk_claims_story_id_stories", ondelete="CASCADE"),
        sa.UniqueConstraint("story_id", "key", "attributed_to", "cue", name="uq_claims_story_claim"),
    )
    op.create_table(
        "claim_carriers",
        sa.Column("claim_id", sa.Integer, nullable=False),
        sa.Column("article_id", sa.Integer, nullable=False),
        sa.Column("outlet", sa.Text, nullable=False),
        sa.Column("first_seen", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("claim_id", "article_id", name="pk_claim_carriers"),
        sa.ForeignKeyConstraint(
            ["claim_id"], ["claims.id"], name="fk_claim_carriers_claim_id_claims", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.id"], name="fk_claim_carriers_article_id_articles", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_claim_carriers_article_id", "claim_carriers", ["article_id"])
    op.create_table(
        "claim_status_history",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("claim_id", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("previous", sa.String(16), nullable=False),
        sa.Column("editor", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_claim_status_history"),
        sa.ForeignKeyConstraint(
            ["claim_id"], ["claims.id"], name="fk_claim_status_history_claim_id_claims", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_claim_status_history_claim_id", "claim_status_history", ["claim_id"])


def downgrade() -> None:
    op.drop_table("claim_status_history")
    op.drop_table("claim_carriers")
    op.drop_table("claims")
