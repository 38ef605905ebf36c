"""Editors' decisions on stories (merge, split) as one write transaction: the reads they are computed from and
the writes that apply them see the same data, and a failure anywhere leaves nothing half done."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from livedesk.models import Actor, ClaimStatus, EntityRef, LedgerEntry, Story, StoryMember
from livedesk.store import audit, claims, entities, stories
from livedesk.store.claims import ClaimMatcher
from livedesk.store.stories import StorySession, StoryState


class EditSession(StorySession):
    """What a merge or split reads and writes, on the connection of one write transaction (Store.edit_session)."""

    def lock_stories(self, story_ids: Iterable[int]) -> dict[int, Story]:
        return stories.lock_stories(self._connection, story_ids)

    def story_members(self, story_id: int) -> list[StoryMember]:
        return stories.story_members(self._connection, story_id)

    def entities_of(self, article_ids: Iterable[int]) -> dict[int, list[EntityRef]]:
        return entities.entities_of(self._connection, article_ids)

    def story_claims(self, story_id: int) -> list[LedgerEntry]:
        return claims.story_entries(self._connection, story_id)

    def update_claim_statuses(self, statuses: Mapping[int, ClaimStatus]) -> None:
        claims.update_statuses(self._connection, statuses)

    def move_claims(
        self, source: int, target: int, *, match: ClaimMatcher, article_ids: Collection[int] | None = None
    ) -> dict[int, int]:
        return claims.move_entries(self._connection, self._insert, source, target, match=match, article_ids=article_ids)

    def rewrite_stories(
        self, states: list[StoryState], moves: Mapping[int, list[int]], *, delete: Iterable[int] = ()
    ) -> list[int]:
        return stories.rewrite_stories(self._connection, states, moves, delete=delete)

    def record_audit(
        self, actor: Actor, action: str, target: str, before: dict[str, Any] | None, after: dict[str, Any] | None
    ) -> None:
        """The decision's audit entry, committed with it."""
        audit.record(self._connection, actor, action, target, before, after)
