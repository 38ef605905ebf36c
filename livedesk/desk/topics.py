"""Topic live pages: a saved query (keywords, sites, stories) with its own page at /live/SLUG."""

from __future__ import annotations

import re
from collections.abc import Iterable

from livedesk.models import COMMAND_LINE, Actor, Topic, TopicQuery
from livedesk.store import Store
from livedesk.store.web import TopicExistsError

__all__ = ["TopicExistsError", "create_topic", "list_topics"]

SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,99}")


def create_topic(
    store: Store,
    slug: str,
    title: str,
    *,
    keywords: str = "",
    sources: Iterable[str] = (),
    story_ids: Iterable[int] = (),
    actor: Actor = COMMAND_LINE,
) -> Topic:
    """A new topic page; ValueError for a bad slug, an empty title or no criterion, TopicExistsError for a slug
    in use."""
    if not SLUG.fullmatch(slug):
        raise ValueError("slug: lower-case letters, digits and hyphens")
    if not title.strip():
        raise ValueError("a title is required")
    query = TopicQuery(keywords=keywords.strip(), sources=tuple(sources), story_ids=tuple(story_ids))
    if not (query.keywords or query.sources or query.story_ids):
        raise ValueError("give keywords, sources or stories")
    topic = store.create_topic(slug, title.strip(), query)
    after = {"slug": slug, "title": topic.title, "keywords": query.keywords, "sources": list(query.sources)}
    store.record_audit(actor, "topic.create", f"topic:{topic.id}", None, {**after, "story_ids": list(query.story_ids)})
    return topic


def list_topics(store: Store) -> list[Topic]:
    return store.list_topics()
