"""An editor's title and summary for a story: shown to readers instead of the computed ones, which the story stage
keeps updating underneath. One transaction with its audit entry, then announced so the story's open pages reload."""

from __future__ import annotations

import asyncio

from livedesk.models import COMMAND_LINE, Actor, Story
from livedesk.publish import Bus, Update
from livedesk.store import Store
from livedesk.store.stories import StoryNotFoundError

__all__ = ["MAX_SUMMARY", "MAX_TITLE", "StoryNotFoundError", "edit", "edit_story"]

MAX_TITLE = 300
MAX_SUMMARY = 2_000


def edit_story(
    store: Store,
    story_id: int,
    *,
    title: str | None = None,
    summary: str | None = None,
    actor: Actor = COMMAND_LINE,
) -> Story:
    """Set the title and/or summary readers see instead of the computed ones (an empty one gives the computed one
    back; None leaves it as it is). ValueError when too long or nothing is given, StoryNotFoundError."""
    changes: dict[str, str | None] = {}
    for name, value, limit in (("desk_title", title, MAX_TITLE), ("desk_summary", summary, MAX_SUMMARY)):
        if value is None:
            continue
        cleaned = " ".join(value.split()) if name == "desk_title" else value.strip()
        if len(cleaned) > limit:
            raise ValueError(f"{name.removeprefix('desk_')}: at most {limit:,} characters")
        changes[name] = cleaned or None
    if not changes:
        raise ValueError("give a title or a summary")
    story = store.set_story_text(actor, story_id, changes)
    if story is None:
        raise StoryNotFoundError(story_id)
    return story


async def edit(
    store: Store,
    bus: Bus,
    story_id: int,
    *,
    title: str | None = None,
    summary: str | None = None,
    actor: Actor = COMMAND_LINE,
) -> Story:
    """`edit_story`, announced: the story's open pages reload with the new title and summary."""
    story = await asyncio.to_thread(lambda: edit_story(store, story_id, title=title, summary=summary, actor=actor))
    await bus.publish(Update.story_changed(story_id))
    return story
