"""The kinds of live stream — a story, a topic page, the whole site — resolved from a URL, for pages, events and
feeds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi import HTTPException

from livedesk.models import InvalidCursorError, Position, Selection, SiteStream, StoryStream
from livedesk.store import Store


@dataclass(frozen=True)
class StreamInfo:
    kind: str  # "Story" or "Live updates"
    title: str
    summary: str | None
    selection: Selection
    path: str  # of the HTML page; events and feeds hang below it
    outlets: int | None
    first_seen: datetime | None
    last_update: datetime | None


def story_stream(store: Store, story_id: int) -> StreamInfo:
    story = store.get_story(story_id)
    if story is None:
        raise HTTPException(404, f"No story {story_id}.")
    return StreamInfo(
        kind="Story",
        title=story.title,
        summary=story.summary,
        selection=StoryStream(story_id),
        path=f"/stories/{story_id}",
        outlets=story.outlet_count,
        first_seen=story.first_seen,
        last_update=story.last_update,
    )


def topic_stream(store: Store, slug: str) -> StreamInfo:
    topic = store.get_topic(slug)
    if topic is None:
        raise HTTPException(404, f"No topic page {slug!r}.")
    newest = store.page(topic.query, limit=1).items
    return StreamInfo(
        kind="Live updates",
        title=topic.title,
        summary=None,
        selection=topic.query,
        path=f"/live/{slug}",
        outlets=None,
        first_seen=topic.created_at,
        last_update=newest[0].at if newest else None,
    )


# The site-wide feeds' title and description.
SITE_TITLE = "livedesk: every story"
SITE_SUMMARY = "Every update on every story, newest first."


def site_stream() -> StreamInfo:
    """Every update on the site (the site-wide feeds; the home page lists stories instead)."""
    return StreamInfo(
        kind="Site",
        title=SITE_TITLE,
        summary=SITE_SUMMARY,
        selection=SiteStream(),
        path="/",
        outlets=None,
        first_seen=None,
        last_update=None,
    )


def position(cursor: str | None) -> Position | None:
    """The decoded cursor; a 400 for anything the server did not hand out."""
    if cursor is None:
        return None
    try:
        return Position.decode(cursor)
    except InvalidCursorError as err:
        raise HTTPException(400, str(err)) from err
