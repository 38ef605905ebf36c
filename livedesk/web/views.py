"""View beacons: each visitor counts once per article per 30 minutes; bots and other sites' pages never count;
beacons are rate-limited per visitor and per address.

A visitor is an HMAC of the client address and user agent, keyed with a salt that rotates daily and lives in
the database (every web process agrees on it; a restart keeps it). The address itself is never stored or
logged, and once a day's salt is deleted its hashes cannot be traced back to anyone.

A beacon is answered 202 only once its view is committed to the database: the ViewCounter group-commits, so
one write carries every beacon that arrived while the previous write was in progress. Nothing acknowledged
can be lost, on a clean shutdown or otherwise.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import logging
import math
import re
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from livedesk.metrics import VIEW_BEACONS
from livedesk.store import Store
from livedesk.urls import IPNetwork
from livedesk.web.inputs import MAX_ID, Id

logger = logging.getLogger(__name__)

# Case-insensitive substrings of user agents that announce a robot: crawlers, link previewers, monitors, HTTP
# libraries. "HeadlessChrome" is deliberately absent: automation cannot be told from a real reader by its user
# agent alone (livedesk's own browser tests use it and must count), so a headless browser counts unless it
# also announces itself as a bot — the per-visitor window and the rate limit bound what it can add.
BOT_MARKERS = (
    "bot",  # Googlebot, bingbot, Applebot, Twitterbot, Discordbot, UptimeRobot, …
    "crawl",
    "spider",
    "slurp",  # Yahoo
    "scrap",  # Scrapy and scrapers
    "facebookexternalhit",
    "facebookcatalog",
    "meta-externalagent",
    "embedly",
    "whatsapp",
    "skypeuripreview",
    "bingpreview",
    "mediapartners-google",
    "adsbot",
    "google-inspectiontool",
    "feedfetcher",
    "ia_archiver",
    "archive.org",
    "lighthouse",
    "pagespeed",
    "gtmetrix",
    "pingdom",
    "phantomjs",
    "python-requests",
    "python-urllib",
    "aiohttp",
    "httpx",
    "curl/",
    "wget",
    "go-http-client",
    "okhttp",
    "java/",
    "libwww-perl",
    "node-fetch",
    "axios/",
    "livedesk/",  # our own fetcher
)
_BOT = re.compile("|".join(re.escape(marker) for marker in BOT_MARKERS), re.IGNORECASE)

MAX_IDS = 100  # article ids per count request
BEACONS_PER_VISITOR = 30  # a burst, then as many a minute: one reader opening articles quickly
# A burst, then as many a minute, from one address whatever user agents it sends: keyed on the visitor alone,
# one address counted a view for every user agent it made up. Four visitors' worth, because a household, an
# office or a carrier's NAT puts several readers behind one address; past that they are undercounted rather
# than one address inflating a count at will.
BEACONS_PER_ADDRESS = 4 * BEACONS_PER_VISITOR


def is_bot(user_agent: str | None) -> bool:
    """True for a robot's user agent, and for none at all (browsers always send one)."""
    return not user_agent or not user_agent.strip() or _BOT.search(user_agent) is not None


def visitor_hash(ip: str, user_agent: str, day_salt: bytes) -> str:
    """The visitor's identity for the day: HMAC-SHA256 of address and user agent, hex."""
    return hmac.new(day_salt, f"{ip}\n{user_agent}".encode(), hashlib.sha256).hexdigest()


def format_views(n: int) -> str:
    """ "1 view", "12 views", "1.2K views", "34K views", "3.4M views". Rounded down, so never more than the
    count; a negative count (which the database refuses anyway) shows as 0. views.js has the same function."""
    n = max(n, 0)
    if n == 1:
        return "1 view"
    for unit, suffix in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "K")):
        if n >= unit:
            tenths = n * 10 // unit
            short = f"{tenths // 10}" if tenths >= 100 or tenths % 10 == 0 else f"{tenths // 10}.{tenths % 10}"
            return f"{short}{suffix} views"
    return f"{n} views"


class RateLimiter:
    """Token buckets per key, in memory: bursts of `rate` beacons, then `rate` per `per` seconds.

    At most `max_keys` buckets are kept; the least recently used goes first, which only ever gives a
    forgotten visitor a full bucket again.
    """

    def __init__(self, rate: int = 30, per: float = 60.0, max_keys: int = 100_000) -> None:
        self._capacity = float(rate)
        self._refill = rate / per  # tokens per second
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key → (tokens, at)

    @property
    def retry_after(self) -> int:
        """Whole seconds until a spent bucket holds one token again."""
        return math.ceil(1 / self._refill)

    def allow(self, key: str, now: float) -> bool:
        tokens, at = self._buckets.pop(key, (self._capacity, now))
        tokens = min(self._capacity, tokens + max(now - at, 0.0) * self._refill)
        allowed = tokens >= 1
        self._buckets[key] = (tokens - 1 if allowed else tokens, now)
        if len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)
        return allowed


