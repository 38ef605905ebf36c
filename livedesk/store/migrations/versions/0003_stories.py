"""Stories: developing stories, their term weights and editors' merge/split decisions.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "stories",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("first_seen", TIMESTAMP, nullable=False),
        sa.Column("last_update", TIMESTAMP, nullable=False),
        sa.Column("article_count", sa.Integer, nullable=False),
        sa.Column("outlet_count", sa.Integer, nullable=False),
        sa.Column("title_article_id", sa.Integer),
        sa.Column("norm", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_stories"),
    )
    op.create_index("ix_stories_last_update", "stories", ["last_update"])
    op.create_table(
        "story_terms",
        sa.Column("term", sa.Text, nullable=False),
        sa.Column("story_id", sa.Integer, nullable=False),
        sa.Column("weight", sa.Float, nullable=False),
        sa.Column("last_update", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("term", "story_id", name="pk_story_terms"),
        sa.ForeignKeyConstraint(
            ["story_id"], ["stories.id"], name="fk_story_terms_story_id_stories", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_story_terms_term_last_update", "story_terms", ["term", "last_update"])
    op.create_index("ix_story_terms_story_id", "story_terms", ["story_id"])
    op.create_table(
        "term_stats",
        sa.Column("term", sa.Text, nullable=False),
        sa.Column("df", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("term", name="pk_term_stats"),
    )
    op.create_index("ix_articles_story_id", "articles", ["story_id"])


def downgrade() -> None:
    op.drop_index("ix_articles_story_id", table_name="articles")
    op.drop_table("term_stats")
    op.drop_table("story_terms")
    op.drop_table("stories")
