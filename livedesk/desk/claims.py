"""An editor's decision on a claim's status, kept with who, when and why, and announced to the story's pages."""

from __future__ import annotations

import asyncio

from livedesk.pipeline.enrich.claims import ledger
from livedesk.publish import Bus, Update
from livedesk.store import Store
from livedesk.store.claims import ClaimNotFoundError, StatusChange

__all__ = ["ClaimNotFoundError", "set_claim_status"]


async def set_claim_status(
    store: Store, bus: Bus, claim_id: int, status: str, *, editor: str, reason: str
) -> StatusChange:
    """Set the claim's status (ValueError for an unknown status or a missing editor or reason)."""
    entry = await asyncio.to_thread(store.get_claim, claim_id)
    if entry is None:
        raise ClaimNotFoundError(claim_id)
    change = await asyncio.to_thread(ledger.set_claim_status, store, claim_id, status, editor=editor, reason=reason)
    await bus.publish(Update.story_changed(entry.story_id))
    return change
