"""View counting, on real SQLite files and the real PostgreSQL server, and through the real HTTP stack."""

from __future__ import annotations

import asyncio
import ipaddress
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from livedesk.store import Store
from livedesk.store.views import article_views, view_windows
from livedesk.urls import parse_networks
from livedesk.web.views import (
    BEACONS_PER_ADDRESS,
    MAX_IDS,
    RateLimiter,
    ViewCounter,
    client_address,
    format_views,
    is_bot,
    router,
    visitor_hash,
)
from tests.test_store import make_article
from tests.web_fixtures import running_app, served

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
HEADLESS_CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36"
)


def add_articles(store: Store, count: int) -> list[int]:
    ids = []
    for n in range(1, count + 1):
        article = make_article(n)
        store.upsert_article(article)
        stored = store.get_article(article.url_hash)
        assert stored is not None
        ids.append(stored.id)
    return ids


# formatting, bots, visitors, rate limit


@pytest.mark.parametrize(
    ("count", "shown"),
    [
        (0, "0 views"),
        (1, "1 view"),
        (12, "12 views"),
        (999, "999 views"),
        (1000, "1K views"),
        (1234, "1.2K views"),
        (1999, "1.9K views"),  # rounded down: never shows more than were counted
        (12_345, "12K views"),
        (999_999, "999K views"),
        (3_400_000, "3.4M views"),
        (2_500_000_000, "2.5B views"),
        (-421, "0 views"),
    ],
)
def test_format_views(count: int, shown: str) -> None:
    assert format_views(count) == shown


@pytest.mark.parametrize(
    "user_agent",
    [
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        "Mozilla/5.0 (compatible; Yahoo! Slurp; http://help.yahoo.com/help/us/ysearch/slurp)",
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "Mozilla/5.0 (compatible; Baiduspider/2.0)",
        "Mozilla/5.0 (compatible; AhrefsBot/7.0)",
        "Mozilla/5.0 (Windows NT 10.0) HeadlessChrome/120.0 Safari/537.36 (compatible; Google-InspectionTool)",
        "Mozilla/5.0 HeadlessChrome/120.0 (compatible; PreviewBot/1.0)",
        "python-requests/2.32.3",
        "curl/8.5.0",
        "livedesk/0.1 (self-hosted news desk)",
        "",
        "   ",
        None,
    ],
)
def test_robots_and_missing_user_agents_are_bots(user_agent: str | None) -> None:
    assert is_bot(user_agent)


@pytest.mark.parametrize(
    "user_agent",
    [
        FIREFOX,
        HEADLESS_CHROME,  # the project's own browser tests: must count
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Version/17.5 Mobile Safari/604.1",
    ],
)
def test_browsers_are_not_bots(user_agent: str) -> None:
    assert not is_bot(user_agent)


def test_visitor_hash_is_keyed_by_the_day_salt_and_hides_the_address() -> None:
    salt, other_salt = b"a" * 32, b"b" * 32
    visitor = visitor_hash("203.0.113.7", FIREFOX, salt)
    assert visitor == visitor_hash("203.0.113.7", FIREFOX, salt)
    assert len(visitor) == 64 and "203.0.113.7" not in visitor
    assert visitor != visitor_hash("203.0.113.7", FIREFOX, other_salt)
    assert visitor != visitor_hash("203.0.113.8", FIREFOX, salt)
    assert visitor != visitor_hash("203.0.113.7", HEADLESS_CHROME, salt)


def test_rate_limiter_allows_a_burst_then_the_rate() -> None:
    limiter = RateLimiter(rate=30, per=60.0)
    assert all(limiter.allow("a", 0.0) for _ in range(30))
    assert not limiter.allow("a", 0.0)
    assert limiter.allow("b", 0.0)  # buckets are per visitor
    assert not limiter.allow("a", 1.9)
    assert limiter.allow("a", 2.0)  # 30 per minute: one more every 2 s
    assert not limiter.allow("a", 2.0)
    assert limiter.retry_after == 2


