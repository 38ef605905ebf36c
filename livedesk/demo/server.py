"""Serve the demo web over real HTTP on loopback, one address per outlet.

Why: livedesk derives an article's ``site`` from the host of the URL it was fetched from, so outlets must
differ by host. There is no DNS for ``*.example``, and ``*.localhost`` names do not resolve through the
system resolver on Debian (getaddrinfo fails), so plain host names only work for a client that pins them.
Every address in 127.0.0.0/8 is loopback on Linux, though, so:

* the hub (index, OPML) listens on ``host`` (127.0.0.1) and outlet number *i* on 127.0.0.(2+i), all on
  the same port. Any client can fetch ``http://127.0.0.3:PORT/news/...``; ``site`` then differs per outlet.
* ``hostnames=True`` renders every link with the outlet's own domain (``http://meridian-wire.example:PORT``)
  for clients that pin names to addresses: ``DemoServer.resolve`` is the value for ``LIVEDESK_RESOLVE``
  (``Settings.resolve``), and ``site`` is then the real outlet domain. Requests are routed by their Host
  header first, so a pinned name reaches its outlet whatever address it is pinned to.
* where the extra addresses cannot be bound (macOS configures only 127.0.0.1), outlets fall back to path
  prefixes on the hub (``http://127.0.0.1:PORT/<outlet-domain>/...``).

Either way the outlet's real domain stays visible as on the web: og:site_name, the page chrome, and the
copies' attribution lines ("Sumber: www.meridian-wire.example").
"""

from __future__ import annotations

import errno
import ipaddress
import threading
from collections.abc import Iterable
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import urlsplit

from livedesk.demo.corpus import DemoArticle, outlets
from livedesk.demo.render import Links
from livedesk.demo.site import DemoSite
from livedesk.models import Source

_BIND_ATTEMPTS = 5
_POLL_INTERVAL = 0.05  # seconds; shutdown() waits up to this long per listening address


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive: fetchers reuse connections
    # Buffered, so headers and body leave in one write: separate small writes meet Nagle's algorithm and the
    # client's delayed ACK, costing tens of milliseconds per response.
    wbufsize = -1

    def do_GET(self) -> None:
        self._respond(with_body=True)

    def do_HEAD(self) -> None:
        self._respond(with_body=False)

    def _respond(self, *, with_body: bool) -> None:
        outlet, target = self.server.route(self.headers.get("Host"), self.path)
        response = self.server.site.get(outlet, target, dict(self.headers.items()))
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        for name, value in response.headers:
            self.send_header(name, value)
        if response.status != 304:
            self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if with_body and response.status != 304:
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: object) -> None:
        """Silent: tests and benchmarks fetch thousands of pages."""


