"""Streams: what a live page shows (a story, a topic, a search, an entity's articles), its updates and where a page
of them ends."""

from __future__ import annotations

import base64
import binascii
import math
from dataclasses import dataclass
from datetime import UTC, datetime

# Ids are INTEGER columns: 32-bit on PostgreSQL, the narrower backend. Anything larger names nothing.
MAX_ID = 2**31 - 1


class InvalidCursorError(ValueError):
    pass


@dataclass(frozen=True)
class Position:
    """Where a page ends: the (sort_at, id) of its last item, and in a search by relevance its score before them.
    Encoded as an opaque cursor for clients."""

    at: datetime
    id: int
    score: float | None = None

    def encode(self) -> str:
        raw = f"{self.at.astimezone(UTC).isoformat()}|{self.id}"
        if self.score is not None:
            raw += f"|{self.score!r}"  # repr: the exact float back, so the next page starts exactly after it
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, cursor: str) -> Position:
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
            at, ident, *rest = raw.split("|")
            when, number = datetime.fromisoformat(at), int(ident)
            score = float(rest[0]) if len(rest) == 1 else None
            # The instant in UTC, as the database compares it: a year-1 or year-9999 time with an offset may
            # have none.
            position = cls(when.astimezone(UTC), number, score) if when.tzinfo is not None else None
        except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError) as err:
            raise InvalidCursorError(f"not a cursor: {cursor[:40]!r}") from err
        valid = len(rest) <= 1 and (score is None or math.isfinite(score))
        if position is None or not valid or not 0 <= position.id <= MAX_ID:
            raise InvalidCursorError(f"not a cursor: {cursor[:40]!r}")
        return position


@dataclass(frozen=True)
class TopicQuery:
    """A topic page's saved query: articles of any listed story, or matching the keywords (and, if sources
    are listed, from one of those sites)."""

    keywords: str = ""
    sources: tuple[str, ...] = ()
    story_ids: tuple[int, ...] = ()
    topic_id: int | None = None  # the topic page's own id: the desk's posts attached to it belong to it


@dataclass(frozen=True)
class Topic:
    id: int
    slug: str
    title: str
    query: TopicQuery
    created_at: datetime


@dataclass(frozen=True)
class SearchFilter:
    text: str
    sites: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    story_id: int | None = None


@dataclass(frozen=True)
class StoryStream:
    story_id: int


@dataclass(frozen=True)
class EntityFilter:
    """Articles mentioning an entity, optionally within another selection (a story, a topic, a search)."""

    entity_id: int
    within: Selection | None = None


@dataclass(frozen=True)
class SiteStream:
    """Every update on the site, whatever its story or topic: the site-wide feeds."""


Selection = StoryStream | TopicQuery | SearchFilter | EntityFilter | SiteStream


@dataclass(frozen=True)
class StreamItem:
    """One update as the pages show it."""

    id: int
    url: str
    site: str
    title: str
    byline: str | None
    at: datetime  # published, else first seen
    published_at: datetime | None
    first_seen_at: datetime
    lead: str  # the beginning of the text (LEAD_CHARS), for the excerpt
    language: str | None
    attributed_to: str | None
    story_id: int | None
    original_id: int | None
    # What the desk decided about it, and the live revision that decision (or its arrival) got.
    revision: int = 0
    kind: str = "article"  # or "post": written at the desk
    pinned: bool = False
    key_event: bool = False
    hidden_reason: str | None = None  # hidden from the pages (live pages remove it)
    post_id: int | None = None
    body_html: str | None = None  # a post's sanitised HTML
    version: int = 1  # a post's; above 1 once corrected
    corrected_at: datetime | None = None
    correction_note: str | None = None
    retracted_reason: str | None = None  # set: the post shows as "This update was removed", with this reason
    published_date_only: bool = False  # the page gave only the day of `published_at`

    @property
    def date_only(self) -> bool:
        """`at` is a day the page gave, not a time of day: shown as the date, ordered as the day's start."""
        return self.published_date_only and self.published_at is not None

    @property
    def retracted(self) -> bool:
        return self.retracted_reason is not None

    @property
    def position(self) -> Position:
        return Position(self.at, self.id)


@dataclass(frozen=True)
class StreamPage:
    items: list[StreamItem]
    next: Position | None  # None: nothing older


@dataclass(frozen=True)
class SearchResults:
    page: StreamPage
    snippets: dict[int, str]  # by article id; matches between MARK_START and MARK_END
    # By article id: how many updates of its story match (the article itself included; 1 outside any story).
    story_matches: dict[int, int]


@dataclass(frozen=True)
class Outlet:
    site: str
    last_at: datetime | None
