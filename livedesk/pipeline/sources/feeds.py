"""RSS 0.9x/1.0/2.0, Atom and JSON Feed bodies → `Feed`, and the dispatcher that also routes sitemaps.

Everything here works on bytes already in memory: nothing fetches, nothing opens files.
"""

from __future__ import annotations

import html
import io
import json
import re
import time
import zlib
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import feedparser
import nh3

from livedesk.models import Feed, FeedEntry
from livedesk.pipeline.sources.common import (
    GZIP_MAGIC,
    SourceError,
    gunzip,
    head_text,
    http_url,
    parse_iso_datetime,
    root_element,
    text_codec,
)
from livedesk.pipeline.sources.sitemaps import parse_sitemap
from livedesk.text import outlet_name
from livedesk.urls import parse_content_type, registrable_domain

FEED_MEDIA_TYPES = {
    "application/rss+xml",
    "application/x-rss+xml",
    "application/atom+xml",
    "application/rdf+xml",
    "application/feed+json",
}
# Root elements (local name, lower-cased) of everything parse_feed reads; 'channel' is CDF.
_FEED_ROOTS = {"rss", "feed", "rdf", "channel", "urlset", "sitemapindex"}
_TAG = re.compile(r"<[^>]*>")
_JSON_FEED_PREFIX = "https://jsonfeed.org/version/"
_JSON_FEED_KINDS = {"1": "json10", "1.1": "json11"}

# Entity defusing (see _defuse_entities). Text before the root element is the only place a DTD can be.
_ROOT_START = re.compile(r"<\w")
_ENTITY_REF = re.compile(r"&([\w.:-]+);")
_ENTITY_DECL = re.compile(r"<!ENTITY\s+(%\s*)?([\w.:-]+)\s*(?:\"([^\"]*)\"|'([^']*)')?[^>]*>")
MAX_ENTITY_EXPANSION = 1_000_000  # characters that declared entities may add to a document


def looks_like_feed(body: bytes, content_type: str | None) -> bool:
    """Cheap sniff: is this fetched body a feed or sitemap (True) rather than a page (False)?"""
    if parse_content_type(content_type)[0] in FEED_MEDIA_TYPES:
        return True
    if body.startswith(GZIP_MAGIC):
        try:
            body = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(body, 4096)
        except zlib.error:
            return False
    head = head_text(body)
    if head.startswith("{"):
        # PHP's json_encode escapes slashes: "https:\/\/jsonfeed.org\/version\/1".
        return "jsonfeed.org/version" in head_text(body, 65536).replace("\\/", "/")
    root = root_element(head)
    return root is not None and root.rpartition(":")[2].lower() in _FEED_ROOTS


def parse_feed(body: bytes, url: str, content_type: str | None = None) -> Feed:
    """Parse a feed, sitemap or sitemap index; raise SourceError when nothing usable is in it."""
    if body.startswith(GZIP_MAGIC):
        body = gunzip(body, url)
    head = head_text(body)
    if not head.strip():
        raise SourceError(url, "empty body")
    if head.startswith(("{", "[")):
        return parse_json_feed(body, url)
    root = (root_element(head) or "").rpartition(":")[2].lower()
    if root in ("urlset", "sitemapindex"):
        return parse_sitemap(body, url)
    if root == "html":
        raise SourceError(url, "an HTML page, not a feed")
    return _parse_xml_feed(body, url, content_type)


# -- RSS / Atom / RDF via feedparser ----------------------------------------------------------------------


def _parse_xml_feed(body: bytes, url: str, content_type: str | None) -> Feed:
    body, warnings = _defuse_entities(body)
    # Without a Content-Type feedparser flags every feed as "NonXMLContentType": say what we assume.
    headers = {"content-location": url, "content-type": content_type or "application/xml"}
    # A file-like object, never a str or bytes: given those, feedparser would fetch a URL or open a local
    # file of that name. Its HTML sanitizer and relative-URI resolution stay on (the defaults, made explicit).
    try:
        result = feedparser.parse(
            io.BytesIO(body), response_headers=headers, sanitize_html=True, resolve_relative_uris=True
        )
    # Its extension handlers (GeoRSS, iTunes, images...) raise assorted errors on some malformed input.
    except Exception as err:
        raise SourceError(url, f"unparseable feed ({_one_line(err)})") from None
    exc = result.get("bozo_exception") if result.get("bozo") else None
    problem = _one_line(exc) if exc else None
    channel = result.get("feed", {})
    # Charset and Content-Type mismatches are feedparser's harmless kind of bozo; bad XML is not.
    broken = exc is not None and not isinstance(exc, feedparser.ThingsNobodyCaresAboutButMe)
    # A CDF <CHANNEL> has no version but still says something; garbage yields nothing at all.
    unidentified = not result.get("version") and not channel
    if not result.get("entries") and (broken or unidentified):
        raise SourceError(url, f"not a feed ({problem or 'no RSS, Atom or RDF element'})")
    if problem:
        warnings.append(problem)
    feed_language = channel.get("language")
    entries = []
    for number, item in enumerate(result.get("entries", []), start=1):
        entry = _feedparser_entry(item, url, feed_language)
        if entry is None:
            warnings.append(_dropped(number, item.get("title")))
        else:
            entries.append(entry)
    title = _text(channel.get("title"))
    return Feed(
        url=url,
        title=title,
        entries=_named(entries, title, (url, _text(channel.get("link")))),
        kind=result.get("version") or "unknown",
        warnings=warnings,
    )