class _Server(ThreadingHTTPServer):
    """One listening address: the hub (``outlet`` None) or one outlet."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], site: DemoSite, outlet: str | None = None) -> None:
        self.site = site
        self.outlet = outlet
        self.prefixed: frozenset[str] = frozenset()  # outlets served under /<domain>/ on this address
        self.domains = frozenset(o.domain for o in site.outlets)
        super().__init__(address, _Handler)

    def route(self, host_header: str | None, target: str) -> tuple[str | None, str]:
        """(outlet domain, or None for the hub; path on that outlet's site) for one request."""
        name = urlsplit(f"//{host_header or ''}").hostname
        if name in self.domains:
            return name, target
        if self.outlet is not None:
            return self.outlet, target
        first, _, rest = target.lstrip("/").partition("/")
        if first in self.prefixed:
            return first, "/" + rest
        return None, target


class DemoServer:
    """The demo outlets on loopback: ``with DemoServer() as demo: httpx.get(demo.feed_urls[0])``."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        cutoff: datetime | None = None,
        *,
        hostnames: bool = False,
        distinct_hosts: bool = True,
        shift: timedelta = timedelta(0),
    ) -> None:
        self.host = host
        self.port = port
        self.hostnames = hostnames
        self.distinct_hosts = distinct_hosts
        self.site = DemoSite(cutoff, shift=shift)
        self._addresses: dict[str, str] = {}  # outlet domain → address it listens on
        self._servers: list[_Server] = []
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> DemoServer:
        for attempt in range(_BIND_ATTEMPTS):
            try:
                self._bind()
                break
            except OSError as exc:
                self._close()
                # A random port that happens to be taken on one outlet address: try another.
                if exc.errno != errno.EADDRINUSE or self.port or attempt == _BIND_ATTEMPTS - 1:
                    raise
        for server in self._servers:
            thread = threading.Thread(
                target=server.serve_forever, args=(_POLL_INTERVAL,), name="livedesk-demo", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for server in self._servers:
            server.shutdown()
        for thread in self._threads:
            thread.join()
        self._threads.clear()
        self._close()

    def _bind(self) -> None:
        domains = [o.domain for o in self.site.outlets]
        hub = _Server((self.host, self.port), self.site)
        self._servers.append(hub)
        port = hub.server_address[1]
        hub_url = f"http://{_url_host(self.host)}:{port}"
        if self._bind_outlets(domains, port):
            bases = {d: f"http://{_url_host(self._addresses[d])}:{port}" for d in domains}
        else:
            hub.prefixed = frozenset(domains)
            self._addresses = dict.fromkeys(domains, self.host)
            bases = {d: f"{hub_url}/{d}" for d in domains}
        if self.hostnames:
            bases = {d: f"http://{d}:{port}" for d in domains}
        self.site.links = Links(hub=hub_url, outlets=bases)

    def _bind_outlets(self, domains: list[str], port: int) -> bool:
        """One server per outlet on the loopback addresses after the hub's; False where that is impossible."""
        try:
            first = ipaddress.ip_address(self.host)
        except ValueError:  # a host name: no address arithmetic
            return False
        if not (self.distinct_hosts and first.version == 4 and first.is_loopback):
            return False
        try:
            for offset, domain in enumerate(domains, start=1):
                address = str(first + offset)
                self._servers.append(_Server((address, port), self.site, outlet=domain))
                self._addresses[domain] = address
        except OSError as exc:
            if exc.errno != errno.EADDRNOTAVAIL:
                raise
            for server in self._servers[1:]:
                server.server_close()
            del self._servers[1:]
            return False
        return True

    def _close(self) -> None:
        for server in self._servers:
            server.server_close()
        self._servers.clear()
        self._addresses.clear()

    @property
    def base_url(self) -> str:
        return self.site.links.hub

    @property
    def opml_url(self) -> str:
        return self.site.links.opml

    @property
    def feed_urls(self) -> list[str]:
        return self.site.feed_urls()

    @property
    def resolve(self) -> str:
        """'domain=address, …' pinning every outlet domain to where it listens (for ``Settings.resolve``)."""
        return ",".join(f"{domain}={address}" for domain, address in self._addresses.items())

    def outlet_url(self, domain: str) -> str:
        """Base URL (no trailing slash) of one outlet's site."""
        return self.site.links.outlets[domain]

    def url_for(self, article: DemoArticle) -> str:
        return self.site.article_url(article)

    def set_cutoff(self, cutoff: datetime | None) -> None:
        """Show only articles published at or before ``cutoff`` (None: everything) from the next request on."""
        self.site.cutoff = cutoff

    def set_shift(self, shift: timedelta) -> None:
        """Date the articles ``shift`` after their corpus dates (``corpus.shift_to``) from the next request on."""
        self.site.shift = shift


def previous_start(sources: Iterable[Source]) -> datetime | None:
    """When a demo first added its outlets' feeds to a database (None if it never did): the demo dates the corpus
    from then on every run, so a re-run serves the same pages (dates and URLs) and stores nothing again."""
    domains = {outlet.domain for outlet in outlets()}
    added = [s.created_at for s in sources if urlsplit(s.url).hostname in domains and s.created_at is not None]
    return min(added, default=None)


def previous_port(urls: Iterable[str]) -> int:
    """The port an earlier demo served its outlets at, read from the URLs of a database's sources; 0 if none.

    Why: the port is part of every stored article URL, hence of its identity (url_hash). Served at the same port
    again, a re-run finds its sources and articles as they are (conditional requests, duplicates) instead of
    storing all of them again under new URLs."""
    domains = {outlet.domain for outlet in outlets()}
    for url in urls:
        parts = urlsplit(url)
        if parts.hostname in domains and parts.port:
            return parts.port
    return 0


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
