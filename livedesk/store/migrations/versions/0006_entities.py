"""Entities: named entities per article, normalised with aliases.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "entities",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_entities"),
        sa.UniqueConstraint("key", "type", name="uq_entities_key"),
    )
    op.create_table(
        "entity_aliases",
        sa.Column("entity_id", sa.Integer, nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("entity_id", "key", name="pk_entity_aliases"),
        sa.ForeignKeyConstraint(
            ["entity_id"], ["entities.id"], name="fk_entity_aliases_entity_id_entities", ondelete="CASCADE"
        ),
    )
    op.create_table(
        "article_entities",
        sa.Column("article_id", sa.Integer, nullable=False),
        sa.Column("entity_id", sa.Integer, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("article_id", "entity_id", name="pk_article_entities"),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.id"], name="fk_article_entities_article_id_articles", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["entity_id"], ["entities.id"], name="fk_article_entities_entity_id_entities", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_article_entities_entity_id", "article_entities", ["entity_id", "article_id"])


def downgrade() -> None:
    op.drop_table("article_entities")
    op.drop_table("entity_aliases")
    op.drop_table("entities")
