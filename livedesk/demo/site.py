"""The demo web: routes a request for (outlet, path) to a rendered response, honouring a publication cutoff.

Transport-free, so it can be exercised without sockets and reused by the loopback server.
Conditional GETs follow RFC 9110: If-None-Match wins over If-Modified-Since; both answer 304.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import urlsplit

from livedesk.demo import render
from livedesk.demo.corpus import DemoArticle, DemoOutlet, corpus, dated, outlets
from livedesk.demo.render import Links

HTML = "text/html; charset=utf-8"
TEXT = "text/plain; charset=utf-8"
XML = "application/xml; charset=utf-8"


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: str
    headers: tuple[tuple[str, str], ...] = ()


def default_links() -> Links:
    """The outlets' 'real' addresses, for rendering pages outside the loopback server."""
    return Links(
        hub="https://demo.livedesk.example",
        outlets={o.domain: f"https://www.{o.domain}" for o in outlets()},
    )


class DemoSite:
    """Every outlet's pages and feeds, showing only articles published at or before ``cutoff``; articles dated
    ``shift`` after their corpus dates (see ``corpus.shift_to``; ``cutoff`` compares with the shifted dates)."""

    def __init__(
        self, cutoff: datetime | None = None, links: Links | None = None, *, shift: timedelta = timedelta(0)
    ) -> None:
        self.links = links or default_links()
        self.cutoff = cutoff
        self.outlets = outlets()
        self._outlets = {o.domain: o for o in self.outlets}
        self.shift = shift

    @property
    def shift(self) -> timedelta:
        return self._shift

    @shift.setter
    def shift(self, value: timedelta) -> None:
        self._shift = value
        self._articles = dated(corpus(), value)
        self._by_slug = {a.slug: a for a in self._articles}
        # (outlet domain, path) → article, for the main path and every alias.
        self._routes = {(a.outlet, p): a for a in self._articles for p in (a.path, *a.aliases)}

    @property
    def cutoff(self) -> datetime | None:
        return self._cutoff

    @cutoff.setter
    def cutoff(self, value: datetime | None) -> None:
        if value is not None and value.tzinfo is None:
            raise ValueError("cutoff must be timezone-aware")
        self._cutoff = value

    def is_visible(self, article: DemoArticle) -> bool:
        return self._cutoff is None or article.published <= self._cutoff

    def visible(self, outlet: str | None = None) -> list[DemoArticle]:
        """Published articles (of one outlet, if given), newest first."""
        found = [a for a in self._articles if self.is_visible(a) and outlet in (None, a.outlet)]
        return sorted(found, key=lambda a: a.published, reverse=True)

    def article_url(self, article: DemoArticle) -> str:
        return self.links.article(article)

    def pages(self) -> Iterator[tuple[DemoArticle, str, bytes]]:
        """(article, URL, HTML) for every visible article page: the corpus as files, for offline benchmarks."""
        for article in self.visible():
            outlet = self._outlets[article.outlet]
            yield article, self.article_url(article), self._article_page(outlet, article)[0].body

    def feed_urls(self) -> list[str]:
        return [self.links.feed(o) for o in self.outlets]

    def get(self, outlet: str | None, target: str, headers: Mapping[str, str] | None = None) -> Response:
        """Answer GET ``target`` (path and query) on an outlet's site, or on the hub when ``outlet`` is None."""
        response, modified = self._route(outlet, urlsplit(target).path or "/")
        if response.status != 200:
            return response
        return _conditional(response, modified, {k.lower(): v for k, v in (headers or {}).items()})

    def _route(self, domain: str | None, path: str) -> tuple[Response, datetime | None]:
        if path == "/robots.txt":
            return Response(200, self._robots(domain).encode(), TEXT), None
        if domain is None:
            if path == "/":
                return _ok(render.render_index(self.outlets, self.links)), None
            if path == "/opml.xml":
                return _ok(render.render_opml(self.outlets, self.links), "text/x-opml; charset=utf-8"), None
            return _not_found(), None
        outlet = self._outlets[domain]
        if path == "/":
            items = self.visible(domain)
            return _ok(render.render_home(outlet, items, self.links)), _newest(items)
        if path == outlet.feed_path:
            items = self.visible(domain)
            body = render.render_feed(outlet, items, self.links)
            return _ok(body, render.FEED_CONTENT_TYPES[outlet.feed_format]), _newest(items)
        if path.startswith(render.PRIVATE_PREFIX):
            return _ok(render.render_private(outlet)), None
        article = self._routes.get((domain, path))
        if article is None or not self.is_visible(article):
            return _not_found(), None
        return self._article_page(outlet, article)

    def _article_page(self, outlet: DemoOutlet, article: DemoArticle) -> tuple[Response, datetime | None]:
        related = [a for a in self.visible(outlet.domain) if a.slug != article.slug][: render.RELATED_COUNT]
        original = self._by_slug[article.original_slug] if article.original_slug else None
        body = render.render_article(outlet, article, related, self.links, original)
        return _ok(body), _newest([article, *related])

    def _robots(self, domain: str | None) -> str:
        """robots.txt for a host: it covers the outlets served on that host (all of them under path prefixes
        on the hub when outlets cannot have addresses of their own)."""
        hub_host = urlsplit(self.links.hub).netloc
        hosted = (
            [o for o in self.outlets if urlsplit(self.links.outlets[o.domain]).netloc == hub_host]
            if domain is None
            else [self._outlets[domain]]
        )
        prefixes = sorted({urlsplit(self.links.outlets[o.domain]).path for o in hosted} | {""})
        return render.render_robots(
            disallow=[prefix + render.PRIVATE_PREFIX for prefix in prefixes],
            sitemaps=[self.links.feed(o) for o in hosted if o.feed_format == "sitemap"],
        )


def _ok(body: str, content_type: str = HTML) -> Response:
    return Response(200, body.encode("utf-8"), content_type)


def _not_found() -> Response:
    return Response(404, b"<!DOCTYPE html><title>404 Not Found</title><h1>Page not found</h1>\n", HTML)


def _newest(articles: list[DemoArticle]) -> datetime | None:
    return max((a.published for a in articles), default=None)


def _conditional(response: Response, modified: datetime | None, headers: Mapping[str, str]) -> Response:
    # The body depends on the cutoff (related lists, feed items), so the ETag is taken from the body itself.
    etag = '"' + hashlib.sha256(response.body).hexdigest()[:32] + '"'
    validators = [("ETag", etag)]
    if modified is not None:
        validators.append(("Last-Modified", format_datetime(modified.astimezone(UTC), usegmt=True)))
    if _not_modified(etag, modified, headers):
        return Response(304, b"", response.content_type, tuple(validators))
    return Response(response.status, response.body, response.content_type, tuple(validators))


def _not_modified(etag: str, modified: datetime | None, headers: Mapping[str, str]) -> bool:
    if "if-none-match" in headers:
        wanted = {tag.strip().removeprefix("W/") for tag in headers["if-none-match"].split(",")}
        return "*" in wanted or etag in wanted
    if "if-modified-since" in headers and modified is not None:
        try:
            since = parsedate_to_datetime(headers["if-modified-since"])
        except (TypeError, ValueError):
            return False
        # HTTP dates have whole seconds only.
        return since.tzinfo is not None and modified.replace(microsecond=0) <= since
    return False
