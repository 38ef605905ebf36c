"""Fetcher against the real loopback server: politeness, conditional GETs, retries, caps, redirects, SSRF."""

from __future__ import annotations

import asyncio
import gzip
import ipaddress
import itertools
import socket
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY

from livedesk.config import Settings
from livedesk.pipeline.fetch import (
    BlockedURL,
    ConnectError,
    Fetcher,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    RedirectLoop,
    RobotsDisallowed,
    TooLarge,
    TooManyRedirects,
    address_refusal,
    guarded_transport,
    parse_content_type,
    parse_networks,
    retry_after_seconds,
)
from tests.fixtures_http import LoopbackServer, RequestInfo

DATA = Path(__file__).parent / "data" / "http"
SETTINGS = Settings(
    allowed_networks="127.0.0.0/8",
    per_host_delay=0.0,
    backoff_base=0.01,
    retries=2,
    timeout=5.0,
    max_bytes=100_000,
)


async def fetch(url: str, settings: Settings = SETTINGS, **conditional: str):
    async with Fetcher(settings) as fetcher:
        return await fetcher.fetch(url, **conditional)


def paths(server: LoopbackServer) -> list[str]:
    return [request.path for request in server.requests]


def counted(responses: list[tuple[int, dict[str, str], bytes]]):
    """A handler answering with `responses` in turn, then repeating the last one."""
    calls = iter(range(10**6))

    def handler(_: RequestInfo) -> tuple[int, dict[str, str], bytes]:
        return responses[min(next(calls), len(responses) - 1)]

    return handler


# --- plain and conditional GETs -----------------------------------------------------------------------------


async def test_ok_returns_body_and_headers(http_server: LoopbackServer) -> None:
    http_server.add("/page", "<p>hello</p>", headers={"Content-Type": "Text/HTML; charset=UTF-8", "X-Thing": "1"})
    result = await fetch(http_server.url("/page"))
    assert result.status == 200
    assert result.body == b"<p>hello</p>"
    assert result.url == http_server.url("/page")
    assert result.headers["x-thing"] == "1"
    assert (result.content_type, result.charset) == ("text/html", "utf-8")
    assert not result.not_modified and result.redirects == ()
    assert result.fetched_at.tzinfo is not None and result.fetched_at.utcoffset() == timedelta(0)


async def test_sends_user_agent_and_accepts_compression(http_server: LoopbackServer) -> None:
    http_server.add("/", "x")
    await fetch(http_server.url("/"), replace(SETTINGS, user_agent="livedesk-test/9 (+contact)"))
    page = next(r for r in http_server.requests if r.path == "/")
    assert page.headers["user-agent"] == "livedesk-test/9 (+contact)"
    assert {"gzip", "deflate", "br"} <= {e.strip() for e in page.headers["accept-encoding"].split(",")}


async def test_gzip_body_is_decoded(http_server: LoopbackServer) -> None:
    http_server.add("/z", gzip.compress(b"squeezed " * 100), headers={"Content-Encoding": "gzip"})
    assert (await fetch(http_server.url("/z"))).body == b"squeezed " * 100


async def test_etag_gives_not_modified(http_server: LoopbackServer) -> None:
    http_server.add("/feed", "<rss/>", etag='"v1"')
    first = await fetch(http_server.url("/feed"))
    assert first.etag == '"v1"' and first.body == b"<rss/>"
    again = await fetch(http_server.url("/feed"), etag=first.etag)
    assert again.not_modified and again.status == 304 and again.body == b""
    assert again.etag == '"v1"'
    assert http_server.requests[-1].headers["if-none-match"] == '"v1"'
    changed = await fetch(http_server.url("/feed"), etag='"v0"')
    assert not changed.not_modified and changed.body == b"<rss/>"


async def test_last_modified_gives_not_modified(http_server: LoopbackServer) -> None:
    stamp = format_datetime(datetime(2024, 5, 1, 12, tzinfo=UTC), usegmt=True)
    http_server.add("/feed", "<rss/>", last_modified=stamp)
    first = await fetch(http_server.url("/feed"))
    assert first.last_modified == stamp
    again = await fetch(http_server.url("/feed"), last_modified=stamp)
    assert again.not_modified and again.body == b"" and again.last_modified == stamp
    assert http_server.requests[-1].headers["if-modified-since"] == stamp


