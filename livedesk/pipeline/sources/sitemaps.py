"""Sitemaps (sitemaps.org `<urlset>`, with Google News `news:news`) and sitemap indexes → `Feed`."""

from __future__ import annotations

from lxml import etree

from livedesk.models import Feed, FeedEntry
from livedesk.pipeline.sources.common import SourceError, http_url, local_name, parse_iso_datetime, parse_xml


def parse_sitemap(body: bytes, url: str) -> Feed:
    """`<urlset>` → entries; `<sitemapindex>` → `Feed.sitemaps`, the sub-sitemaps to fetch next."""
    root, warnings = parse_xml(body, url)
    kind = local_name(root)
    if kind not in ("urlset", "sitemapindex"):
        raise SourceError(url, f"not a sitemap (root element <{kind}>)")
    entries: list[FeedEntry] = []
    sitemaps: list[str] = []
    for number, node in enumerate(_children(root, "sitemap" if kind == "sitemapindex" else "url"), start=1):
        loc = _child_text(node, "loc")
        link = http_url(loc, url)
        if link is None:
            warnings.append(f"{kind} item {number} dropped: no http(s) <loc> ({loc!r})")
        elif kind == "sitemapindex":
            sitemaps.append(link)
        else:
            entries.append(_entry(node, link))
    return Feed(url=url, title=None, entries=entries, kind=kind, sitemaps=sitemaps, warnings=warnings)


def _entry(node: etree._Element, link: str) -> FeedEntry:
    news = next(_children(node, "news"), None)
    lastmod = parse_iso_datetime(_child_text(node, "lastmod"))
    if news is None:
        return FeedEntry(link=link, published_at=lastmod)
    publication = next(_children(news, "publication"), None)
    return FeedEntry(
        link=link,
        title=_child_text(news, "title"),
        published_at=parse_iso_datetime(_child_text(news, "publication_date")) or lastmod,
        language=_child_text(publication, "language") if publication is not None else None,
    )


def _children(parent: etree._Element, name: str):
    # Matched by local name: sitemaps in the wild use the wrong namespace URI, or none.
    return (child for child in parent if local_name(child) == name)


def _child_text(parent: etree._Element, name: str) -> str | None:
    child = next(_children(parent, name), None)
    if child is None:
        return None
    text = "".join(child.itertext()).strip()
    return text or None
