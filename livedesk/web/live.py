"""Server-sent events for story and topic pages.

Each connection holds one bus subscription and never polls the database: it reads the database only to replay
what it missed (on connect after `Last-Event-ID`, and after falling behind). Deciding whether an article belongs
to a stream, rendering its HTML and encoding the event's bytes happen once per article in the process
(`LiveItems`), however many pages are open: each connection only writes the shared bytes. Event ids are live
revisions: a reconnecting client resumes after the last one it saw. An editor's change to a story itself (merge,
split, rename) reaches its pages as a named `story` event, without an id (nothing to replay: the page reloads
its header).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Generic, Protocol, TypeVar

from jinja2 import Environment
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from livedesk.metrics import SSE_CLIENTS
from livedesk.models import EntityFilter, Selection, StoryStream, StreamItem
from livedesk.publish import Bus, Lagged, Update, UpdateKind
from livedesk.store import Store
from livedesk.web.render import UpdateView, update_views

HEARTBEAT_SECONDS = 15.0
# A comment line: keeps proxies from timing the stream out; EventSource ignores it.
HEARTBEAT = b": ping\r\n\r\n"
# Rendered items and membership answers are shared by every connection for this long, then forgotten
# (an updated article re-renders after it).
CACHE_SECONDS = 30.0
CACHE_SIZE = 2048

_V = TypeVar("_V")


class Memo(Generic[_V]):
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
        # By (update, selection): the one result every connection waits for (revision and event, or None).
        self._events = Memo[tuple[int, bytes] | None]()
        self._encoded = Memo[bytes]()  # by (article, revision): encoded once, whichever selections it belongs to

    def encode(self, items: list[StreamItem]) -> list[bytes]:
        """Each item as one SSE event, ready to write."""
        views = update_views(self._store, items)
        chips = self._store.entities_of(item.id for item in items)
        return [encode_event(view, self._template.render(u=view, entity_chips=chips)) for view in views]

    def cards(self, selection: Selection, items: list[StreamItem]) -> list[StreamItem]:
        """What the pages of `selection` show for each changed item: a change to a copy is a change to its
        original's card (its "also carried by"), sent as that card under the copy's revision when newer. A
        hidden item stays itself: the page removes its card, if it has one."""
        copies = [item for item in items if item.original_id is not None and item.hidden_reason is None]
        shown = self._store.group_cards(selection, copies)
        cards = []
        for item in items:
            card = shown.get(item.id, item)
            cards.append(card if card is item else replace(card, revision=max(card.revision, item.revision)))
        return cards

    async def event(self, update: Update, selection: Selection) -> tuple[int, bytes] | None:
        """The updated article's revision and event if it belongs to `selection`, else None."""
        if isinstance(selection, StoryStream) and update.story_id != selection.story_id:
            return None  # the update says which story: no query needed
        return await self._events.get(publication(update, selection), lambda: self._event(update, selection))

    async def _event(self, update: Update, selection: Selection) -> tuple[int, bytes] | None:
        item = await run_in_threadpool(self._store.stream_item, update.article_id, selection)
        if item is None:
            return None
        if item.original_id is not None:
            item = (await run_in_threadpool(self.cards, selection, [item]))[0]
        key = (item.id, item.revision)
        return item.revision, await self._encoded.get(key, lambda: run_in_threadpool(lambda: self.encode([item])[0]))


class _Same:
    """An update compared by identity: the one object a bus hands every subscriber for one publication."""

    __slots__ = ("update",)

    def __init__(self, update: Update) -> None:
        self.update = update  # held by the memo's key: its id cannot be reused while the entry lives

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Same) and other.update is self.update

    def __hash__(self) -> int:
        return id(self.update)


def publication(update: Update, audience: object) -> tuple[object, object]:
    """The memo key of one publication's answer for `audience` (a selection, or the home page). An update with its
    revision names one state of the article; one without (the ingest announces `Update(article, story)`, revision
    0) is the same value each time the article changes: equal updates would share the first answer for
    CACHE_SECONDS and hide the newer state. Every subscriber receives the same object for one publication, so that
    object is the key."""
    return (update if update.revision else _Same(update)), audience


def story_of(selection: Selection) -> int | None:
    """The story whose page shows `selection` (an entity filter on a story page included), else None."""
    if isinstance(selection, EntityFilter) and selection.within is not None:
        return story_of(selection.within)
    return selection.story_id if isinstance(selection, StoryStream) else None


def story_event(story_id: int) -> bytes:
    """The named event telling a story's pages that editors changed the story (title, summary, merged, split).
    No id: it changes no item, and a reconnect must resume after the last item's revision."""
    return f"event: story\r\ndata: {json.dumps({'story_id': story_id})}\r\n\r\n".encode()