async def test_bytes_come_back_verbatim_with_the_declared_charset(http_server: LoopbackServer) -> None:
    latin1 = (DATA / "latin1-declared-utf8.html").read_bytes()
    broken = (DATA / "malformed-feed.xml").read_bytes()
    http_server.add("/wrong", latin1, headers={"Content-Type": "text/html; charset=utf-8"})
    http_server.add("/bare", broken, headers={"Content-Type": "application/rss+xml"})
    wrong, bare = await fetch(http_server.url("/wrong")), await fetch(http_server.url("/bare"))
    assert (wrong.body, wrong.charset) == (latin1, "utf-8")  # deciding the real charset is extract's job
    assert (bare.body, bare.content_type, bare.charset) == (broken, "application/rss+xml", None)


# --- timeouts and retries -----------------------------------------------------------------------------------


async def test_slow_response_times_out(http_server: LoopbackServer) -> None:
    http_server.add("/slow", "late", delay=3.0)
    with pytest.raises(FetchTimeout) as caught:
        await fetch(http_server.url("/slow"), replace(SETTINGS, timeout=0.3, retries=0))
    assert caught.value.retryable and "0.3 s" in str(caught.value)


async def test_500_then_200_succeeds_after_retry(http_server: LoopbackServer) -> None:
    http_server.add_handler("/flaky", counted([(500, {}, b"oops"), (200, {}, b"fine")]))
    result = await fetch(http_server.url("/flaky"))
    assert result.body == b"fine"
    assert paths(http_server).count("/flaky") == 2


async def test_429_honours_retry_after(http_server: LoopbackServer) -> None:
    http_server.add_handler("/busy", counted([(429, {"Retry-After": "1"}, b""), (200, {}, b"done")]))
    started = time.monotonic()
    result = await fetch(http_server.url("/busy"))
    assert result.body == b"done"
    assert time.monotonic() - started >= 0.95


async def test_persistent_503_raises_after_retries(http_server: LoopbackServer) -> None:
    http_server.add("/down", "no", status=503)
    with pytest.raises(HTTPStatusError) as caught:
        await fetch(http_server.url("/down"))
    assert caught.value.status == 503 and caught.value.retryable
    assert str(caught.value) == "HTTP 503 Service Unavailable after 2 retries"
    assert paths(http_server).count("/down") == 3


async def test_retry_after_beyond_the_cap_stops_retrying(http_server: LoopbackServer) -> None:
    http_server.add("/later", "", status=503, headers={"Retry-After": "3600"})
    with pytest.raises(HTTPStatusError) as caught:
        await fetch(http_server.url("/later"))
    assert caught.value.retryable and "3600 s" in str(caught.value)
    assert paths(http_server).count("/later") == 1


async def test_404_is_not_retried(http_server: LoopbackServer) -> None:
    with pytest.raises(HTTPStatusError) as caught:
        await fetch(http_server.url("/missing"))
    assert (caught.value.status, caught.value.retryable, str(caught.value)) == (
        404,
        False,
        "HTTP 404 Not Found",
    )
    assert paths(http_server).count("/missing") == 1


async def test_refused_connection_is_retried_then_raised() -> None:
    with socket.socket() as probe:  # a port nobody listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ConnectError) as caught:
        await fetch(f"http://127.0.0.1:{port}/", replace(SETTINGS, respect_robots=False))
    assert caught.value.retryable


# --- redirects ----------------------------------------------------------------------------------------------


def add_chain(server: LoopbackServer, hops: int) -> None:
    for n in range(hops):
        server.add(f"/r{n}", status=302, headers={"Location": f"/r{n + 1}"})
    server.add(f"/r{hops}", "arrived")


async def test_redirect_chain_is_followed_and_recorded(http_server: LoopbackServer) -> None:
    add_chain(http_server, 3)
    result = await fetch(http_server.url("/r0"))
    assert (result.url, result.body) == (http_server.url("/r3"), b"arrived")
    assert result.redirects == tuple(http_server.url(f"/r{n}") for n in range(3))


async def test_too_many_redirects(http_server: LoopbackServer) -> None:
    add_chain(http_server, 6)
    with pytest.raises(TooManyRedirects):
        await fetch(http_server.url("/r0"))
    assert "/r6" not in paths(http_server)


async def test_redirect_loop(http_server: LoopbackServer) -> None:
    http_server.add("/a", status=301, headers={"Location": "/b"})
    http_server.add("/b", status=307, headers={"Location": http_server.url("/a#again")})
    with pytest.raises(RedirectLoop):
        await fetch(http_server.url("/a"))


