"""The desk: editors' posts and their versions, moderation state of stream items, live revisions, the audit log,
sign-in sessions and sign-in attempts.

Every change a reader must see (an article arriving or moving, a post published, corrected or retracted, an item
pinned, marked a key event or hidden) gives the item a new `revision` from `revision_counter`: live pages resume
from the last revision they saw.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("articles", sa.Column("kind", sa.String(8), nullable=False, server_default="article"))
    op.add_column("articles", sa.Column("revision", sa.Integer, nullable=False, server_default="0"))
    op.add_column("articles", sa.Column("pinned_at", TIMESTAMP))
    op.add_column("articles", sa.Column("key_event", sa.Boolean, nullable=False, server_default=sa.false()))
    op.add_column("articles", sa.Column("hidden_reason", sa.Text))
    op.add_column("articles", sa.Column("post_id", sa.Integer))
    op.add_column("articles", sa.Column("topic_id", sa.Integer))
    # Ids were the live pages' event ids until now: revisions continue from them.
    op.execute("UPDATE articles SET revision = id")
    op.create_index("ix_articles_revision", "articles", ["revision"])
    op.create_index("ix_articles_post_id", "articles", ["post_id"])
    op.create_index("ix_articles_topic_id", "articles", ["topic_id"])
    # An editor's title and summary, kept over the ones the story stage computes.
    op.add_column("stories", sa.Column("desk_title", sa.Text))
    op.add_column("stories", sa.Column("desk_summary", sa.Text))
    op.create_table(
        "revision_counter",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("value", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_revision_counter"),
    )
    op.execute("INSERT INTO revision_counter (id, value) SELECT 1, coalesce(max(id), 0) FROM articles")

    op.create_table(
        "posts",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("author_id", sa.Integer),
        sa.Column("author_name", sa.Text, nullable=False),
        sa.Column("title", sa.Text),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("story_ids", sa.JSON, nullable=False),
        sa.Column("topic_ids", sa.JSON, nullable=False),
        sa.Column("pinned", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("key_event", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("publish_at", TIMESTAMP),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("correction_note", sa.Text),
        sa.Column("corrected_at", TIMESTAMP),
        sa.Column("retracted_reason", sa.Text),
        sa.Column("retracted_at", TIMESTAMP),
        sa.Column("approved_by", sa.Text),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_posts"),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name="fk_posts_author_id_users", ondelete="SET NULL"),
    )
    op.create_index("ix_posts_status", "posts", ["status"])
    op.create_table(
        "post_versions",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("post_id", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("title", sa.Text),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("correction_note", sa.Text),
        sa.Column("edited_by", sa.Text, nullable=False),
        sa.Column("edited_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_post_versions"),
        sa.ForeignKeyConstraint(["post_id"], ["posts.id"], name="fk_post_versions_post_id_posts", ondelete="CASCADE"),
        sa.UniqueConstraint("post_id", "version", name="uq_post_versions_post_id"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("actor_id", sa.Integer),
        sa.Column("actor_name", sa.Text, nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("before", sa.JSON),
        sa.Column("after", sa.JSON),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_target", "audit_log", ["target"])
    op.create_table(
        "desk_sessions",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("last_seen_at", TIMESTAMP, nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_desk_sessions"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_desk_sessions_user_id_users", ondelete="CASCADE"),
    )
    op.create_index("ix_desk_sessions_user_id", "desk_sessions", ["user_id"])
    op.create_table(
        "sign_in_attempts",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("account", sa.Text, nullable=False),
        sa.Column("address", sa.Text, nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("succeeded", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sign_in_attempts"),
    )
    op.create_index("ix_sign_in_attempts_account", "sign_in_attempts", ["account", "at"])
    op.create_index("ix_sign_in_attempts_address", "sign_in_attempts", ["address", "at"])


def downgrade() -> None:
    for table in ("sign_in_attempts", "desk_sessions", "audit_log", "post_versions", "posts", "revision_counter"):
        op.drop_table(table)
    op.drop_column("stories", "desk_summary")
    op.drop_column("stories", "desk_title")
    for index in ("ix_articles_topic_id", "ix_articles_post_id", "ix_articles_revision"):
        op.drop_index(index, table_name="articles")
    for column in ("topic_id", "post_id", "hidden_reason", "key_event", "pinned_at", "revision", "kind"):
        op.drop_column("articles", column)
