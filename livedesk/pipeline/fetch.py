"""The only module that speaks HTTP: polite, bounded, SSRF-guarded GETs.

One fetch, within one deadline: check the URL (scheme, every resolved address) → robots.txt (rules kept in a
RobotsCache that outlives fetchers) → wait for a per-host slot → GET, streamed and decompressed under a size cap
→ retry 429/5xx/connection failures → follow redirects by hand, each hop checked like the first → FetchResult.
Every failure is a FetchError with a one-line reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import time
import urllib.robotparser
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import Any

import httpcore
import httpx

from livedesk.config import Settings
from livedesk.metrics import FETCHES
from livedesk.pipeline.decompress import ACCEPT_ENCODING, DecodeError, decoder_for
from livedesk.urls import IPNetwork, parse_content_type, parse_networks

MAX_RETRY_WAIT = 60.0  # longest single wait between retries; a longer Retry-After ends the retries
ROBOTS_TTL = 24 * 3600.0  # RFC 9309 §2.4: robots.txt should not be cached for more than a day
ROBOTS_FAILURE_TTL = 3600.0
ROBOTS_DEADLINE_SHARE = 0.5  # of a fetch's deadline; a robots.txt that hangs must leave time for the page
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Origin = tuple[str, str, int | None]  # scheme, host, port


class FetchError(Exception):
    """A fetch that gave no usable response. `str(err)` is `reason`; `retryable`: trying later may work."""

    outcome = "error"  # the metrics label
    retryable_by_default = False

    def __init__(self, url: str, reason: str, *, retryable: bool | None = None) -> None:
        super().__init__(reason)
        self.url = url  # the URL (or redirect hop) whose request failed
        self.reason = reason
        self.retryable = self.retryable_by_default if retryable is None else retryable


class BlockedURL(FetchError):
    outcome = "blocked"


class RobotsDisallowed(FetchError):
    outcome = "robots"


class TooLarge(FetchError):
    outcome = "too_large"


class TooManyRedirects(FetchError):
    outcome = "too_many_redirects"


class RedirectLoop(FetchError):
    outcome = "redirect_loop"


class HTTPStatusError(FetchError):
    outcome = "http_status"

    def __init__(self, url: str, status: int, reason: str, *, retryable: bool = False) -> None:
        super().__init__(url, reason, retryable=retryable)
        self.status = status


class FetchTimeout(FetchError):
    outcome = "timeout"
    retryable_by_default = True


class ConnectError(FetchError):
    outcome = "connect"
    retryable_by_default = True


@dataclass(frozen=True)
class FetchResult:
    url: str  # final URL after redirects
    status: int
    body: bytes  # decoded (decompressed) body; b"" when not_modified
    headers: dict[str, str]  # lower-cased names
    content_type: str | None  # media type only, lower-case, e.g. "text/html"
    charset: str | None  # from Content-Type, lower-case, if given
    etag: str | None  # on a 304 that omits validators: the ones sent
    last_modified: str | None
    not_modified: bool
    fetched_at: datetime  # timezone-aware UTC
    redirects: tuple[str, ...]  # every URL that answered with a redirect, the requested one first


# --- pure helpers --------------------------------------------------------------------------------------

_UNSAFE_KINDS = (  # checked in this order so the message names the most specific kind
    ("is_unspecified", "the unspecified address"),
    ("is_loopback", "a loopback address"),
    ("is_link_local", "a link-local address"),
    ("is_multicast", "a multicast address"),
    ("is_private", "a private address"),
    ("is_reserved", "a reserved address"),
)


def parse_pinned_hosts(text: str) -> dict[str, str]:
    """Settings.resolve ("news.example=127.0.0.1, wire.example=127.0.0.1") → {host: address}."""
    pinned = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        host, sep, address = part.partition("=")
        if not sep:
            raise ValueError(f"expected host=address in LIVEDESK_RESOLVE, got {part!r}")
        pinned[host.strip().lower()] = str(ipaddress.ip_address(address.strip()))
    return pinned


@dataclass(frozen=True)
class AddressPolicy:
    """Where connections may go: networks allowed despite being private, and hosts pinned to an address."""

    allowed: tuple[IPNetwork, ...] = ()
    pinned: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> AddressPolicy:
        return cls(parse_networks(settings.allowed_networks), parse_pinned_hosts(settings.resolve))


def address_refusal(ip: IPAddress, allowed: Sequence[IPNetwork] = ()) -> str | None:
    """Why `ip` must not be fetched from, or None when it may."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:10.0.0.1 reaches 10.0.0.1
    if any(ip in network for network in allowed):
        return None
    for attribute, kind in _UNSAFE_KINDS:
        if getattr(ip, attribute):
            return kind
    return None if ip.is_global else "not a globally routable address"  # e.g. 100.64.0.0/10 (CGNAT)


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds from `now` (delta-seconds or HTTP date), None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def _status_reason(status: int) -> str:
    try:
        return f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


