"""Render the demo corpus to what each outlet would serve: HTML pages, feeds, OPML, robots.txt.

Pure functions of (articles, URLs): no clock, no I/O besides reading the packaged templates.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from livedesk.demo.corpus import DemoArticle, DemoOutlet

FEED_CONTENT_TYPES = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
    "sitemap": "application/xml; charset=utf-8",
}
RELATED_COUNT = 4
PRIVATE_PREFIX = "/private/"  # disallowed by every robots.txt

_MONTHS_ID = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)
_DAYS_ID = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")


@dataclass(frozen=True)
class Links:
    """Where everything is served: the hub (OPML, index) and one base URL per outlet."""

    hub: str
    outlets: Mapping[str, str]  # outlet domain → base URL without trailing slash

    def article(self, article: DemoArticle) -> str:
        return self.outlets[article.outlet] + article.path

    def feed(self, outlet: DemoOutlet) -> str:
        return self.outlets[outlet.domain] + outlet.feed_path

    def home(self, outlet: DemoOutlet) -> str:
        return self.outlets[outlet.domain] + "/"

    @property
    def opml(self) -> str:
        return self.hub + "/opml.xml"


def _long_date(value: datetime) -> str:
    return f"{value.day} {value:%B %Y, %H:%M} UTC"


def _tanggal(value: datetime) -> str:
    """Indonesian date as aggregators of that style print it: 'Senin, 2 Maret 2026 06:05'."""
    return f"{_DAYS_ID[value.weekday()]}, {value.day} {_MONTHS_ID[value.month - 1]} {value:%Y %H:%M}"


def view_counter(article: DemoArticle) -> int:
    """The broken, negative view counter aggregator pages show next to an empty byline (see the seed page)."""
    digest = hashlib.sha256(article.slug.encode()).digest()
    return -(100 + int.from_bytes(digest[:2], "big") % 900)


@cache
def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("livedesk.demo", "templates"),
        autoescape=select_autoescape(["html", "xml"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["rfc822"] = lambda d: format_datetime(d)
    env.filters["iso"] = lambda d: d.isoformat()
    env.filters["longdate"] = _long_date
    env.filters["tanggal"] = _tanggal
    return env


def render_article(
    outlet: DemoOutlet,
    article: DemoArticle,
    related: Sequence[DemoArticle],
    links: Links,
    original: DemoArticle | None = None,
) -> str:
    """The article page. ``original`` is the article a copy republishes (for its 'Read more' link)."""
    url = links.article(article)
    canonical = links.article(original) if original and article.canonical_to_original else url
    return _outlet_page(
        outlet,
        links,
        article=article,
        items=related,
        url=url,
        canonical=canonical,
        original_url=links.article(original) if original else None,
        views=view_counter(article),
    )


def render_home(outlet: DemoOutlet, articles: Sequence[DemoArticle], links: Links) -> str:
    """The outlet's front page: its visible articles, newest first."""
    home = links.home(outlet)
    return _outlet_page(
        outlet, links, article=None, items=articles, url=home, canonical=home, original_url=None, views=0
    )


def _outlet_page(outlet: DemoOutlet, links: Links, *, items: Sequence[DemoArticle], **context: object) -> str:
    return (
        _env()
        .get_template(f"outlets/{outlet.domain}.html")
        .render(
            outlet=outlet,
            items=list(items),
            home_url=links.home(outlet),
            feed_url=links.feed(outlet),
            feed_type=FEED_CONTENT_TYPES[outlet.feed_format].partition(";")[0],
            link=links.article,
            **context,
        )
    )


def _feed_link(outlet: DemoOutlet, links: Links, article: DemoArticle) -> str:
    url = links.article(article)
    return f"{url}?{outlet.feed_link_query}" if outlet.feed_link_query else url


def render_feed(outlet: DemoOutlet, articles: Sequence[DemoArticle], links: Links) -> str:
    """The outlet's feed in its own format, newest first."""
    items = sorted(articles, key=lambda a: a.published, reverse=True)
    if outlet.feed_format == "json":
        return _json_feed(outlet, items, links)
    return (
        _env()
        .get_template(f"feeds/{outlet.feed_format}.xml")
        .render(
            outlet=outlet,
            items=items,
            feed_url=links.feed(outlet),
            home_url=links.home(outlet),
            updated=items[0].published if items else None,
            link=lambda a: _feed_link(outlet, links, a),
        )
    )


def _json_feed(outlet: DemoOutlet, items: Sequence[DemoArticle], links: Links) -> str:
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": outlet.name,
        "home_page_url": links.home(outlet),
        "feed_url": links.feed(outlet),
        "description": outlet.tagline,
        "language": outlet.language,
        "items": [
            {
                "id": f"{outlet.domain}:{a.slug}",
                "url": _feed_link(outlet, links, a),
                "title": a.title,
                "summary": a.summary,
                "date_published": a.published.isoformat(),
                **({"authors": [{"name": a.author}]} if a.author else {}),
                "tags": [a.section],
            }
            for a in items
        ],
    }
    return json.dumps(feed, ensure_ascii=False, indent=2) + "\n"


def render_opml(outlets: Sequence[DemoOutlet], links: Links) -> str:
    return _env().get_template("opml.xml").render(outlets=outlets, links=links)


def render_index(outlets: Sequence[DemoOutlet], links: Links) -> str:
    """The hub's front page: every outlet, its home page and its feed."""
    return _env().get_template("index.html").render(outlets=outlets, links=links)


def render_private(outlet: DemoOutlet) -> str:
    return _env().get_template("private.html").render(outlet=outlet)


def render_robots(disallow: Sequence[str], sitemaps: Sequence[str] = ()) -> str:
    lines = ["User-agent: *", *(f"Disallow: {path}" for path in disallow), "Allow: /", ""]
    lines += [f"Sitemap: {url}" for url in sitemaps]
    return "\n".join(lines) + "\n"
