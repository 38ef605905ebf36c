"""The update bus: in-process fan-out, and LISTEN/NOTIFY against the real PostgreSQL server."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import psycopg
import pytest
import sqlalchemy as sa

from livedesk.publish import (
    Bus,
    InProcessBus,
    Lagged,
    PostgresBus,
    Subscription,
    Update,
    conninfo,
    open_bus,
)

WAIT = 10.0  # seconds before a missing delivery fails the test


async def next_update(subscription: Subscription) -> Update:
    return await asyncio.wait_for(anext(subscription), WAIT)


# messages


def test_update_round_trips_through_json() -> None:
    for update in (Update(article_id=7, story_id=3), Update(article_id=8, story_id=None)):
        assert Update.from_json(update.to_json()) == update


@pytest.mark.parametrize(
    "text",
    [
        "",
        "nope",
        "[]",
        '{"article_id": 1}',
        '{"article_id": "1", "story_id": null}',
        '{"article_id": true, "story_id": 1}',
    ],
)
def test_anything_else_is_not_an_update(text: str) -> None:
    with pytest.raises(ValueError, match="not an update"):
        Update.from_json(text)


def test_the_database_url_chooses_the_bus() -> None:
    assert isinstance(open_bus("sqlite:///desk.db"), InProcessBus)
    assert isinstance(open_bus("desk.db"), InProcessBus)
    assert isinstance(open_bus("postgresql+psycopg://postgres@127.0.0.1:5432/test"), PostgresBus)


def test_conninfo_keeps_credentials_and_options() -> None:
    url = sa.make_url("postgresql+psycopg://ed:p%20w@db.internal:6543/desk?options=-csearch_path%3Dt_1")
    assert psycopg.conninfo.conninfo_to_dict(conninfo(url)) == {
        "host": "db.internal",
        "port": "6543",
        "dbname": "desk",
        "user": "ed",
        "password": "p w",
        "options": "-csearch_path=t_1",
    }


# in-process


async def test_every_subscriber_gets_every_update_in_order() -> None:
    bus = InProcessBus()
    updates = [Update(article_id=n, story_id=n % 2 or None) for n in range(5)]
    async with _subscribed(bus, 1000) as subscriptions:
        for update in updates:
            await bus.publish(update)
        for subscription in subscriptions:
            assert [await next_update(subscription) for _ in updates] == updates


async def test_a_waiting_subscriber_wakes_on_publish() -> None:
    bus = InProcessBus()
    async with bus.subscribe() as subscription:
        waiting = asyncio.create_task(next_update(subscription))
        await asyncio.sleep(0)  # let it block on the empty buffer
        await bus.publish(Update(article_id=1, story_id=None))
        assert await waiting == Update(article_id=1, story_id=None)


async def test_a_subscriber_that_falls_behind_is_cut_off_without_slowing_the_others() -> None:
    bus = InProcessBus(buffer=3)
    async with bus.subscribe() as slow, bus.subscribe() as fast:
        received = []
        for n in range(10):
            await bus.publish(Update(article_id=n, story_id=None))
            received.append(await next_update(fast))
        assert [update.article_id for update in received] == list(range(10))
        assert bus.subscribers == 1  # the slow one is forgotten at once: nothing more is buffered for it
        with pytest.raises(Lagged):
            await next_update(slow)
        with pytest.raises(Lagged):  # and it stays cut off: the reader must resume from the database
            await next_update(slow)


async def test_lagging_wakes_a_waiting_reader() -> None:
    bus = InProcessBus()
    async with bus.subscribe() as subscription:
        waiting = asyncio.create_task(next_update(subscription))
        await asyncio.sleep(0)
        bus.lag_all()
        with pytest.raises(Lagged):
            await waiting


async def test_leaving_the_subscription_unsubscribes() -> None:
    bus = InProcessBus()
    async with bus.subscribe():
        assert bus.subscribers == 1
    assert bus.subscribers == 0

    # A client that disconnects while waiting: the SSE task is cancelled inside the subscription.
    entered = asyncio.Event()

    async def listen() -> None:
        async with bus.subscribe() as subscription:
            entered.set()
            async for _ in subscription:
                pass

    task = asyncio.create_task(listen())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert bus.subscribers == 0
    await bus.publish(Update(article_id=1, story_id=None))  # nobody left to deliver to


async def test_a_cancelled_wait_loses_nothing() -> None:
    bus = InProcessBus()
    async with bus.subscribe() as subscription:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(anext(subscription), 0.01)  # an SSE keep-alive tick
        await bus.publish(Update(article_id=2, story_id=None))
        assert await next_update(subscription) == Update(article_id=2, story_id=None)


async def test_stopping_the_bus_ends_every_subscription() -> None:
    bus = InProcessBus()
    async with bus.subscribe() as subscription:
        await bus.publish(Update(article_id=1, story_id=None))
        await bus.stop()
        assert [update async for update in subscription] == [Update(article_id=1, story_id=None)]


async def test_one_publish_reaches_5000_waiting_subscribers() -> None:
    # How fast is measured by bench/serve.py's SSE fan-out, not asserted here.
    bus = InProcessBus()
    async with _subscribed(bus, 5000) as subscriptions:
        # Readers blocked on their buffers, as open SSE streams are: each put also wakes one.
        readers = [asyncio.create_task(anext(subscription)) for subscription in subscriptions]
        await asyncio.sleep(0)
        await bus.publish(Update(article_id=1, story_id=None))
        results = await asyncio.gather(*readers)
    assert results == [Update(article_id=1, story_id=None)] * 5000


class _subscribed:
    """`count` open subscriptions of `bus`, left together."""

    def __init__(self, bus: Bus, count: int) -> None:
        self._subscriptions = [bus.subscribe() for _ in range(count)]

    async def __aenter__(self) -> list[Subscription]:
        return [await subscription.__aenter__() for subscription in self._subscriptions]

    async def __aexit__(self, *exc: object) -> None:
        for subscription in self._subscriptions:
            await subscription.__aexit__(None, None, None)


# PostgreSQL


@pytest.fixture
async def pg_conninfo(postgres_url: str) -> str:
    # A name of our own, so that a test ends only its own connections (others share the server).
    return conninfo(sa.make_url(postgres_url)) + f" application_name=livedesk_test_{secrets.token_hex(4)}"


@pytest.fixture
async def web_processes(pg_conninfo: str) -> AsyncIterator[list[PostgresBus]]:
    """Two started buses, as two web processes would have."""
    buses = [PostgresBus(pg_conninfo, retry_delay=0.05) for _ in range(2)]
    try:
        for bus in buses:
            await bus.start()
        yield buses
    finally:
        for bus in buses:
            await bus.stop()


async def receive(subscription: Subscription, expected: Update) -> None:
    """Wait for `expected`; other test runs on the same database may publish on the channel meanwhile."""
    while (update := await next_update(subscription)) != expected:
        assert update.article_id != expected.article_id


def unique_update() -> Update:
    return Update(article_id=secrets.randbelow(2**31), story_id=secrets.randbelow(2**31))


@pytest.mark.postgres
async def test_every_web_process_hears_an_update_published_by_another(
    web_processes: list[PostgresBus], pg_conninfo: str
) -> None:
    worker = PostgresBus(pg_conninfo)  # publishes without ever listening
    update = unique_update()
    try:
        async with web_processes[0].subscribe() as first, web_processes[1].subscribe() as second:
            await worker.publish(update)
            await receive(first, update)
            await receive(second, update)
    finally:
        await worker.stop()


@pytest.mark.postgres
async def test_a_process_hears_its_own_updates_once(web_processes: list[PostgresBus]) -> None:
    bus = web_processes[0]
    first, second = unique_update(), unique_update()
    async with bus.subscribe() as subscription:
        await bus.publish(first)
        await bus.publish(second)
        await receive(subscription, first)
        await receive(subscription, second)  # `first` did not come a second time in between


@pytest.mark.postgres
async def test_the_listener_reconnects_and_subscribers_resume(
    web_processes: list[PostgresBus], pg_conninfo: str, caplog: pytest.LogCaptureFixture
) -> None:
    bus, other = web_processes
    killed = bus.listener_pid
    async with bus.subscribe() as subscription:
        async with await psycopg.AsyncConnection.connect(pg_conninfo, autocommit=True) as admin:
            await admin.execute("SELECT pg_terminate_backend(%s)", (killed,))
        with pytest.raises(Lagged):  # the gap may have lost updates: resume from the database
            while True:
                await next_update(subscription)
    assert bus.listener_pid not in (None, killed)
    assert "lost the LISTEN connection" in caplog.text
    update = unique_update()
    async with bus.subscribe() as subscription:
        await other.publish(update)
        await receive(subscription, update)


@pytest.mark.postgres
async def test_publish_survives_a_lost_connection(web_processes: list[PostgresBus], pg_conninfo: str) -> None:
    bus = web_processes[0]
    await bus.publish(unique_update())  # opens the publishing connection
    async with await psycopg.AsyncConnection.connect(pg_conninfo, autocommit=True) as admin:
        # This test's other connections are the two listeners and the publisher: end the publisher.
        ended = await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = current_setting('application_name') AND pid <> pg_backend_pid() "
            "AND pid <> ALL(%s)",
            ([b.listener_pid for b in web_processes],),
        )
        assert await ended.fetchall() == [(True,)]
    update = unique_update()
    async with bus.subscribe() as subscription:
        await bus.publish(update)
        await receive(subscription, update)