def _retryable_status(status: int) -> bool:
    return status == 429 or status >= 500


def _parse_url(url: str, base: httpx.URL | None = None) -> httpx.URL:
    """`url`, resolved against `base` when given (a Location header); FetchError when unusable."""
    try:
        absolute = base.join(url) if base is not None else httpx.URL(url)
        # Fragments never reach the server; dropping them keeps loop detection and results canonical.
        return absolute.copy_with(fragment=None)
    except httpx.InvalidURL as exc:
        raise FetchError(url, f"invalid URL: {exc}") from exc


async def checked_addresses(host: str, port: int, policy: AddressPolicy, url: str) -> list[str]:
    """Resolve `host`; refuse (BlockedURL) if ANY address is unsafe, so no A/AAAA record can sneak through."""
    if host.lower() in policy.pinned:
        addresses = [policy.pinned[host.lower()]]
    else:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise ConnectError(url, f"cannot resolve {host}: {exc}") from exc
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    for address in addresses:
        ip = ipaddress.ip_address(address.partition("%")[0])  # drop an IPv6 zone index
        refusal = address_refusal(ip, policy.allowed)
        if refusal is not None:
            target = host if host == str(ip) else f"{host} ({ip})"
            raise BlockedURL(url, f"refused {target}: {refusal}")
    return addresses


class _CheckedBackend(httpcore.AnyIOBackend):
    """Resolves, checks and connects to a checked address in one step.

    The check in Fetcher runs before robots.txt and gives early, clear refusals, but a DNS answer may change
    between that check and httpcore's own lookup (DNS rebinding). Connecting only to addresses checked here
    closes that gap while TLS still verifies the certificate against the host name.
    """

    def __init__(self, policy: AddressPolicy) -> None:
        super().__init__()
        self._policy = policy

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await checked_addresses(host, port, self._policy, url=f"{host}:{port}")
        error: httpcore.ConnectError | None = None
        for address in addresses:
            try:
                return await super().connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:
                error = exc
        assert error is not None  # getaddrinfo never answers with an empty list
        raise error


def guarded_transport(settings: Settings) -> httpx.AsyncHTTPTransport:
    """httpx's transport, connecting only to addresses that pass the SSRF check; no proxies from the env."""
    limits = httpx.Limits(max_connections=settings.concurrency, max_keepalive_connections=settings.concurrency)
    transport = httpx.AsyncHTTPTransport(limits=limits, trust_env=False)
    # httpx offers no public hook for httpcore's network backend; fail loudly if its internals move.
    pool = transport._pool
    if not isinstance(pool, httpcore.AsyncConnectionPool) or not hasattr(pool, "_network_backend"):
        raise RuntimeError("unsupported httpx/httpcore version: cannot install the address check")
    pool._network_backend = _CheckedBackend(AddressPolicy.from_settings(settings))
    return transport


# --- the fetcher ---------------------------------------------------------------------------------------


@dataclass
class _HostGate:
    slots: asyncio.Semaphore
    next_start: float = 0.0  # time.monotonic() before which no request to this host may start


@dataclass(frozen=True)
class _Robots:
    rules: urllib.robotparser.RobotFileParser
    expires: float  # on the cache's clock