def test_rate_limiter_memory_is_bounded() -> None:
    limiter = RateLimiter(rate=1, per=60.0, max_keys=2)
    for key in "abc":
        assert limiter.allow(key, 0.0)
    assert not limiter.allow("c", 0.0)
    assert limiter.allow("a", 0.0)  # the least recently seen was forgotten: a fresh bucket


# the store


def test_a_visitor_counts_once_per_30_minutes(store: Store) -> None:
    [article] = add_articles(store, 1)
    assert store.view_counts([article]) == {article: 0}
    assert store.record_views([(article, "v1", T0)]) == 1
    assert store.record_views([(article, "v1", T0 + 10 * MINUTE)]) == 0
    assert store.record_views([(article, "v1", T0 + 30 * MINUTE - timedelta(seconds=1))]) == 0
    assert store.record_views([(article, "v2", T0 + 5 * MINUTE)]) == 1  # a second visitor counts
    assert store.record_views([(article, "v1", T0 + 30 * MINUTE)]) == 1  # a new window counts again
    assert store.record_views([(article, "v1", T0 + 50 * MINUTE)]) == 0  # ...and opens a new window
    assert store.record_views([(article, "v1", T0 + 5 * MINUTE)]) == 0  # late arrival from a slow process
    assert store.view_counts([article]) == {article: 3}


def test_windows_are_per_article(store: Store) -> None:
    first, second = add_articles(store, 2)
    assert store.record_views([(first, "v", T0), (second, "v", T0)]) == 2
    assert store.view_counts([first, second]) == {first: 1, second: 1}


def test_a_batch_settles_a_visitors_views_in_time_order(store: Store) -> None:
    [article] = add_articles(store, 1)
    assert store.record_views([(article, "v", T0 + 31 * MINUTE), (article, "v", T0), (article, "v", T0 + MINUTE)]) == 2
    # The stored window opened at T0 + 31: T0 + 50 falls inside it, T0 + 61 opens the next one, and T0 + 75
    # is inside that — though it is more than 30 minutes after T0 + 50, which did not count.
    views = [(article, "v", T0 + minutes * MINUTE) for minutes in (50, 61, 75)]
    assert store.record_views(views) == 1
    assert store.view_counts([article]) == {article: 3}


def test_unknown_articles_are_ignored_and_left_out(store: Store) -> None:
    [article] = add_articles(store, 1)
    assert store.record_views([(article + 1000, "v", T0), (article, "v", T0)]) == 1
    assert store.view_counts([article, article + 1000]) == {article: 1}
    assert store.record_views([]) == 0
    assert store.view_counts([]) == {}


def test_counts_can_never_go_negative(store: Store) -> None:
    [article] = add_articles(store, 1)
    store.record_views([(article, "v", T0)])
    with pytest.raises(sa.exc.IntegrityError), store._write() as connection:
        connection.execute(sa.update(article_views).values(count=article_views.c.count - 2))
    assert store.view_counts([article]) == {article: 1}
    with store._read() as connection:
        checks = sa.inspect(connection).get_check_constraints("article_views")
    assert [check["name"] for check in checks] == ["ck_article_views_count_non_negative"]


def test_expired_windows_are_pruned_and_nothing_else(store: Store) -> None:
    first, second = add_articles(store, 2)
    store.record_views([(first, "old", T0), (second, "recent", T0 + 20 * MINUTE)])
    assert store.prune_view_windows(T0 + 30 * MINUTE) == 1
    with store._read() as connection:
        assert connection.execute(sa.select(view_windows.c.visitor_hash)).scalars().all() == ["recent"]
    assert store.record_views([(second, "recent", T0 + 40 * MINUTE)]) == 0  # its window still holds
    assert store.record_views([(first, "old", T0 + 40 * MINUTE)]) == 1


