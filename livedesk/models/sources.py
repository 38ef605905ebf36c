"""Sources and the raw material they give: feeds and their entries, pages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class SourceKind(StrEnum):
    FEED = "feed"  # RSS, Atom or JSON Feed
    SITEMAP = "sitemap"  # news sitemap or sitemap index
    PAGE = "page"  # one article URL


@dataclass(frozen=True)
class Source:
    """A place livedesk polls, with its HTTP fetch state."""

    url: str
    kind: SourceKind = SourceKind.FEED
    title: str | None = None
    id: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    next_poll_at: datetime | None = None
    last_polled_at: datetime | None = None
    error_count: int = 0
    last_error: str | None = None
    disabled: bool = False
    disabled_reason: str | None = None
    leased_until: datetime | None = None  # a poller holds it until then
    created_at: datetime | None = None  # when it was added (the store sets it)


@dataclass(frozen=True)
class FeedEntry:
    """What a feed (or sitemap) says about one article before its page is read."""

    link: str
    title: str | None = None
    published_at: datetime | None = None
    author: str | None = None
    summary_html: str | None = None  # fallback text when the page cannot be fetched
    entry_id: str | None = None
    language: str | None = None
    site_name: str | None = None  # the feed's name for its own site, for an entry on that site


@dataclass(frozen=True)
class Feed:
    url: str
    title: str | None
    entries: list[FeedEntry]
    kind: str  # "rss20", "atom10", "json11", "sitemap", ...
    # Sub-sitemaps of a sitemap index: to be fetched in turn.
    sitemaps: list[str] = field(default_factory=list)
    # Non-fatal problems (feedparser's bozo), kept so the CLI can report them.
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Page:
    """Raw material for extraction: one HTML document at one URL."""

    url: str
    body: bytes
    fetched_at: datetime
    content_type: str | None = None
    charset: str | None = None  # from the HTTP header, if any
    entry: FeedEntry | None = None  # hints from the feed that pointed at this page
    source_id: int | None = None
