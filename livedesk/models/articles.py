"""Articles: as extracted, and as stored with what later stages added."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


@dataclass(frozen=True)
class Article:
    """One extracted article, as stored."""

    url: str
    canonical_url: str
    url_hash: str  # sha256 of canonical_url: the idempotency key
    site: str  # registrable domain that served this copy
    title: str
    text: str  # clean main text, paragraphs split by "\n\n"
    html: str  # sanitised main-content HTML for display
    content_hash: str  # sha256 of the normalised text
    first_seen_at: datetime
    byline: str | None = None
    published_at: datetime | None = None
    language: str | None = None
    attributed_to: str | None = None  # outlet named by an attribution line ("Sumber: www.cnn.com")
    from_summary: bool = False  # text came from a feed summary because the page could not be read
    source_id: int | None = None
    site_name: str | None = None  # the outlet's name for itself (og:site_name, the feed's title), if it gives one
    # The page gave only the day: published_at is that day's start (for ordering), never a time it stated.
    published_date_only: bool = False
    byline_is_organisation: bool = False  # the byline is a desk's or agency's ("Staff Reports", "Reuters")


class UpsertOutcome(StrEnum):
    NEW = "new"
    UPDATED = "updated"
    DUPLICATE = "duplicate"  # same canonical URL and same content: nothing changed


@dataclass(frozen=True)
class StoredArticle:
    """An article as the database holds it, with what later stages added."""

    id: int
    article: Article
    updated_at: datetime
    syndicated_from: str | None = None
    story_id: int | None = None
    processed_at: datetime | None = None  # None while a stage of the chain is still due


@dataclass(frozen=True)
class Upserted:
    """What storing an article did, and the article as now stored."""

    outcome: UpsertOutcome
    stored: StoredArticle