class RobotsCache:
    """robots.txt rules per origin, each kept for as long as it may be trusted (ROBOTS_TTL; ROBOTS_FAILURE_TTL
    when robots.txt could not be read). Give one to every Fetcher of a long-running process, so that a poll
    round does not ask for robots.txt again; at most `max_origins` are kept, the least recently used go first.
    """

    def __init__(self, max_origins: int = 1024, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._max_origins = max_origins
        self._clock = clock
        self._entries: OrderedDict[Origin, _Robots] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, origin: Origin) -> urllib.robotparser.RobotFileParser | None:
        """The rules of `origin` if they are still fresh."""
        entry = self._entries.get(origin)
        if entry is None or entry.expires <= self._clock():
            return None
        self._entries.move_to_end(origin)
        return entry.rules

    def put(self, origin: Origin, rules: urllib.robotparser.RobotFileParser, ttl: float) -> None:
        self._entries[origin] = _Robots(rules, self._clock() + ttl)
        self._entries.move_to_end(origin)
        while len(self._entries) > self._max_origins:
            self._entries.popitem(last=False)


@dataclass
class _Deadline:
    """What a fetch may still spend. DNS checks, requests and waits between retries count; time queued for a
    slot behind other requests does not, since that politeness is our choice, not the server's slowness.
    A `parent` is charged too and bounds what remains (robots.txt spends from the fetch that needs it).
    """

    seconds: float
    parent: _Deadline | None = None
    spent: float = 0.0

    def remaining(self) -> float:
        left = self.seconds - self.spent
        return left if self.parent is None else min(left, self.parent.remaining())

    def _spend(self, seconds: float) -> None:
        self.spent += seconds
        if self.parent is not None:
            self.parent._spend(seconds)

    @contextlib.asynccontextmanager
    async def counted(self, url: httpx.URL) -> AsyncIterator[None]:
        """Runs the block within what remains; FetchTimeout for `url` when that runs out."""
        started = time.monotonic()
        try:
            async with asyncio.timeout(self.remaining()):
                yield
        except TimeoutError as exc:
            raise FetchTimeout(str(url), f"no complete response within the {self.seconds:g} s deadline") from exc
        finally:
            self._spend(time.monotonic() - started)


@dataclass(frozen=True)
class _Response:
    status: int
    headers: httpx.Headers
    body: bytes  # read only for 2xx


