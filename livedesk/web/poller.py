"""The embedded setup's ingest loop, inside the web process: poll due sources, announce every new or changed
article on the bus so open live pages get it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from livedesk.config import Settings
from livedesk.pipeline import Ingestor, seconds_until_next_poll
from livedesk.publish import Bus, announcer
from livedesk.store import Store

logger = logging.getLogger(__name__)

# Never spin: even when a source is overdue, wait this long between rounds.
MIN_PAUSE = 1.0


async def poll_forever(
    store: Store, bus: Bus, settings: Settings, *, before_round: Callable[[], None] | None = None
) -> None:
    """Poll until cancelled. `before_round` runs before each round (the demo releases more articles there)."""

    while True:
        if before_round is not None:
            before_round()
        try:
            async with Ingestor(store, settings, on_stored=announcer(bus)) as ingestor:
                report = await ingestor.poll(store.due_sources(datetime.now(UTC)))
            logger.info("poll: %s", dict(report.outcomes))
        except Exception:  # one bad round must not stop the desk; the next one retries
            logger.exception("poll round failed")
        wait = seconds_until_next_poll(store.list_sources(), datetime.now(UTC), settings.poll_interval)
        await asyncio.sleep(max(wait, MIN_PAUSE))