# --- size caps ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, {"Transfer-Encoding": "chunked"}], ids=["content-length", "chunked"])
async def test_oversized_body(http_server: LoopbackServer, headers: dict[str, str]) -> None:
    http_server.add("/big", b"x" * 300_000, headers=headers)
    with pytest.raises(TooLarge) as caught:
        await fetch(http_server.url("/big"))
    assert ("Content-Length" in str(caught.value)) == (not headers)


async def test_gzip_bomb_is_stopped_while_inflating(http_server: LoopbackServer) -> None:
    bomb = gzip.compress(b"\0" * 20_000_000)
    assert len(bomb) < SETTINGS.max_bytes
    http_server.add("/bomb", bomb, headers={"Content-Encoding": "gzip", "Transfer-Encoding": "chunked"})
    with pytest.raises(TooLarge):
        await fetch(http_server.url("/bomb"))


# --- SSRF guard ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("location", "address", "kind"),
    [
        ("http://10.1.2.3/", "10.1.2.3", "private"),
        ("http://169.254.169.254/latest/meta-data", "169.254.169.254", "link-local"),
        ("http://[::ffff:192.168.0.1]/", "192.168.0.1", "private"),
    ],
)
async def test_redirect_to_private_address_is_refused(
    http_server: LoopbackServer, location: str, address: str, kind: str
) -> None:
    http_server.add("/go", status=302, headers={"Location": location})
    with pytest.raises(BlockedURL) as caught:
        await fetch(http_server.url("/go"))
    assert address in str(caught.value) and kind in str(caught.value)
    assert not caught.value.retryable


async def test_loopback_is_refused_unless_allowed(http_server: LoopbackServer) -> None:
    http_server.add("/", "x")
    for url in (http_server.url("/"), http_server.url("/").replace("127.0.0.1", "localhost")):
        with pytest.raises(BlockedURL, match="loopback"):
            await fetch(url, replace(SETTINGS, allowed_networks=""))
    assert http_server.requests == []  # refused before connecting, robots.txt included


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/pub", "/relative/path"])
async def test_non_http_schemes_are_refused(url: str) -> None:
    with pytest.raises(BlockedURL, match="only http and https"):
        await fetch(url)


async def test_redirect_to_a_file_url_is_refused(http_server: LoopbackServer) -> None:
    http_server.add("/go", status=302, headers={"Location": "file:///etc/passwd"})
    with pytest.raises(BlockedURL, match="only http and https"):
        await fetch(http_server.url("/go"))


@pytest.mark.parametrize("url", ["http://127.0.0.1:99999/", "http://127.0.0.1:xx/"])
async def test_unusable_urls_are_refused(url: str) -> None:
    with pytest.raises(FetchError, match="invalid") as caught:
        await fetch(url)
    assert not caught.value.retryable


async def test_connection_itself_is_checked(http_server: LoopbackServer) -> None:
    """The transport re-checks at connect time, so a DNS answer changed after the first check is caught."""
    http_server.add("/", "x")
    async with httpx.AsyncClient(transport=guarded_transport(Settings())) as client:
        with pytest.raises(BlockedURL, match="loopback"):
            await client.get(http_server.url("/"))
    assert http_server.requests == []


def test_address_policy() -> None:
    allowed = parse_networks("127.0.0.0/8, fd00::/8")
    assert address_refusal(ipaddress.ip_address("93.184.216.34")) is None
    assert address_refusal(ipaddress.ip_address("127.0.0.1"), allowed) is None
    assert address_refusal(ipaddress.ip_address("::ffff:127.0.0.1"), allowed) is None
    assert address_refusal(ipaddress.ip_address("fd00::1"), allowed) is None
    assert address_refusal(ipaddress.ip_address("::1"), allowed) == "a loopback address"
    assert address_refusal(ipaddress.ip_address("::ffff:10.0.0.1")) == "a private address"
    assert address_refusal(ipaddress.ip_address("0.0.0.0")) == "the unspecified address"
    assert address_refusal(ipaddress.ip_address("224.0.0.1")) == "a multicast address"
    assert address_refusal(ipaddress.ip_address("100.64.0.1")) == "not a globally routable address"


# --- robots.txt ---------------------------------------------------------------------------------------------


