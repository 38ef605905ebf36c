"""Syndication: copies linked to the original they republish, and what chose the original."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from livedesk.urls import outlet


class Evidence(StrEnum):
    """What chose a group's original, strongest first."""

    ATTRIBUTION = "attribution"  # the copies credit the original's outlet ("Source: …")
    CANONICAL = "canonical"  # a copy's <link rel=canonical> points at the original
    PUBLISHED = "published"  # the earliest publication time
    FIRST_SEEN = "first_seen"  # the earliest arrival here


@dataclass(frozen=True)
class SyndicationMember:
    """What choosing an original needs to know about one article, and its current link."""

    id: int
    url: str
    canonical_url: str
    site: str
    attributed_to: str | None
    published_at: datetime | None
    first_seen_at: datetime
    original_id: int | None = None
    syndicated_from: str | None = None
    evidence: str | None = None

    @property
    def root_id(self) -> int:
        """Id of the original of this article's group (its own id for an original or a lone article)."""
        return self.id if self.original_id is None else self.original_id


@dataclass(frozen=True)
class SyndicationResult:
    """What `trace` decided for one article."""

    article_id: int
    original_id: int  # the article itself when it is the original or stands alone
    syndicated_from: str | None  # canonical URL of the original the article copies; None for an original
    member_ids: tuple[int, ...]  # the whole group, the article included
    evidence: Evidence | None  # None for an article standing alone
    changed_ids: tuple[int, ...]  # articles whose link was rewritten


@dataclass(frozen=True)
class SyndicationGroup:
    original: SyndicationMember
    copies: tuple[SyndicationMember, ...]  # by first seen
    evidence: Evidence | None

    @property
    def members(self) -> tuple[SyndicationMember, ...]:
        return (self.original, *self.copies)

    @property
    def credit_line(self) -> str:
        """ "first reported by X, also carried by Y, Z" (each outlet named once)."""
        first = outlet(self.original.site)
        others = list(dict.fromkeys(outlet(c.site) for c in self.copies if outlet(c.site) != first))
        line = f"first reported by {first}"
        return f"{line}, also carried by {', '.join(others)}" if others else line
