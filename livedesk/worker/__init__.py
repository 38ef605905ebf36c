"""The poll loop: lease the due sources, run them through the pipeline, announce what changed, sleep until the
next one is due. The same loop runs in `livedesk poll` processes and embedded in the web process (SQLite default).

Leases make several pollers safe on one database: each due source is taken by one poller at a time; a poller that
dies without reporting gives its sources back when their lease runs out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from livedesk.config import Settings
from livedesk.models import Source
from livedesk.pipeline import Ingestor, IngestReport
from livedesk.pipeline.fetch import RobotsCache
from livedesk.pipeline.ingest import ProgressHook
from livedesk.publish import Bus, announcer
from livedesk.store import Store

__all__ = ["MIN_PAUSE", "POLL_LEASE", "poll_forever", "poll_once", "seconds_until_next_poll"]

logger = logging.getLogger(__name__)

# Never spin: even when a source is overdue, wait this long between rounds.
MIN_PAUSE = 1.0
# Longer than any poll round takes (fetch deadlines, per-host delays): a live poller never loses its lease.
POLL_LEASE = timedelta(minutes=15)


async def poll_once(
    store: Store,
    bus: Bus | None,
    settings: Settings,
    *,
    on_item: ProgressHook | None = None,
    robots: RobotsCache | None = None,
) -> IngestReport:
    """One round: lease the due sources, poll them, announce every new or changed article on `bus`. `robots` is
    the robots.txt cache of a loop that polls again."""
    sources = await asyncio.to_thread(store.lease_due_sources, datetime.now(UTC), lease=POLL_LEASE)
    on_stored = None if bus is None else announcer(bus)
    async with Ingestor(store, settings, on_item=on_item, on_stored=on_stored, robots=robots) as ingestor:
        return await ingestor.poll(sources)


async def poll_forever(
    store: Store,
    bus: Bus | None,
    settings: Settings,
    *,
    before_round: Callable[[], None] | None = None,
    on_round: Callable[[IngestReport, float], None] | None = None,
) -> None:
    """Poll until cancelled. `before_round` runs before each round (the demo releases more articles there);
    `on_round` gets each round's report and the seconds until the next."""
    robots = RobotsCache()
    while True:
        if before_round is not None:
            before_round()
        report = None
        try:
            report = await poll_once(store, bus, settings, robots=robots)
            logger.info("poll: %s", dict(report.outcomes), extra={"outcomes": dict(report.outcomes)})
        except Exception:  # one bad round must not stop the desk; the next one retries
            logger.exception("poll round failed")
        sources = await asyncio.to_thread(store.list_sources)
        wait = max(seconds_until_next_poll(sources, datetime.now(UTC), settings.poll_interval), MIN_PAUSE)
        if on_round is not None and report is not None:
            on_round(report, wait)
        await asyncio.sleep(wait)


def seconds_until_next_poll(sources: Iterable[Source], now: datetime, default: float) -> float:
    """How long the poll loop may sleep: until the earliest enabled source is due (and not leased by another)."""
    due = [_due_at(s, now) for s in sources if not s.disabled]
    if not due:
        return default
    return max(0.0, min((at - now).total_seconds() for at in due))


def _due_at(source: Source, now: datetime) -> datetime:
    return max(source.next_poll_at or now, source.leased_until or now)
