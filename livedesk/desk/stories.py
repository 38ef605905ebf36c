"""Editors' story decisions: merge two stories, split articles off into a new one. Each is one transaction with its
audit entry (the story stage rebuilds the centroids inside it, the claim ledger moves with the articles), then
announced so the stories' open pages reload.

These need the pipeline's story stage: the web app is handed them (livedesk.web.app.StoryEdits) rather than
importing them, so a web process never loads the pipeline unless it runs it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from livedesk.models import COMMAND_LINE, Actor
from livedesk.pipeline.enrich.claims.ledger import move_claims_on_merge, rehome_claims_on_split
from livedesk.pipeline.stories import DEFAULT, StoryNotFoundError, StorySettings, lock_stories, rebuild
from livedesk.publish import Bus, Update
from livedesk.store import Store

__all__ = ["StoryNotFoundError", "merge", "merge_stories", "split", "split_story"]


def merge_stories(
    store: Store, keep: int, absorb: int, *, settings: StorySettings = DEFAULT, actor: Actor = COMMAND_LINE
) -> None:
    """Move every article of story `absorb` into story `keep` and delete `absorb`, in one transaction."""
    if keep == absorb:
        raise ValueError("cannot merge a story into itself")
    with store.edit_session() as edit:
        stories = lock_stories(edit, keep, absorb)
        members = [*edit.story_members(keep), *edit.story_members(absorb)]
        state = rebuild(edit, keep, members, settings)
        move_claims_on_merge(edit, keep, absorb)  # before the absorbed story (and its ledger) is deleted
        edit.rewrite_stories([state], {0: [m.id for m in members]}, delete=[absorb])
        edit.record_audit(
            actor,
            "story.merge",
            f"story:{keep}",
            {"stories": {str(i): stories[i].title for i in (keep, absorb)}},
            {"story": keep, "absorbed": absorb, "article_ids": [m.id for m in members]},
        )


def split_story(
    store: Store,
    story_id: int,
    article_ids: Iterable[int],
    *,
    settings: StorySettings = DEFAULT,
    actor: Actor = COMMAND_LINE,
) -> int:
    """Move the given articles of a story into a new story, in one transaction; returns the new story's id."""
    with store.edit_session() as edit:
        lock_stories(edit, story_id)
        members = edit.story_members(story_id)
        leaving = set(article_ids)
        unknown = leaving - {m.id for m in members}
        if unknown:
            raise ValueError(f"not in story {story_id}: {', '.join(map(str, sorted(unknown)))}")
        staying = [m for m in members if m.id not in leaving]
        if not leaving or not staying:
            raise ValueError("a split must leave at least one article on each side")
        moved = [m for m in members if m.id in leaving]
        states = [rebuild(edit, story_id, staying, settings), rebuild(edit, None, moved, settings)]
        new = edit.rewrite_stories(states, {1: [m.id for m in moved]})[1]
        rehome_claims_on_split(edit, story_id, new, [m.id for m in moved])
        edit.record_audit(
            actor,
            "story.split",
            f"story:{story_id}",
            {"story": story_id, "article_ids": [m.id for m in members]},
            {"story": story_id, "new_story": new, "moved_article_ids": [m.id for m in moved]},
        )
        return new


async def merge(store: Store, bus: Bus, keep: int, absorb: int, *, actor: Actor = COMMAND_LINE) -> None:
    """`merge_stories`, announced: later arrivals follow, open pages of both stories reload."""
    await asyncio.to_thread(lambda: merge_stories(store, keep, absorb, actor=actor))
    for story_id in (keep, absorb):
        await bus.publish(Update.story_changed(story_id))


async def split(
    store: Store, bus: Bus, story_id: int, article_ids: Iterable[int], *, actor: Actor = COMMAND_LINE
) -> int:
    """`split_story`, announced; returns the new story's id."""
    moving = list(article_ids)
    new = await asyncio.to_thread(lambda: split_story(store, story_id, moving, actor=actor))
    for changed in (story_id, new):
        await bus.publish(Update.story_changed(changed))
    return new