def encode_event(view: UpdateView, html: str) -> bytes:
    """The item's current state as one event, its id the item's revision. A hidden item is sent without its
    HTML: the page removes it."""
    item = view.item
    state: dict[str, object] = {"id": item.id, "revision": item.revision}
    if item.hidden_reason is not None:
        state["removed"] = True
    else:
        state.update(
            html=html,
            pinned=item.pinned,
            key_event=item.key_event,
            at=item.at.isoformat(),
            # For the page's Key events list: what names the item there, and its page.
            label=view.label,
            permalink=view.permalink,
        )
    # json.dumps escapes newlines: the data is one line, whatever the HTML holds.
    return f"id: {item.revision}\r\ndata: {json.dumps(state)}\r\n\r\n".encode()


# Revisions sent live since the last replay are remembered up to this many; past it, the stream replays.
MAX_DELIVERED = 1024


class LiveSource(Protocol):
    """What one page follows: what it missed since a revision, and what one publication on the bus means to it."""

    async def missed(self, floor: int, delivered: set[int]) -> tuple[list[bytes], int | None]:
        """Events for changes above revision `floor` whose revision is not in `delivered`, and the highest revision
        read (None: nothing above `floor`)."""
        ...

    async def event(self, update: Update) -> tuple[int | None, bytes] | None:
        """The event `update` makes (with its revision, or None for an event that changes no revision), or None
        when the page does not show what changed."""
        ...


class ItemSource:
    """A story, topic or entity page: its items' changes."""

    def __init__(self, store: Store, live: LiveItems, selection: Selection) -> None:
        self._store, self._live, self._selection = store, live, selection

    async def missed(self, floor: int, delivered: set[int]) -> tuple[list[bytes], int | None]:
        missed = await run_in_threadpool(self._store.changed_since, self._selection, floor)
        if not missed:
            return [], None
        fresh = [item for item in missed if item.revision not in delivered]
        cards = await run_in_threadpool(self._live.cards, self._selection, fresh)
        return await run_in_threadpool(self._live.encode, cards), missed[-1].revision

    async def event(self, update: Update) -> tuple[int | None, bytes] | None:
        if update.kind is UpdateKind.STORY:
            if update.story_id is not None and update.story_id == story_of(self._selection):
                return None, story_event(update.story_id)
            return None
        return await self._live.event(update, self._selection)


async def follow(bus: Bus, source: LiveSource, last_id: int) -> AsyncIterator[bytes]:
    """Every change `source` shows after revision `last_id`, each revision once, as encoded events; a heartbeat
    comment whenever nothing was sent for HEARTBEAT_SECONDS.

    Replays read the database up to its newest revision (`floor`): revisions commit in order, so nothing at or
    below it can still appear. Above it, live updates may arrive out of order (two processes publish after their
    commits), so what was sent is remembered by revision rather than by a high-water mark."""
    floor = last_id
    delivered: set[int] = set()
    while True:
        # Subscribe before reading the backlog: whatever arrives in between is in the subscription.
        async with bus.subscribe() as subscription:
            while True:
                replayed, read_up_to = await source.missed(floor, delivered)
                if read_up_to is None:
                    break
                for event in replayed:
                    yield event
                floor = read_up_to
            delivered = {revision for revision in delivered if revision > floor}
            loop = asyncio.get_running_loop()
            beat_at = loop.time() + HEARTBEAT_SECONDS
            try:
                while len(delivered) < MAX_DELIVERED:
                    try:
                        # A deadline around the wait rather than a task per wait; a cancelled wait loses nothing.
                        async with asyncio.timeout_at(beat_at):
                            update = await anext(subscription)
                    except TimeoutError:
                        yield HEARTBEAT
                        beat_at = loop.time() + HEARTBEAT_SECONDS
                        continue
                    found = await source.event(update)
                    if found is None:
                        continue
                    revision, event = found
                    if revision is not None:
                        if revision <= floor or revision in delivered:
                            continue  # replayed already, or announced twice
                        delivered.add(revision)
                    yield event
                    beat_at = loop.time() + HEARTBEAT_SECONDS
            except StopAsyncIteration:
                return  # the bus stopped: the server is shutting down
            except Lagged:
                pass
            # Lagged, or many live events since the last replay: replay from the database, then listen again.


def event_stream(store: Store, bus: Bus, live: LiveItems, selection: Selection, last_id: int) -> StreamingResponse:
    """Every change to `selection` after revision `last_id` (arrivals, corrections, retractions, pins, hidden
    items), each revision once, as a text/event-stream response."""
    return source_stream(bus, ItemSource(store, live, selection), last_id)


def source_stream(bus: Bus, source: LiveSource, last_id: int) -> StreamingResponse:
    """The text/event-stream response of `follow`. Starlette's StreamingResponse ends the stream (and the
    subscription) when the client disconnects."""
    return StreamingResponse(
        _counted(follow(bus, source, last_id)),
        media_type="text/event-stream",
        headers={"cache-control": "no-store", "x-accel-buffering": "no"},
    )


async def _counted(events: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """`events`, counted among the open streams while they are being sent."""
    with SSE_CLIENTS.track_inprogress():
        async for event in events:
            yield event
