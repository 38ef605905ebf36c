"""Editors' story decisions: merge two stories, split articles off into a new one. Each is one transaction (the
story stage rebuilds the centroids inside it), then announced so the stories' open pages reload."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from livedesk.pipeline import stories
from livedesk.pipeline.stories import StoryNotFoundError
from livedesk.publish import Bus, Update
from livedesk.store import Store

__all__ = ["StoryNotFoundError", "merge", "split"]


async def merge(store: Store, bus: Bus, keep: int, absorb: int) -> None:
    """Move every article of story `absorb` into story `keep` (later arrivals follow) and delete `absorb`."""
    await asyncio.to_thread(stories.merge, store, keep, absorb)
    for story_id in (keep, absorb):
        await bus.publish(Update.story_changed(story_id))


async def split(store: Store, bus: Bus, story_id: int, article_ids: Iterable[int]) -> int:
    """Move the given articles of `story_id` into a new story (later arrivals follow); returns its id."""
    new = await asyncio.to_thread(stories.split, store, story_id, list(article_ids))
    for changed in (story_id, new):
        await bus.publish(Update.story_changed(changed))
    return new