def _named(entries: list[FeedEntry], title: str | None, homes: Iterable[str | None]) -> list[FeedEntry]:
    """Entries on the feed's own site (its URL's or its home page's) carry the feed's title as their outlet's
    name: "Meridian Wire" names meridian-wire.example, while an aggregator's feed names none of the sites it
    links to."""
    sites = {registrable_domain(home) for home in homes if home}
    named = []
    for entry in entries:
        site = registrable_domain(entry.link)
        name = outlet_name(title, site, from_title=True) if site in sites else None
        named.append(replace(entry, site_name=name) if name else entry)
    return named


def _defuse_entities(body: bytes) -> tuple[bytes, list[str]]:
    """Drop the DTD's entity declarations when expanding them would inflate the document.

    feedparser already strips every <!ENTITY> from the prolog and puts back only "safe" ones (a plain value,
    no nested reference, not SYSTEM/PUBLIC, so nothing is read from disk or network), and its SAX parser
    has external general entities switched off. But its stripping only sees declarations that start a
    line (a one-line DTD slips through to expat, whose amplification cap then has to stop it), and a long
    flat entity referenced a million times (quadratic blow-up) is "safe": expat stops it, then feedparser
    retries with its loose parser, which expands every reference. So we compute the expanded size first
    and, past a small budget, remove all declarations: references are then left unexpanded as text.
    """
    codec = text_codec(body) or "latin-1"  # latin-1 maps bytes 1:1, so ASCII-compatible bodies round-trip
    errors = "surrogateescape" if codec == "utf-8" else "replace"
    text = body.decode(codec, errors=errors)
    root = _ROOT_START.search(text)
    prolog_end = root.start() if root else len(text)
    prolog = text[:prolog_end]
    if "<!ENTITY" not in prolog:
        return body, []
    values = {}
    for match in _ENTITY_DECL.finditer(prolog):
        parameter, name, double, single = match.groups()
        if not parameter:
            values[name] = double if double is not None else (single or "")
    sizes = _entity_sizes(values)
    expansion = sum(size * text.count(f"&{name};", prolog_end) for name, size in sizes.items())
    if expansion <= MAX_ENTITY_EXPANSION:
        return body, []
    defused = _ENTITY_DECL.sub("", prolog) + text[prolog_end:]
    warning = f"entity declarations ignored: they would expand to over {expansion} characters"
    return defused.encode(codec, errors=errors), [warning]


def _entity_sizes(values: dict[str, str]) -> dict[str, int]:
    """Fully expanded length of each declared entity; a reference cycle counts as over budget."""
    sizes: dict[str, int] = {}
    over = MAX_ENTITY_EXPANSION + 1

    def size(name: str, visiting: frozenset[str]) -> int:
        if name not in sizes:
            value = values[name]
            total = len(_ENTITY_REF.sub("", value))
            for ref in _ENTITY_REF.findall(value):
                if ref in visiting:
                    total = over
                elif ref in values:
                    total += size(ref, visiting | {ref})
                total = min(total, over)  # keeps the numbers small however deep the nesting
            sizes[name] = total
        return sizes[name]

    for name in values:
        size(name, frozenset({name}))
    return sizes


def _feedparser_entry(item: Any, base: str, feed_language: str | None) -> FeedEntry | None:
    # An Atom id or RSS guid is a fallback link only when it is already an absolute http(s) URL.
    link = http_url(item.get("link"), base) or http_url(item.get("id"), "")
    if link is None:
        return None
    detail = _richest_detail(item)
    return FeedEntry(
        link=link,
        title=_plain_title(item),
        published_at=_struct_time_utc(item.get("published_parsed") or item.get("updated_parsed")),
        author=_person_name((item.get("author_detail") or {}).get("name") or item.get("author")),
        summary_html=_as_html(detail),
        entry_id=_text(item.get("id")),
        language=(detail or {}).get("language") or feed_language,
    )


def _plain_title(item: Any) -> str | None:
    """Atom titles may be HTML (type="html"); FeedEntry.title is plain text."""
    title = item.get("title")
    if title and "html" in (item.get("title_detail") or {}).get("type", ""):
        title = html.unescape(_TAG.sub("", title))  # already sanitised by feedparser: no script bodies left
    return _text(title)