async def test_robots_disallow_and_cache(http_server: LoopbackServer) -> None:
    http_server.add("/robots.txt", "User-agent: livedesk\nDisallow: /private\n\nUser-agent: *\nDisallow: /\n")
    http_server.add("/news", "ok")
    async with Fetcher(SETTINGS) as fetcher:
        assert (await fetcher.fetch(http_server.url("/news"))).body == b"ok"
        with pytest.raises(RobotsDisallowed) as caught:
            await fetcher.fetch(http_server.url("/private/memo"))
        await asyncio.gather(*(fetcher.fetch(http_server.url("/news")) for _ in range(3)))
    assert "/private/memo" in str(caught.value)
    assert paths(http_server).count("/robots.txt") == 1
    assert "/private/memo" not in paths(http_server)


async def test_robots_server_error_allows(http_server: LoopbackServer) -> None:
    http_server.add("/robots.txt", "broken", status=500)
    http_server.add("/news", "ok")
    assert (await fetch(http_server.url("/news"))).body == b"ok"
    assert paths(http_server).count("/robots.txt") == 1  # fetched without retries


async def test_robots_can_be_ignored(http_server: LoopbackServer) -> None:
    http_server.add("/robots.txt", "User-agent: *\nDisallow: /\n")
    http_server.add("/news", "ok")
    assert (await fetch(http_server.url("/news"), replace(SETTINGS, respect_robots=False))).body == b"ok"
    assert paths(http_server) == ["/news"]


# --- politeness ---------------------------------------------------------------------------------------------


async def test_per_host_concurrency_is_capped(http_server: LoopbackServer) -> None:
    lock, in_flight, peak = threading.Lock(), [0], [0]

    def slow(_: RequestInfo) -> tuple[int, dict[str, str], bytes]:
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        time.sleep(0.1)
        with lock:
            in_flight[0] -= 1
        return 200, {}, b"ok"

    http_server.add_handler("/slow", slow)
    async with Fetcher(replace(SETTINGS, per_host_concurrency=2)) as fetcher:
        await asyncio.gather(*(fetcher.fetch(http_server.url("/slow")) for _ in range(8)))
    assert peak[0] == 2


async def test_per_host_delay_spaces_requests(http_server: LoopbackServer) -> None:
    starts: list[float] = []

    def stamp(_: RequestInfo) -> tuple[int, dict[str, str], bytes]:
        starts.append(time.monotonic())
        return 200, {}, b"ok"

    http_server.add_handler("/t", stamp)
    async with Fetcher(replace(SETTINGS, per_host_delay=0.15, per_host_concurrency=4)) as fetcher:
        await asyncio.gather(*(fetcher.fetch(http_server.url("/t")) for _ in range(3)))
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    assert len(gaps) == 2 and min(gaps) >= 0.14


# --- helpers and metrics ------------------------------------------------------------------------------------


def test_retry_after_parsing() -> None:
    now = datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert retry_after_seconds("120", now) == 120.0
    assert retry_after_seconds(format_datetime(now + timedelta(seconds=30), usegmt=True), now) == 30.0
    assert retry_after_seconds(format_datetime(now - timedelta(hours=1), usegmt=True), now) == 0.0
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None


def test_content_type_parsing() -> None:
    assert parse_content_type('application/XML; charset="ISO-8859-1"') == ("application/xml", "iso-8859-1")
    assert parse_content_type("text/plain;format=flowed") == ("text/plain", None)
    assert parse_content_type(None) == (None, None)


async def test_outcomes_are_counted(http_server: LoopbackServer) -> None:
    def count(outcome: str) -> float:
        return REGISTRY.get_sample_value("livedesk_fetch_requests_total", {"outcome": outcome}) or 0.0

    http_server.add("/", "x")
    before = count("ok"), count("blocked")
    await fetch(http_server.url("/"))
    with pytest.raises(FetchError):
        await fetch("ftp://example.org/")
    assert (count("ok"), count("blocked")) == (before[0] + 1, before[1] + 1)


async def test_pinned_hosts_reach_their_address_and_still_pass_the_guard(http_server: LoopbackServer) -> None:
    http_server.add("/article", b"<html>pinned</html>", headers={"Content-Type": "text/html"})
    port = http_server.base_url.rsplit(":", 1)[1]
    pinned = replace(SETTINGS, resolve="news.example=127.0.0.1")
    result = await fetch(f"http://news.example:{port}/article", pinned)
    assert result.body == b"<html>pinned</html>"
    assert http_server.requests[-1].headers["host"] == f"news.example:{port}"

    with pytest.raises(BlockedURL, match=r"10\.9\.8\.7"):
        await fetch(f"http://news.example:{port}/article", replace(SETTINGS, resolve="news.example=10.9.8.7"))
    with pytest.raises(ValueError, match="host=address"):
        Fetcher(replace(SETTINGS, resolve="news.example"))