class Fetcher:
    """Use as `async with Fetcher(settings) as fetcher: await fetcher.fetch(url)`; one per event loop.

    `robots` keeps robots.txt rules beyond this fetcher (a fresh cache when not given). A custom `transport`
    keeps every check but the one at connect time (see _CheckedBackend), so it reopens the DNS-rebinding gap;
    production code passes none.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        robots: RobotsCache | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._settings = settings
        self._policy = AddressPolicy.from_settings(settings)
        self._client = httpx.AsyncClient(
            transport=transport or guarded_transport(settings),
            headers={"User-Agent": settings.user_agent, "Accept-Encoding": ACCEPT_ENCODING},
            timeout=None,  # each fetch's _Deadline bounds every step
            follow_redirects=False,
            trust_env=False,
        )
        self._slots = asyncio.Semaphore(settings.concurrency)
        self._hosts: dict[str, _HostGate] = {}
        self._robots = RobotsCache() if robots is None else robots
        self._robots_locks: dict[Origin, asyncio.Lock] = {}  # per fetcher: locks belong to one event loop

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._client.aclose()

    async def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None) -> FetchResult:
        """GET `url`; with `etag`/`last_modified` a conditional GET whose 304 gives `not_modified=True`."""
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        try:
            result = await self._follow(
                _parse_url(url),
                headers,
                _Deadline(self._settings.timeout),
                retries=self._settings.retries,
                check_robots=self._settings.respect_robots,
            )
        except FetchError as exc:
            FETCHES.labels(exc.outcome).inc()
            raise
        FETCHES.labels("not_modified" if result.not_modified else "ok").inc()
        return result

    async def _follow(
        self, url: httpx.URL, headers: dict[str, str], deadline: _Deadline, *, retries: int, check_robots: bool
    ) -> FetchResult:
        redirects: list[httpx.URL] = []
        while True:
            async with deadline.counted(url):
                await self._check(url)
            if check_robots and not await self._robots_allow(url, deadline):
                raise RobotsDisallowed(str(url), f"robots.txt of {url.host} disallows {url.raw_path.decode()}")
            response = await self._get(url, headers, retries, deadline)
            location = response.headers.get("location")
            if response.status not in REDIRECT_STATUSES or not location:
                return _result(url, response, headers, retries, tuple(str(u) for u in redirects))
            target = _parse_url(location, base=url)
            if target == url or target in redirects:
                raise RedirectLoop(str(url), f"redirect loop: {target} comes up twice")
            if len(redirects) >= self._settings.max_redirects:
                raise TooManyRedirects(str(url), f"more than {self._settings.max_redirects} redirects")
            redirects.append(url)
            url = target

    async def _check(self, url: httpx.URL) -> None:
        if url.scheme not in ("http", "https"):
            scheme = f"{url.scheme}:" if url.scheme else "a relative URL"
            raise BlockedURL(str(url), f"only http and https URLs are fetched, not {scheme}")
        if not url.raw_host:
            raise BlockedURL(str(url), "URL has no host")
        port = url.port or (443 if url.scheme == "https" else 80)
        if not 0 < port < 65536:  # getaddrinfo would silently wrap it
            raise FetchError(str(url), f"invalid port {port}")
        await checked_addresses(url.raw_host.decode("ascii"), port, self._policy, str(url))

    async def _robots_allow(self, url: httpx.URL, deadline: _Deadline) -> bool:
        origin = (url.scheme, url.host, url.port)
        # One robots.txt request per origin even when many fetches to a new host start together.
        async with self._robots_locks.setdefault(origin, asyncio.Lock()):
            rules = self._robots.get(origin)
            if rules is None:
                rules, ttl = await self._load_robots(url, deadline)
                self._robots.put(origin, rules, ttl)
        return rules.can_fetch(self._settings.user_agent, str(url))

    async def _load_robots(
        self, url: httpx.URL, deadline: _Deadline
    ) -> tuple[urllib.robotparser.RobotFileParser, float]:
        """The rules for `url`'s origin and how many seconds they may be kept."""
        robots_url = url.copy_with(path="/robots.txt", query=None)
        lines: list[str] = []
        ttl = ROBOTS_TTL
        share = _Deadline(self._settings.timeout * ROBOTS_DEADLINE_SHARE, parent=deadline)
        try:
            result = await self._follow(robots_url, {}, share, retries=0, check_robots=False)
            lines = result.body.decode("utf-8", "replace").splitlines()
        except HTTPStatusError as exc:
            # 4xx: RFC 9309 §2.3.1.3, robots.txt "unavailable" means crawl freely. 5xx: the RFC says assume
            # disallow, but a news desk must not go silent because a site's robots.txt flaps; we stay polite
            # through the per-host limits and ask again within the hour.
            if exc.status >= 500:
                ttl = ROBOTS_FAILURE_TTL
        except FetchError:
            ttl = ROBOTS_FAILURE_TTL  # timeouts, refused connections, oversized: allowed, as for 5xx
        rules = urllib.robotparser.RobotFileParser()
        rules.parse(lines)  # no lines: allow all
        return rules, ttl

    async def _get(self, url: httpx.URL, headers: dict[str, str], retries: int, deadline: _Deadline) -> _Response:
        """One GET, retried after 429/5xx and connection failures while retries and the deadline last; returns
        the last response. A timeout is not retried: it means the deadline is spent."""
        attempt = 0
        while True:
            backoff = min(self._settings.backoff_base * 2**attempt, MAX_RETRY_WAIT)
            try:
                response = await self._attempt(url, headers, deadline)
            except ConnectError as exc:
                if attempt >= retries:
                    raise
                wait, failure = backoff, exc.reason
            else:
                if not _retryable_status(response.status) or attempt >= retries:
                    return response
                asked = retry_after_seconds(response.headers.get("retry-after"), datetime.now(UTC))
                if asked is not None and asked > MAX_RETRY_WAIT:
                    raise HTTPStatusError(
                        str(url),
                        response.status,
                        f"{_status_reason(response.status)}; server asks to wait {asked:.0f} s "
                        f"(more than {MAX_RETRY_WAIT:.0f} s), not retrying now",
                        retryable=True,
                    )
                wait, failure = (backoff if asked is None else asked), _status_reason(response.status)
            if wait >= deadline.remaining():
                raise FetchTimeout(
                    str(url), f"{failure}; a retry in {wait:g} s would end past the {deadline.seconds:g} s deadline"
                )
            async with deadline.counted(url):
                await asyncio.sleep(wait)
            attempt += 1

    async def _attempt(self, url: httpx.URL, headers: dict[str, str], deadline: _Deadline) -> _Response:
        async with self._slot(url.host):
            try:
                async with (
                    deadline.counted(url),
                    self._client.stream("GET", url, headers=headers) as response,
                ):
                    ok = 200 <= response.status_code < 300
                    body = await self._read_capped(response, str(url)) if ok else b""
                    return _Response(response.status_code, response.headers, body)
            except httpx.TransportError as exc:
                raise ConnectError(str(url), f"connection failed: {exc or type(exc).__name__}") from exc
            except DecodeError as exc:
                raise FetchError(str(url), str(exc)) from exc
            except (
                BlockedURL,
                ConnectError,
            ) as exc:  # from _CheckedBackend, which knows the host, not the URL
                raise type(exc)(str(url), exc.reason) from exc

    async def _read_capped(self, response: httpx.Response, url: str) -> bytes:
        cap = self._settings.max_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise TooLarge(url, f"Content-Length {declared} exceeds the {cap}-byte limit")
        # Decoded here, not by httpx: httpx inflates a whole network read at once (a 1.6 KB brotli body to
        # 1 GiB) before the cap can be checked; here at most one PIECE goes beyond it.
        decoder = decoder_for(response.headers.get("content-encoding", ""))
        raw = response.aiter_raw()
        body = bytearray()
        while True:
            chunk = await anext(raw, b"")  # b"" at the end drains the decoder
            for piece in decoder.feed(chunk):
                body += piece
                if len(body) > cap:
                    raise TooLarge(url, f"body exceeds the {cap}-byte limit")
            if not chunk:
                return bytes(body)

    @contextlib.asynccontextmanager
    async def _slot(self, host: str) -> AsyncIterator[None]:
        """A per-host slot, starting per_host_delay or more after the previous start; then a global slot."""
        gate = self._hosts.setdefault(host, _HostGate(asyncio.Semaphore(self._settings.per_host_concurrency)))
        async with gate.slots:
            now = time.monotonic()
            start = max(now, gate.next_start)
            gate.next_start = start + self._settings.per_host_delay  # reserved before awaiting: no race
            await asyncio.sleep(start - now)
            async with self._slots:
                yield


def _result(
    url: httpx.URL, response: _Response, sent: dict[str, str], retries: int, redirects: tuple[str, ...]
) -> FetchResult:
    status = response.status
    not_modified = status == 304
    if not not_modified and not 200 <= status < 300:
        retryable = _retryable_status(status)
        suffix = f" after {retries} retries" if retryable and retries else ""
        raise HTTPStatusError(str(url), status, _status_reason(status) + suffix, retryable=retryable)
    content_type, charset = parse_content_type(response.headers.get("content-type"))
    return FetchResult(
        url=str(url),
        status=status,
        body=response.body,
        headers=dict(response.headers.items()),
        content_type=content_type,
        charset=charset,
        # A 304 may omit its validators; the ones sent are still current, so callers can store them as is.
        etag=response.headers.get("etag") or (sent.get("If-None-Match") if not_modified else None),
        last_modified=response.headers.get("last-modified")
        or (sent.get("If-Modified-Since") if not_modified else None),
        not_modified=not_modified,
        fetched_at=datetime.now(UTC),
        redirects=redirects,
    )
