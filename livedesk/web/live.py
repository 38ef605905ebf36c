"""Server-sent events for story and topic pages.

Each connection holds one bus subscription and never polls the database: it reads the database only to replay
what it missed (on connect after `Last-Event-ID`, and after falling behind). Deciding whether an article belongs
to a stream, rendering its HTML and encoding the event's bytes happen once per article in the process
(`LiveItems`), however many pages are open: each connection only writes the shared bytes. Event ids are article
ids: a reconnecting client resumes after the last one it saw.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Generic, TypeVar

from jinja2 import Environment
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from livedesk.models import Selection, StoryStream, StreamItem
from livedesk.publish import Bus, Lagged, Update
from livedesk.store import Store
from livedesk.web.render import update_views

HEARTBEAT_SECONDS = 15.0
# A comment line: keeps proxies from timing the stream out; EventSource ignores it.
HEARTBEAT = b": ping\r\n\r\n"
# Rendered items and membership answers are shared by every connection for this long, then forgotten
# (an updated article re-renders after it).
CACHE_SECONDS = 30.0
CACHE_SIZE = 2048

_V = TypeVar("_V")


class _Memo(Generic[_V]):
    """Results of coroutines by key, shared by concurrent callers (one computation for all), for a while."""

    def __init__(self) -> None:
        self._entries: OrderedDict[object, tuple[float, asyncio.Future[_V]]] = OrderedDict()

    async def get(self, key: object, compute: Callable[[], Awaitable[_V]]) -> _V:
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is None or now - entry[0] > CACHE_SECONDS or (entry[1].done() and entry[1].exception()):
            future = asyncio.ensure_future(compute())
            self._entries[key] = (now, future)
            self._entries.move_to_end(key)
            while len(self._entries) > CACHE_SIZE:
                self._entries.popitem(last=False)
            entry = self._entries[key]
        if entry[1].done():
            return entry[1].result()  # most connections: no shield, no suspension
        return await asyncio.shield(entry[1])


class LiveItems:
    """The process-wide view of live updates: is article N part of this stream, and its encoded event."""

    def __init__(self, store: Store, env: Environment) -> None:
        self._store = store
        self._template = env.get_template("_update.html")
        self._events = _Memo[bytes | None]()  # by (update, selection): the one result every connection waits for
        self._encoded = _Memo[bytes]()  # by update: encoded once, whichever selections it belongs to

    def encode(self, items: list[StreamItem]) -> list[bytes]:
        """Each item as one SSE event, ready to write."""
        views = update_views(self._store, items)
        chips = self._store.entities_of(item.id for item in items)
        return [encode_event(view.item.id, self._template.render(u=view, entity_chips=chips)) for view in views]

    async def event(self, update: Update, selection: Selection) -> bytes | None:
        """The updated article's event if it belongs to `selection`, else None."""
        if isinstance(selection, StoryStream) and update.story_id != selection.story_id:
            return None  # the update says which story: no query needed
        return await self._events.get((update, selection), lambda: self._event(update, selection))

    async def _event(self, update: Update, selection: Selection) -> bytes | None:
        item = await run_in_threadpool(self._store.stream_item, update.article_id, selection)
        if item is None:
            return None
        return await self._encoded.get(update, lambda: run_in_threadpool(lambda: self.encode([item])[0]))


def encode_event(item_id: int, html: str) -> bytes:
    # json.dumps escapes newlines: the data is one line, whatever the HTML holds.
    data = json.dumps({"id": item_id, "html": html})
    return f"id: {item_id}\r\ndata: {data}\r\n\r\n".encode()


async def events(store: Store, bus: Bus, live: LiveItems, selection: Selection, last_id: int) -> AsyncIterator[bytes]:
    """Every item of `selection` arriving after `last_id`, once each, in arrival order, as encoded events;
    a heartbeat comment whenever nothing was sent for HEARTBEAT_SECONDS."""
    sent = last_id
    while True:
        # Subscribe before reading the backlog: whatever arrives in between is in the subscription.
        async with bus.subscribe() as subscription:
            while True:
                missed = await run_in_threadpool(store.arrived_since, selection, sent)
                if not missed:
                    break
                for item, replayed in zip(missed, await run_in_threadpool(live.encode, missed), strict=True):
                    yield replayed
                    sent = item.id
            loop = asyncio.get_running_loop()
            beat_at = loop.time() + HEARTBEAT_SECONDS
            try:
                while True:
                    try:
                        # A deadline around the wait rather than a task per wait; a cancelled wait loses nothing.
                        async with asyncio.timeout_at(beat_at):
                            update = await anext(subscription)
                    except TimeoutError:
                        yield HEARTBEAT
                        beat_at = loop.time() + HEARTBEAT_SECONDS
                        continue
                    if update.article_id <= sent:
                        continue  # replayed already
                    event = await live.event(update, selection)
                    if event is not None:
                        yield event
                        sent = update.article_id
                        beat_at = loop.time() + HEARTBEAT_SECONDS
            except StopAsyncIteration:
                return  # the bus stopped: the server is shutting down
            except Lagged:
                continue  # replay from the database since `sent`, then listen again


def event_stream(store: Store, bus: Bus, live: LiveItems, selection: Selection, last_id: int) -> StreamingResponse:
    """The text/event-stream response of `events`. Starlette's StreamingResponse ends the stream (and the
    subscription) when the client disconnects."""
    return StreamingResponse(
        events(store, bus, live, selection, last_id),
        media_type="text/event-stream",
        headers={"cache-control": "no-store", "x-accel-buffering": "no"},
    )
