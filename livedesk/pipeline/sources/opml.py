"""OPML subscription lists: read the feed URLs out of one, write our sources as OPML 2.0."""

from __future__ import annotations

from collections.abc import Iterable

from lxml import etree

from livedesk.models import Source, SourceKind
from livedesk.pipeline.sources.common import SourceError, local_name, parse_xml


def parse_opml(body: bytes, origin: str = "OPML") -> list[tuple[str, str | None]]:
    """(xmlUrl, title) of every outline at any depth, in document order, each URL once."""
    root, _problems = parse_xml(body, origin)
    if local_name(root).lower() != "opml":
        raise SourceError(origin, f"not an OPML document (root element <{local_name(root)}>)")
    found: dict[str, str | None] = {}
    for outline in root.iter("{*}outline"):
        # Attribute case varies between exporters (xmlUrl, xmlurl, XMLURL).
        attrs = {key.lower(): value.strip() for key, value in outline.attrib.items()}
        url = attrs.get("xmlurl")
        if url and url not in found:
            found[url] = attrs.get("title") or attrs.get("text") or None
    return list(found.items())


def write_opml(sources: Iterable[Source], title: str = "livedesk sources") -> str:
    """An OPML 2.0 document listing `sources` (readable by feed readers and by parse_opml)."""
    opml = etree.Element("opml", version="2.0")
    head = etree.SubElement(opml, "head")
    etree.SubElement(head, "title").text = title
    body = etree.SubElement(opml, "body")
    for source in sources:
        attrs = {"type": "rss" if source.kind is SourceKind.FEED else source.kind.value, "xmlUrl": source.url}
        attrs["text"] = source.title or source.url
        if source.title:
            attrs["title"] = source.title
        etree.SubElement(body, "outline", attrs)
    xml = etree.tostring(opml, encoding="unicode", pretty_print=True)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{xml}'
