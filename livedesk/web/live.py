"""Server-sent events for story and topic pages.

Each connection holds one bus subscription and never polls the database: it reads the database only to replay
what it missed (on connect after `Last-Event-ID`, and after falling behind). Deciding whether an article belongs
to a stream and rendering its HTML happen once per article in the process (`LiveItems`), however many pages
are open. Event ids are article ids: a reconnecting client resumes after the last one it saw.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

from jinja2 import Environment
from sse_starlette import ServerSentEvent
from starlette.concurrency import run_in_threadpool

from livedesk.publish import Bus, Lagged, Update
from livedesk.store import Store
from livedesk.store.web import Selection, StoryStream, StreamItem
from livedesk.web.render import update_views

HEARTBEAT_SECONDS = 15
# Rendered items and membership answers are shared by every connection for this long, then forgotten
# (an updated article re-renders after it).
CACHE_SECONDS = 30.0
CACHE_SIZE = 2048

_T = TypeVar("_T")


class _Memo:
    """Results of coroutines by key, shared by concurrent callers (one computation for all), for a while."""

    def __init__(self) -> None:
        self._entries: OrderedDict[object, tuple[float, asyncio.Future[object]]] = OrderedDict()

    async def get(self, key: object, compute: Callable[[], Awaitable[_T]]) -> _T:
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is None or now - entry[0] > CACHE_SECONDS or (entry[1].done() and entry[1].exception()):
            future: asyncio.Future[object] = asyncio.ensure_future(compute())
            self._entries[key] = (now, future)
            self._entries.move_to_end(key)
            while len(self._entries) > CACHE_SIZE:
                self._entries.popitem(last=False)
            entry = self._entries[key]
        return await asyncio.shield(entry[1])  # type: ignore[return-value]


class LiveItems:
    """The process-wide view of live updates: is article N part of this stream, and its rendered HTML."""

    def __init__(self, store: Store, env: Environment) -> None:
        self._store = store
        self._template = env.get_template("_update.html")
        self._members = _Memo()
        self._html = _Memo()

    def render(self, items: list[StreamItem]) -> list[str]:
        return [self._template.render(u=view) for view in update_views(self._store, items)]

    async def html(self, update: Update, selection: Selection) -> str | None:
        """The rendered item if the updated article belongs to `selection`, else None."""
        if isinstance(selection, StoryStream) and update.story_id != selection.story_id:
            return None  # the update says which story: no query needed
        item = await self._members.get(
            (update, selection), lambda: run_in_threadpool(self._store.stream_item, update.article_id, selection)
        )
        if item is None:
            return None
        return await self._html.get(update, lambda: run_in_threadpool(lambda: self.render([item])[0]))


def _event(item_id: int, html: str) -> ServerSentEvent:
    return ServerSentEvent(data=json.dumps({"id": item_id, "html": html}), id=str(item_id))


async def events(
    store: Store, bus: Bus, live: LiveItems, selection: Selection, last_id: int
) -> AsyncIterator[ServerSentEvent]:
    """Every item of `selection` arriving after `last_id`, once each, in arrival order."""
    sent = last_id
    while True:
        # Subscribe before reading the backlog: whatever arrives in between is in the subscription.
        async with bus.subscribe() as subscription:
            while True:
                missed = await run_in_threadpool(store.arrived_since, selection, sent)
                if not missed:
                    break
                for item, html in zip(missed, await run_in_threadpool(live.render, missed), strict=True):
                    yield _event(item.id, html)
                    sent = item.id
            try:
                async for update in subscription:
                    if update.article_id <= sent:
                        continue  # replayed already
                    html = await live.html(update, selection)
                    if html is not None:
                        yield _event(update.article_id, html)
                        sent = update.article_id
                return  # the bus stopped: the server is shutting down
            except Lagged:
                continue  # replay from the database since `sent`, then listen again
