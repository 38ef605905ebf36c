"""Stories: developing news events, each gathering the articles that report it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Story:
    id: int
    title: str
    summary: str
    first_seen: datetime
    last_update: datetime
    article_count: int
    outlet_count: int
    title_article_id: int | None


@dataclass(frozen=True)
class StoryMember:
    """What the story stage needs of one article: its text for the centroid, its site and time for the counts."""

    id: int
    title: str
    text: str
    site: str
    at: datetime  # published, else first seen
    is_copy: bool
    is_post: bool = False  # the desk's own post: it moves with the story but does not describe it