def is_same_origin(host: str | None, origin: str | None, fetch_site: str | None) -> bool:
    """False for a beacon that a browser says comes from another site's page: an `Origin` other than the site
    it was sent to (`host`, the Host header), or a `Sec-Fetch-Site` other than same-origin. A header left out
    proves nothing either way (old browsers send neither); a script outside a browser can forge both, which
    is what the rate limits are for."""
    if fetch_site is not None and fetch_site.strip().lower() != "same-origin":
        return False
    if origin is None:
        return True
    scheme, _, authority = origin.strip().lower().partition("://")
    # The scheme is left out: behind a proxy that ends TLS the server is reached over http from an https page.
    return scheme in ("http", "https") and authority == (host or "").strip().lower()


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        ip = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped  # an IPv4 peer on a dual-stack socket
    return ip


def is_trusted_proxy(peer: str, trusted_proxies: Sequence[IPNetwork]) -> bool:
    """Whether the peer address `peer` is one of the trusted proxies, whose forwarding headers are believed."""
    address = _ip(peer)
    return address is not None and any(address in network for network in trusted_proxies)


def client_address(peer: str, forwarded_for: Sequence[str], trusted_proxies: Sequence[IPNetwork]) -> str:
    """The reader's address. `X-Forwarded-For` (`forwarded_for`, each header sent) counts only when the peer is
    a trusted proxy: then it is the right-most entry that is not a trusted proxy itself — each proxy appends
    the address it was reached from, so the entries left of that are whatever the client claimed."""
    address = _ip(peer)
    if address is None or not is_trusted_proxy(peer, trusted_proxies):
        return peer
    entries = [entry for header in forwarded_for for entry in header.split(",")]
    for entry in reversed(entries):
        hop = _ip(entry)
        if hop is None:  # unreadable: the last trusted proxy is as far as can be known
            break
        address = hop
        if not any(hop in network for network in trusted_proxies):
            break
    return str(address)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class ViewCounterStoppedError(RuntimeError):
    pass


class ViewCounter:
    """Accepts beacons and writes them in batches; `await record(...)` returns once the view is committed.

    `start()` before serving, `stop()` after the server has finished its requests: it writes whatever is
    still pending before returning. Expired visitor windows are pruned every `prune_every`.
    """

    def __init__(
        self,
        store: Store,
        *,
        clock: Callable[[], datetime] = _utcnow,
        limiter: RateLimiter | None = None,
        prune_every: timedelta = timedelta(minutes=5),
        trusted_proxies: Sequence[IPNetwork] = (),
    ) -> None:
        self._store = store
        self._clock = clock
        self._limiter = limiter or RateLimiter(rate=BEACONS_PER_VISITOR)
        self._address_limiter = RateLimiter(rate=BEACONS_PER_ADDRESS)
        self.trusted_proxies = tuple(trusted_proxies)
        self._prune_every = prune_every
        self._pruned_at: datetime | None = None
        self._salt: tuple[date, bytes] | None = None
        self._pending: list[tuple[tuple[int, str, datetime], asyncio.Future[None]]] = []
        self._writing = 0  # views in the write under way
        self._wakeup = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def retry_after(self) -> int:
        return max(self._limiter.retry_after, self._address_limiter.retry_after)

    @property
    def queued(self) -> int:
        """Views accepted but not yet committed."""
        return len(self._pending) + self._writing

    async def start(self) -> None:
        if self._writer is None:
            self._stopping = False
            self._writer = asyncio.create_task(self._write_loop(), name="livedesk-view-writer")

    async def stop(self) -> None:
        """Refuse new beacons and write every pending one."""
        if self._writer is None:
            return
        self._stopping = True
        self._wakeup.set()
        await self._writer
        self._writer = None

    async def visitor(self, ip: str, user_agent: str) -> str:
        """The visitor hash of this address and user agent today."""
        return visitor_hash(ip, user_agent, await self._day_salt())

    async def address(self, ip: str) -> str:
        """The hash of this address alone today, the key of its rate limit (the address is not kept)."""
        return visitor_hash(ip, "", await self._day_salt())

    async def _day_salt(self) -> bytes:
        today = self._clock().astimezone(UTC).date()
        if self._salt is None or self._salt[0] != today:
            self._salt = today, await asyncio.to_thread(self._store.view_salt, today)
        return self._salt[1]

    def allow(self, address: str, visitor: str) -> bool:
        """Take one beacon from the address's bucket and one from the visitor's; False when either is empty
        (answer 429)."""
        now = self._clock().timestamp()
        return self._address_limiter.allow(address, now) and self._limiter.allow(visitor, now)

    async def record(self, article_id: int, visitor: str) -> None:
        """Queue a view seen now and wait until it is committed (counted or, inside its window, not)."""
        if self._writer is None or self._stopping:
            raise ViewCounterStoppedError("the view counter is not running")
        done = asyncio.get_running_loop().create_future()
        self._pending.append(((article_id, visitor, self._clock()), done))
        self._wakeup.set()
        await done

    async def _write_loop(self) -> None:
        while self._pending or not self._stopping:
            if not self._pending:
                await self._wakeup.wait()
                self._wakeup.clear()
                continue
            batch, self._pending = self._pending, []
            self._writing = len(batch)
            await self._write(batch)
            self._writing = 0
            await self._prune_if_due()

    async def _write(self, batch: list[tuple[tuple[int, str, datetime], asyncio.Future[None]]]) -> None:
        error: Exception | None = None
        try:
            counted = await asyncio.to_thread(self._store.record_views, [view for view, _ in batch])
            VIEW_BEACONS.labels("counted").inc(counted)
            VIEW_BEACONS.labels("not_counted").inc(len(batch) - counted)
        except Exception as failure:
            logger.exception("could not record %d views", len(batch))
            error = failure
        for _, done in batch:
            if done.done():  # the client went away meanwhile
                continue
            if error is None:
                done.set_result(None)
            else:
                done.set_exception(error)

    async def _prune_if_due(self) -> None:
        now = self._clock()
        if self._pruned_at is not None and now - self._pruned_at < self._prune_every:
            return
        self._pruned_at = now
        try:
            await asyncio.to_thread(self._store.prune_view_windows, now)
        except Exception:
            # Harmless: expired rows only wait for the next prune.
            logger.warning("could not prune expired view windows", exc_info=True)


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


