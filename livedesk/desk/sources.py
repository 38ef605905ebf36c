"""The sources livedesk polls: added (one URL check for every way in, OPML imports too: livedesk.desk.opml),
enabled, disabled, polled now. Every change is audited under its actor, in its own transaction."""

from __future__ import annotations

from livedesk.models import COMMAND_LINE, Actor, Source, SourceKind
from livedesk.store import SourceNotFoundError, Store
from livedesk.urls import validate_source_url

__all__ = [
    "MAX_REASON",
    "SourceNotFoundError",
    "add_source",
    "disable_source",
    "enable_source",
    "poll_now",
]

MAX_REASON = 1_000


def add_source(
    store: Store,
    url: str,
    kind: SourceKind | str = SourceKind.FEED,
    title: str | None = None,
    *,
    actor: Actor = COMMAND_LINE,
) -> tuple[Source, bool]:
    """The source at `url` (normalised), created if new; ValueError with the reason for an unusable URL or kind."""
    try:
        kind = SourceKind(kind)
    except ValueError:
        raise ValueError(f"kind: one of {', '.join(SourceKind)}") from None
    return store.add_source(validate_source_url(url), kind, title, actor=actor)


def enable_source(store: Store, source_id: int, *, actor: Actor = COMMAND_LINE) -> Source:
    """Poll the source again, at once, its failure count cleared (SourceNotFoundError for an unknown id)."""
    return store.enable_source(source_id, actor=actor)


def disable_source(store: Store, source_id: int, reason: str, *, actor: Actor = COMMAND_LINE) -> Source:
    """Stop polling the source until it is enabled again; the reason is shown in the source list."""
    if not reason.strip():
        raise ValueError("a reason is required")
    if len(reason) > MAX_REASON:
        raise ValueError(f"reason: at most {MAX_REASON:,} characters")
    return store.disable_source(source_id, reason.strip(), actor=actor)


def poll_now(store: Store, source_id: int, *, actor: Actor = COMMAND_LINE) -> Source:
    """Make the source due now: the running poller fetches it on its next round. ValueError for a disabled
    source (enabling it makes it due)."""
    source = store.get_source(source_id)
    if source is None:
        raise SourceNotFoundError(source_id)
    if source.disabled:
        raise ValueError(f"source {source_id} is disabled; enable it to poll it")
    return store.poll_source_now(source_id, actor)