def test_pruning_is_an_index_range_delete(store: Store) -> None:
    delete = "DELETE FROM view_windows WHERE expires_at <= :now"
    with store._write() as connection:
        if store.dialect == "sqlite":
            plan = connection.execute(sa.text(f"EXPLAIN QUERY PLAN {delete}"), {"now": "2024-05-01"}).all()
        else:
            # The table is empty here: forbid the sequential scan a planner rightly prefers for a few rows.
            connection.execute(sa.text("SET LOCAL enable_seqscan = off"))
            plan = connection.execute(sa.text(f"EXPLAIN {delete}"), {"now": T0}).all()
    assert "ix_view_windows_expires_at" in str(plan)


def run_together(count: int, work: Callable[[int], object]) -> list[BaseException]:
    """Run work(0..count-1) on as many threads, released at once; the errors raised."""
    start = threading.Barrier(count)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        start.wait()
        try:
            work(i)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_concurrent_views_are_counted_exactly(database_url: str) -> None:
    # Two Store objects stand for two processes: on SQLite they do not share the in-process lock.
    stores = [Store.open(database_url), Store.open(database_url)]
    try:
        articles = add_articles(stores[0], 3)
        writers = 16
        # Each writer: one view of its own on every article, one shared visitor on the first article, and a
        # batch of 20 more visitors spread over the articles.
        errors = run_together(
            writers,
            lambda i: stores[i % 2].record_views(
                [(a, f"w{i}", T0) for a in articles]
                + [(articles[0], "everyone", T0 + i * MINUTE)]
                + [(articles[j % 3], f"w{i}-{j}", T0) for j in range(20)]
            ),
        )
        assert errors == []
        extra = [sum(1 for j in range(20) if j % 3 == k) * writers for k in range(3)]
        expected = {a: writers + extra[k] + (k == 0) for k, a in enumerate(articles)}
        assert stores[1].view_counts(articles) == expected
    finally:
        for store in stores:
            store.close()


def test_day_salts_are_shared_kept_and_rotated(database_url: str) -> None:
    day = date(2024, 5, 1)
    with Store.open(database_url) as first, Store.open(database_url) as second:
        salt = first.view_salt(day)
        assert len(salt) == 32
        assert second.view_salt(day) == salt  # every process agrees
        later = [first.view_salt(day + timedelta(days=n)) for n in (1, 2)]
        assert len({salt, *later}) == 3  # a new day, a new salt
    with Store.open(database_url) as restarted, restarted._read() as connection:
        assert restarted.view_salt(day + timedelta(days=2)) == later[1]  # a restart keeps it
        days = connection.execute(sa.text("SELECT day FROM view_salts ORDER BY day")).scalars().all()
    # Only today's and yesterday's are kept: older hashes cannot be traced back any more.
    assert [str(d)[:10] for d in days] == ["2024-05-02", "2024-05-03"]


# through HTTP


