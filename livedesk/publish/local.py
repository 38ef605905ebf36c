"""In-process fan-out: one bounded buffer per subscriber, filled synchronously by the publisher.

A publish is a plain loop of appends (no awaits), so it never waits for a slow subscriber and every subscriber
sees updates in publication order. The buffer is a deque with a hand-made waiter rather than an asyncio.Queue:
cutting a subscriber off (Lagged) or ending it (bus stopped) must wake a waiting reader even when its buffer
is full, which a Queue cannot do without a sentinel slot.
"""

from __future__ import annotations

import asyncio
from collections import deque
from enum import Enum, auto
from types import TracebackType

from livedesk.publish.update import Update

DEFAULT_BUFFER = 256


class Lagged(Exception):
    """The subscriber fell behind (or the bus lost its connection) and updates were dropped for it.

    Resume from the database (the SSE client's Last-Event-ID), then subscribe again.
    """


class _State(Enum):
    OPEN = auto()
    LAGGED = auto()
    CLOSED = auto()


class Subscription:
    """`async with bus.subscribe() as subscription: async for update in subscription: ...`

    Iteration ends when the bus stops; it raises Lagged once the subscriber has missed updates.
    Safe to wrap in asyncio.wait_for (e.g. for SSE keep-alive pings): a cancelled wait loses nothing.
    """

    def __init__(self, bus: InProcessBus, limit: int) -> None:
        self._bus = bus
        self._limit = limit
        self._items: deque[Update] = deque()
        self._state = _State.OPEN
        self._waiter: asyncio.Future[None] | None = None

    async def __aenter__(self) -> Subscription:
        self._bus._subscribers.add(self)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._bus._subscribers.discard(self)
        self._items.clear()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Update:
        while True:
            if self._state is _State.LAGGED:
                raise Lagged("updates were dropped for this subscriber")
            if self._items:
                return self._items.popleft()
            if self._state is _State.CLOSED:
                raise StopAsyncIteration
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    def _offer(self, update: Update) -> bool:
        """Buffer `update`; False (and the subscriber is cut off) when the buffer is full."""
        if len(self._items) >= self._limit:
            self._end(_State.LAGGED)
            return False
        self._items.append(update)
        self._wake()
        return True

    def _end(self, state: _State) -> None:
        self._state = state
        if state is _State.LAGGED:
            self._items.clear()  # the subscriber reloads from the database; free the memory now
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


class InProcessBus:
    """The bus of the embedded setup, and the local fan-out behind PostgresBus."""

    def __init__(self, buffer: int = DEFAULT_BUFFER) -> None:
        self._buffer = buffer
        self._subscribers: set[Subscription] = set()

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    @property
    def connected(self) -> bool:
        """Always: there is nothing to connect to."""
        return True

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        """End every subscription's iteration (the SSE streams close)."""
        for subscription in self._subscribers:
            subscription._end(_State.CLOSED)
        self._subscribers.clear()

    async def publish(self, update: Update) -> None:
        self.fan_out(update)

    def subscribe(self) -> Subscription:
        return Subscription(self, self._buffer)

    def fan_out(self, update: Update) -> None:
        """Hand `update` to every subscriber now; the ones that fell behind are cut off and forgotten."""
        lagging = [subscription for subscription in self._subscribers if not subscription._offer(update)]
        self._subscribers.difference_update(lagging)

    def lag_all(self) -> None:
        """Cut every subscriber off with Lagged: updates may have been missed (e.g. a lost connection)."""
        for subscription in self._subscribers:
            subscription._end(_State.LAGGED)
        self._subscribers.clear()
