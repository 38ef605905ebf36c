"""An editor's decision on a claim's status, kept with who, when and why, and announced to the story's pages."""

from __future__ import annotations

import asyncio

from livedesk.models import COMMAND_LINE, Actor, ClaimStatus, StatusChange
from livedesk.publish import Bus, Update
from livedesk.store import Store
from livedesk.store.claims import ClaimNotFoundError

__all__ = ["MAX_REASON", "ClaimNotFoundError", "decide_claim_status", "set_claim_status"]

MAX_REASON = 1_000


def decide_claim_status(
    store: Store, claim_id: int, status: str | ClaimStatus, *, editor: str, reason: str, actor: Actor = COMMAND_LINE
) -> StatusChange:
    """An editor's decision on a claim's status, in one transaction with its audit entry; who, when and why are
    kept in the claim's history. ValueError for an unknown status or a missing editor or reason."""
    try:
        decided = ClaimStatus(status)
    except ValueError:
        raise ValueError(f"unknown status {status!r}; expected one of {', '.join(ClaimStatus)}") from None
    if not editor.strip() or not reason.strip():
        raise ValueError("an editor's name and a reason are required")
    if len(reason) > MAX_REASON:
        raise ValueError(f"reason: at most {MAX_REASON:,} characters")
    return store.set_claim_status(claim_id, decided, editor=editor.strip(), reason=reason.strip(), actor=actor)


async def set_claim_status(
    store: Store,
    bus: Bus,
    claim_id: int,
    status: str | ClaimStatus,
    *,
    editor: str,
    reason: str,
    actor: Actor = COMMAND_LINE,
) -> StatusChange:
    """`decide_claim_status`, announced to the story's open pages."""
    entry = await asyncio.to_thread(store.get_claim, claim_id)
    if entry is None:
        raise ClaimNotFoundError(claim_id)
    change = await asyncio.to_thread(
        lambda: decide_claim_status(store, claim_id, status, editor=editor, reason=reason, actor=actor)
    )
    await bus.publish(Update.story_changed(entry.story_id))
    return change