class Clock:
    """A settable clock for the counter: tests pass time explicitly instead of sleeping."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@asynccontextmanager
async def beacon_app(store: Store, clock: Clock, trusted_proxies: str = "") -> AsyncIterator[FastAPI]:
    app = FastAPI()
    app.state.store = store
    app.state.view_counter = ViewCounter(store, clock=clock, trusted_proxies=parse_networks(trusted_proxies))
    app.include_router(router)
    await app.state.view_counter.start()
    try:
        yield app
    finally:
        await app.state.view_counter.stop()


@asynccontextmanager
async def client_at(app: FastAPI, address: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose connections come from `address`, sending to http://desk.test."""
    transport = httpx.ASGITransport(app, client=(address, 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://desk.test") as client:
        yield client


@pytest.fixture
async def app(store: Store, clock: Clock) -> AsyncIterator[FastAPI]:
    async with beacon_app(store, clock) as app:
        yield app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_at(app, "198.51.100.4") as client:
        yield client


async def beacon(
    client: httpx.AsyncClient, article: int, user_agent: str | None = FIREFOX, headers: dict[str, str] | None = None
) -> httpx.Response:
    request = client.build_request("POST", f"/api/views/{article}", headers=headers)
    if user_agent is None:
        del request.headers["User-Agent"]
    else:
        request.headers["User-Agent"] = user_agent
    return await client.send(request)


async def views_of(client: httpx.AsyncClient, *articles: int) -> dict[str, int]:
    response = await client.get("/api/views", params={"ids": ",".join(map(str, articles))})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    return response.json()


async def test_a_beacon_counts_once_per_visitor(client: httpx.AsyncClient, store: Store, clock: Clock) -> None:
    [article] = add_articles(store, 1)
    for _ in range(3):
        response = await beacon(client, article)
        assert response.status_code == 202
    assert await views_of(client, article) == {str(article): 1}
    assert (await beacon(client, article, HEADLESS_CHROME)).status_code == 202  # another visitor
    assert await views_of(client, article) == {str(article): 2}
    clock.now += 30 * MINUTE
    assert (await beacon(client, article)).status_code == 202
    assert await views_of(client, article) == {str(article): 3}


@pytest.mark.parametrize("user_agent", ["Mozilla/5.0 (compatible; Googlebot/2.1)", None])
async def test_bots_are_not_counted(client: httpx.AsyncClient, store: Store, user_agent: str | None) -> None:
    [article] = add_articles(store, 1)
    response = await beacon(client, article, user_agent)
    assert response.status_code == 204
    assert await views_of(client, article) == {str(article): 0}


async def test_beacons_for_unknown_articles_are_404(client: httpx.AsyncClient) -> None:
    response = await beacon(client, 12345)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_beacons_are_rate_limited_per_visitor(client: httpx.AsyncClient, store: Store, clock: Clock) -> None:
    [article] = add_articles(store, 1)
    for _ in range(30):
        assert (await beacon(client, article)).status_code == 202
    refused = await beacon(client, article)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "2"
    assert set(refused.json()["error"]) == {"code", "message"}
    assert refused.json()["error"]["code"] == "rate_limited"
    assert (await beacon(client, article, HEADLESS_CHROME)).status_code == 202  # another visitor is not held up
    clock.now += timedelta(seconds=2)
    assert (await beacon(client, article)).status_code == 202
    assert await views_of(client, article) == {str(article): 2}


async def test_a_new_day_salt_makes_a_new_visitor(
    client: httpx.AsyncClient, app: FastAPI, store: Store, clock: Clock
) -> None:
    [article] = add_articles(store, 1)
    counter: ViewCounter = app.state.view_counter
    clock.now = datetime(2024, 5, 1, 23, 50, tzinfo=UTC)
    before = await counter.visitor("198.51.100.4", FIREFOX)
    assert (await beacon(client, article)).status_code == 202
    clock.now += 15 * MINUTE  # 00:05 the next day: inside the window, but a new salt
    assert await counter.visitor("198.51.100.4", FIREFOX) != before
    assert (await beacon(client, article)).status_code == 202
    assert await views_of(client, article) == {str(article): 2}


@pytest.mark.parametrize("ids", ["", "1,x", ",".join(["1"] * (MAX_IDS + 1))])
async def test_count_requests_are_validated(client: httpx.AsyncClient, ids: str) -> None:
    response = await client.get("/api/views", params={"ids": ids})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"


async def test_counts_are_read_for_several_articles(client: httpx.AsyncClient, store: Store) -> None:
    first, second = add_articles(store, 2)
    store.record_views([(first, f"v{n}", T0) for n in range(12)])
    assert await views_of(client, first, second, 999) == {str(first): 12, str(second): 0}


async def test_stopping_writes_every_accepted_view(
    database_url: str, store: Store, app: FastAPI, client: httpx.AsyncClient
) -> None:
    [article] = add_articles(store, 1)
    counter: ViewCounter = app.state.view_counter
    await counter.visitor("198.51.100.4", FIREFOX)  # today's salt, read before the database is held up
    visitors = BEACONS_PER_ADDRESS - 1  # one address: its burst, less the late beacon below
    # Another connection holds up every write, so that the views pile up in the counter's queue.
    with Store.open(database_url) as blocker:
        with blocker._write() as connection:
            if blocker.dialect == "postgresql":
                connection.execute(sa.text("LOCK TABLE view_windows IN EXCLUSIVE MODE"))
            beacons = [asyncio.create_task(beacon(client, article, f"{FIREFOX} reader/{n}")) for n in range(visitors)]
            async with asyncio.timeout(10):
                while counter.queued < visitors:
                    await asyncio.sleep(0.01)
            stopping = asyncio.create_task(counter.stop())  # as the server does on a clean shutdown
            await asyncio.sleep(0.05)
            assert not stopping.done()  # it waits for the queue to be written
            assert not any(task.done() for task in beacons)  # nothing is acknowledged before it is written
            refused = await beacon(client, article, f"{FIREFOX} late")
            assert refused.status_code == 503
            assert refused.json()["error"]["code"] == "unavailable"
        await stopping
    assert [response.status_code for response in await asyncio.gather(*beacons)] == [202] * visitors
    with Store.open(database_url) as reopened:  # read back through a new connection: it is in the database
        assert reopened.view_counts([article]) == {article: visitors}


# reader-side integrity: same origin only, a limit per address, forwarded addresses only from trusted proxies

SAME_ORIGIN = {"Origin": "http://desk.test", "Sec-Fetch-Site": "same-origin"}  # what a browser sends from the page


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://elsewhere.example"},
        {"Origin": "http://desk.test.elsewhere.example"},
        {"Origin": "http://desk.test:8080"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Sec-Fetch-Site": "none"},
        {"Origin": "http://desk.test", "Sec-Fetch-Site": "cross-site"},
        {"Origin": "https://elsewhere.example", "Sec-Fetch-Site": "same-origin"},
    ],
)
async def test_beacons_from_other_sites_are_not_counted(
    client: httpx.AsyncClient, store: Store, headers: dict[str, str]
) -> None:
    [article] = add_articles(store, 1)
    ignored = await beacon(client, article, headers=headers)
    bot = await beacon(client, article, "Mozilla/5.0 (compatible; Googlebot/2.1)")
    # Answered as a bot is: nothing tells the sender why.
    assert (ignored.status_code, ignored.content) == (bot.status_code, bot.content) == (204, b"")
    assert await views_of(client, article) == {str(article): 0}


@pytest.mark.parametrize("headers", [SAME_ORIGIN, {"Origin": "https://desk.test"}, {}])
async def test_same_origin_beacons_and_those_without_the_headers_count(
    client: httpx.AsyncClient, store: Store, headers: dict[str, str]
) -> None:
    [article] = add_articles(store, 1)
    assert (await beacon(client, article, headers=headers)).status_code == 202
    assert await views_of(client, article) == {str(article): 1}


async def test_one_address_cannot_count_a_view_per_user_agent(app: FastAPI, store: Store, clock: Clock) -> None:
    [article] = add_articles(store, 1)
    async with client_at(app, "198.51.100.4") as client, client_at(app, "198.51.100.5") as neighbour:
        statuses = [(await beacon(client, article, f"{FIREFOX} reader/{n}")).status_code for n in range(500)]
        assert statuses == [202] * BEACONS_PER_ADDRESS + [429] * (500 - BEACONS_PER_ADDRESS)
        assert await views_of(client, article) == {str(article): BEACONS_PER_ADDRESS}
        assert (await beacon(neighbour, article)).status_code == 202  # another address is not held up
        assert (await beacon(client, article, f"{FIREFOX} reader/new")).status_code == 429
        clock.now += MINUTE  # the address's bucket refills
        assert (await beacon(client, article, f"{FIREFOX} reader/new")).status_code == 202
        assert await views_of(client, article) == {str(article): BEACONS_PER_ADDRESS + 2}


TRUSTED = parse_networks("10.0.0.0/8, 2001:db8:ff::/48")


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "client"),
    [
        ("203.0.113.9", [], "203.0.113.9"),
        ("203.0.113.9", ["198.51.100.1"], "203.0.113.9"),  # an untrusted peer's header is ignored
        ("10.0.0.2", [], "10.0.0.2"),
        ("10.0.0.2", ["198.51.100.1"], "198.51.100.1"),
        ("10.0.0.2", ["6.6.6.6, 198.51.100.1"], "198.51.100.1"),  # the left is what the client claims
        ("10.0.0.2", ["6.6.6.6, 198.51.100.1, 10.1.2.3"], "198.51.100.1"),  # through two trusted proxies
        ("10.0.0.2", ["6.6.6.6", "198.51.100.1 , 10.1.2.3"], "198.51.100.1"),  # the header sent twice
        ("10.0.0.2", ["10.0.0.7, 10.1.2.3"], "10.0.0.7"),  # from inside: the farthest proxy
        ("10.0.0.2", ["6.6.6.6, junk, 10.1.2.3"], "10.1.2.3"),  # unreadable: stop at the last trusted hop
        ("::ffff:10.0.0.2", ["198.51.100.1"], "198.51.100.1"),  # IPv4 on a dual-stack socket
        ("2001:db8:ff::1", ["2001:db8::7"], "2001:db8::7"),
        ("10.0.0.2", ["2001:db8:ff::9, 2001:db8::7, 2001:db8:ff::1"], "2001:db8::7"),
    ],
)
def test_the_client_address_trusts_forwarded_for_only_from_trusted_proxies(
    peer: str, forwarded_for: Sequence[str], client: str
) -> None:
    assert client_address(peer, forwarded_for, TRUSTED) == client
    assert client_address(peer, forwarded_for, ()) == peer  # no trusted proxies: nobody's header counts


