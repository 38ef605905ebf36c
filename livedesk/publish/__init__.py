"""Publish/subscribe for live updates: in-process for SQLite, LISTEN/NOTIFY for PostgreSQL.

Whoever stores an article publishes an `Update`; every open live page (an SSE stream) holds a `Subscription`.
`open_bus(database_url)` picks the implementation from the database URL, so the same code runs embedded and
scaled out:

    bus = open_bus(settings.database_url)
    await bus.start()
    async with bus.subscribe() as subscription:   # subscribe first, then read the backlog from the database
        async for update in subscription: ...      # raises Lagged: resume from the database (Last-Event-ID)
    await bus.stop()

A subscriber never slows the publisher down: each has a small bounded buffer, and one that falls behind is cut
off with `Lagged` instead of being waited for or buffered without bound.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from livedesk.metrics import INGEST_LAG
from livedesk.publish.local import InProcessBus, Lagged, Subscription
from livedesk.publish.postgres import CHANNEL, PostgresBus, conninfo
from livedesk.publish.update import Update, UpdateKind
from livedesk.store.engine import make_url

if TYPE_CHECKING:
    from livedesk.models import StoredArticle, UpsertOutcome

__all__ = [
    "CHANNEL",
    "Bus",
    "InProcessBus",
    "Lagged",
    "PostgresBus",
    "Subscription",
    "Update",
    "UpdateKind",
    "announcer",
    "ingest_lag",
    "open_bus",
]


class Bus(Protocol):
    @property
    def connected(self) -> bool: ...
    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def publish(self, update: Update) -> None: ...
    def subscribe(self) -> Subscription: ...


def open_bus(database_url: str) -> Bus:
    """LISTEN/NOTIFY when the database is PostgreSQL (several processes share it), in-process otherwise."""
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        return PostgresBus(conninfo(url))
    return InProcessBus()


def announcer(bus: Bus) -> Callable[[StoredArticle, UpsertOutcome], Awaitable[None]]:
    """The Ingestor's `on_stored` hook that announces each new or changed article on `bus`."""

    async def announce(stored: StoredArticle, outcome: UpsertOutcome) -> None:
        await bus.publish(Update(article_id=stored.id, story_id=stored.story_id))
        if outcome == "new":  # a correction to an old article is not a late arrival
            INGEST_LAG.observe(ingest_lag(stored, datetime.now(UTC)))

    return announce


def ingest_lag(stored: StoredArticle, now: datetime) -> float:
    """Seconds from the article's publication (else its first sighting) to `now`; never negative (a publication
    time in the future is a site's clock or time-zone mistake)."""
    published = stored.article.published_at or stored.article.first_seen_at
    return max(0.0, (now - published).total_seconds())