def _richest_detail(item: Any) -> dict[str, Any] | None:
    """Full content when the feed carries it, else the summary: the best fallback text for the article."""
    for detail in [*item.get("content", []), item.get("summary_detail")]:
        if detail and detail.get("value", "").strip():
            return detail
    return None


def _as_html(detail: dict[str, Any] | None) -> str | None:
    if detail is None:
        return None
    value = detail["value"].strip()
    return value if "html" in detail.get("type", "") else html.escape(value)


def _struct_time_utc(value: time.struct_time | None) -> datetime | None:
    # feedparser normalises every date it understands to a UTC struct_time.
    if value is None:
        return None
    try:
        return datetime(*value[:6], tzinfo=UTC)
    except (TypeError, ValueError):
        return None


# -- JSON Feed 1.0 / 1.1 ----------------------------------------------------------------------------------


def parse_json_feed(body: bytes, url: str) -> Feed:
    """JSON Feed (https://jsonfeed.org/version/1.1) → Feed. Bodies are UTF-8 by spec; a BOM is tolerated."""
    warnings: list[str] = []
    codec = text_codec(body) or "utf-8"
    try:
        text = body.decode("utf-8-sig" if codec == "utf-8" else codec)
    except UnicodeDecodeError as err:
        warnings.append(f"invalid {codec} at byte {err.start}; undecodable bytes replaced")
        text = body.decode(codec, errors="replace")
    try:
        doc = json.loads(text.lstrip("\ufeff"))
    # ValueError covers JSONDecodeError and over-long integers; RecursionError, absurdly deep nesting.
    except (ValueError, RecursionError) as err:
        raise SourceError(url, f"invalid JSON ({_one_line(err)})") from None
    if not isinstance(doc, dict):
        raise SourceError(url, "JSON document is not a JSON Feed (not an object)")
    version = doc.get("version")
    if not isinstance(version, str) or not version.startswith(_JSON_FEED_PREFIX):
        raise SourceError(url, "JSON document is not a JSON Feed (no jsonfeed.org version)")
    kind = _JSON_FEED_KINDS.get(version.removeprefix(_JSON_FEED_PREFIX).strip("/"))
    if kind is None:
        kind = "json"
        warnings.append(f"unknown JSON Feed version {version!r}; read as 1.1")
    items = doc.get("items")
    if not isinstance(items, list):
        raise SourceError(url, "JSON Feed without an items list")
    feed_author = _json_author(doc)
    feed_language = _text(doc.get("language"))
    entries = []
    for number, item in enumerate(items, start=1):
        entry = _json_entry(item, url, feed_author, feed_language) if isinstance(item, dict) else None
        if entry is None:
            warnings.append(_dropped(number, item.get("title") if isinstance(item, dict) else None))
        else:
            entries.append(entry)
    title = _text(doc.get("title"))
    homes = (url, _text(doc.get("home_page_url")))
    return Feed(url=url, title=title, entries=_named(entries, title, homes), kind=kind, warnings=warnings)


def _json_entry(
    item: dict[str, Any], base: str, feed_author: str | None, feed_language: str | None
) -> FeedEntry | None:
    link = http_url(_text(item.get("url")), base) or http_url(_text(item.get("external_url")), base)
    if link is None:
        return None
    item_id = item.get("id")
    return FeedEntry(
        link=link,
        title=_text(item.get("title")),
        published_at=parse_iso_datetime(item.get("date_published") or item.get("date_modified")),
        author=_json_author(item) or feed_author,
        summary_html=_json_html(item),
        entry_id=str(item_id) if isinstance(item_id, str | int) and str(item_id).strip() else None,
        language=_text(item.get("language")) or feed_language,
    )


def _json_author(obj: dict[str, Any]) -> str | None:
    """1.1 has an `authors` list, 1.0 a single `author` object."""
    authors = obj.get("authors")
    candidates = authors if isinstance(authors, list) else [obj.get("author")]
    for author in candidates:
        if isinstance(author, dict) and (name := _person_name(author.get("name"))):
            return name
    return None


def _json_html(item: dict[str, Any]) -> str | None:
    # content_html is publisher HTML: sanitised like feedparser's, so every summary_html is equally safe.
    if content := _text(item.get("content_html")):
        return nh3.clean(content)
    text = _text(item.get("content_text")) or _text(item.get("summary"))
    return html.escape(text) if text else None


# -- small shared functions --------------------------------------------------------------------------------


def _text(value: object) -> str | None:
    """A non-blank string, stripped; anything else (None, numbers, lists) → None."""
    if not isinstance(value, str):
        return None
    return value.strip() or None


def _person_name(value: object) -> str | None:
    """A byline name, never a bare e-mail address."""
    name = _text(value)
    if name is None or ("@" in name and " " not in name):
        return None
    return name


def _one_line(exc: object) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _dropped(number: int, title: object) -> str:
    label = f" ({_text(title)!r})" if _text(title) else ""
    return f"entry {number}{label} dropped: no http(s) link"