def test_trusted_proxies_are_cidrs() -> None:
    assert parse_networks("") == ()
    assert parse_networks("10.0.0.0/8, ::1") == (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1"))


async def test_views_through_a_trusted_proxy_count_per_forwarded_address(store: Store, clock: Clock) -> None:
    [article] = add_articles(store, 1)
    async with (
        beacon_app(store, clock, trusted_proxies="198.51.100.0/24") as app,
        client_at(app, "198.51.100.4") as proxy,
    ):
        for address in ("203.0.113.9", "203.0.113.10", "6.6.6.6, 203.0.113.9", "203.0.113.9, 198.51.100.77"):
            assert (await beacon(proxy, article, headers={"X-Forwarded-For": address})).status_code == 202
        assert await views_of(proxy, article) == {str(article): 2}  # 203.0.113.9 and 203.0.113.10


async def test_forwarded_for_from_an_untrusted_peer_is_ignored(client: httpx.AsyncClient, store: Store) -> None:
    [article] = add_articles(store, 1)
    for address in ("203.0.113.9", "203.0.113.10"):
        assert (await beacon(client, article, headers={"X-Forwarded-For": address})).status_code == 202
    assert await views_of(client, article) == {str(article): 1}  # one visitor: the peer


@pytest.mark.parametrize(("trusted_proxies", "counted"), [("", 1), ("127.0.0.0/8", 2)])
async def test_the_served_app_reads_forwarded_for_only_from_its_trusted_proxies(
    database_url: str, trusted_proxies: str, counted: int
) -> None:
    # A real uvicorn on loopback, run as `livedesk serve` runs it: its own handling of X-Forwarded-For (which by
    # default trusts 127.0.0.1) must not decide who the reader is; the setting does.
    async with (
        running_app(database_url, trusted_proxies=trusted_proxies) as app,
        served(app) as base_url,
        httpx.AsyncClient(base_url=base_url, headers={"User-Agent": FIREFOX}) as client,
    ):
        [article] = add_articles(app.state.store, 1)
        for address in ("203.0.113.9", "203.0.113.10"):
            response = await client.post(f"/api/views/{article}", headers={"X-Forwarded-For": address})
            assert response.status_code == 202
        assert await views_of(client, article) == {str(article): counted}