router = APIRouter()


@router.post("/api/views/{article_id}", status_code=202)
async def view_beacon(article_id: Id, request: Request) -> Response:
    """Count one view of the article by this visitor: 202 recorded, 204 not counted (a bot or another site's
    page, answered alike so that nothing says why), 404, 429."""
    headers = request.headers
    user_agent = headers.get("user-agent", "")
    if is_bot(user_agent) or not is_same_origin(
        headers.get("host"), headers.get("origin"), headers.get("sec-fetch-site")
    ):
        VIEW_BEACONS.labels("ignored").inc()
        return Response(status_code=204)
    counter: ViewCounter = request.app.state.view_counter
    store: Store = request.app.state.store
    ip = client_address(
        request.client.host if request.client else "", headers.getlist("x-forwarded-for"), counter.trusted_proxies
    )
    visitor = await counter.visitor(ip, user_agent)
    if not counter.allow(await counter.address(ip), visitor):
        VIEW_BEACONS.labels("limited").inc()
        return _error(
            429, "rate_limited", "Too many view beacons; slow down.", {"Retry-After": str(counter.retry_after)}
        )
    if article_id not in await asyncio.to_thread(store.view_counts, [article_id]):
        VIEW_BEACONS.labels("unknown").inc()
        return _error(404, "not_found", f"No article {article_id}.")
    try:
        await counter.record(article_id, visitor)
    except ViewCounterStoppedError:
        VIEW_BEACONS.labels("unavailable").inc()
        return _error(503, "unavailable", "The server is shutting down; try again.")
    return JSONResponse({"article_id": article_id}, status_code=202)


@router.get("/api/views")
async def view_counts(request: Request, ids: Annotated[str, Query(max_length=MAX_IDS * 12)] = "") -> Response:
    """`?ids=1,2,3` → `{"1": 12, "2": 0}`; unknown articles are left out."""
    try:
        article_ids = [int(part) for part in ids.split(",") if part.strip()]
    except ValueError:
        return _error(400, "bad_request", "ids must be comma-separated article ids.")
    if not all(1 <= article_id <= MAX_ID for article_id in article_ids):
        return _error(400, "bad_request", f"Article ids are between 1 and {MAX_ID}.")
    if not 0 < len(article_ids) <= MAX_IDS:
        return _error(400, "bad_request", f"Give between 1 and {MAX_IDS} article ids.")
    store: Store = request.app.state.store
    counts = await asyncio.to_thread(store.view_counts, article_ids)
    # Counts change every second: never cached.
    return JSONResponse({str(k): v for k, v in counts.items()}, headers={"Cache-Control": "no-store"})
