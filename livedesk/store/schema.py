"""Table definitions used by the queries; the migrations under migrations/versions/ create them.

A test compares this metadata with the migrated database, so the two cannot drift apart.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

# Deterministic constraint names on both backends, so later migrations can refer to them
# (SQLite's batch mode recreates tables and needs named constraints).
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes in, timezone-aware UTC datetimes out, on every backend.

    PostgreSQL (timestamptz) stores the instant but returns it in the session's time zone; SQLite has
    no time zones, so values are written as naive UTC and marked UTC again on the way out.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            # A naive datetime is ambiguous; guessing would silently shift times by hours.
            raise ValueError(f"naive datetime {value.isoformat()} given to the store; use an aware one")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

sources = sa.Table(
    "sources",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("url", sa.Text, nullable=False, unique=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("title", sa.Text),
    sa.Column("etag", sa.Text),
    sa.Column("last_modified", sa.Text),
    sa.Column("next_poll_at", UTCDateTime),
    sa.Column("last_polled_at", UTCDateTime),
    sa.Column("error_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text),
    sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("disabled_reason", sa.Text),
    sa.Column("created_at", UTCDateTime, nullable=False),
    # A poller holds the source until then: several pollers never poll one source at once.
    sa.Column("leased_until", UTCDateTime),
)

articles = sa.Table(
    "articles",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("canonical_url", sa.Text, nullable=False),
    sa.Column("url_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("site", sa.Text, nullable=False, index=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("byline", sa.Text),
    sa.Column("byline_is_organisation", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("published_at", UTCDateTime, index=True),
    sa.Column("published_date_only", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("first_seen_at", UTCDateTime, nullable=False, index=True),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("language", sa.String(16)),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("html", sa.Text, nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False, index=True),
    sa.Column("attributed_to", sa.Text),
    sa.Column("site_name", sa.Text),  # the outlet's name for itself, as this page or its feed gave it
    sa.Column("from_summary", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("source_id", sa.Integer, sa.ForeignKey("sources.id", ondelete="SET NULL"), index=True),
    # Filled by later stages (syndication tracing, story clustering).
    sa.Column("syndicated_from", sa.Text),  # canonical URL of the original this copy republishes
    # The original's id: a syndication group is its original plus every article pointing at it.
    sa.Column("original_id", sa.Integer, index=True),
    sa.Column("syndication_evidence", sa.String(16)),  # what chose the original (attribution, canonical, …)
    sa.Column("story_id", sa.Integer),
    # Set when the article went through every stage; NULL while a stage is still due (resumed by the next run).
    sa.Column("processed_at", UTCDateTime),
    # "article" (ingested) or "post" (written at the desk: one row per story or topic it is attached to).
    sa.Column("kind", sa.String(8), nullable=False, server_default="article"),
    # Taken from revision_counter at every change a reader sees: live pages resume after the last one they saw.
    sa.Column("revision", sa.Integer, nullable=False, server_default="0", index=True),
    # The desk's decisions about the item on live pages.
    sa.Column("pinned_at", UTCDateTime),
    sa.Column("key_event", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("hidden_reason", sa.Text),  # set: hidden from every page, for this reason (reversible)
    sa.Column("post_id", sa.Integer, index=True),  # the desk post this row shows
    sa.Column("topic_id", sa.Integer, index=True),  # a post attached to a topic page rather than a story
    # Feed links are looked up by the URL they were fetched at; a hash index has no key-size limit in PostgreSQL.
    sa.Index("ix_articles_url", "url", postgresql_using="hash"),
    # Copies declaring another page canonical are found when that page arrives.
    sa.Index("ix_articles_canonical_url", "canonical_url", postgresql_using="hash"),
    sa.Index(
        "ix_articles_unprocessed",
        "id",
        sqlite_where=sa.text("processed_at IS NULL"),
        postgresql_where=sa.text("processed_at IS NULL"),
    ),
)

# One row: the last revision handed out (livedesk.store.revisions).
revision_counter = sa.Table(
    "revision_counter",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("value", sa.Integer, nullable=False),
)

# A signed-in browser: `id` is the sha256 of the secret in its cookie (the secret is never stored).
desk_sessions = sa.Table(
    "desk_sessions",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("last_seen_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
)

# Sign-in attempts, counted per account and per address for the rate limits every web process shares.
sign_in_attempts = sa.Table(
    "sign_in_attempts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("account", sa.Text, nullable=False),
    sa.Column("address", sa.Text, nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("succeeded", sa.Boolean, nullable=False),
    sa.Index("ix_sign_in_attempts_account", "account", "at"),
    sa.Index("ix_sign_in_attempts_address", "address", "at"),
)
