"""What the source parsers share: the error type, byte sniffing, safe XML parsing, URL and date utilities."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

from lxml import etree

from livedesk.pipeline.decompress import DecodeError, decode

# A sitemap may hold 50 MB uncompressed (sitemaps.org); beyond that a gzip body is treated as a bomb.
MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024
GZIP_MAGIC = b"\x1f\x8b"

_BOMS = (
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xff\xfe", "utf-16-le"),
)
# Without a BOM, '<' or '{' followed by NULs betrays a UTF-16/32 document.
_WIDE_PREFIXES = (
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<", "utf-16-be"),
    (b"<\x00", "utf-16-le"),
)
_COMMENT_OR_PI = re.compile(r"<!--.*?(?:-->|$)|<\?.*?(?:\?>|$)|<!DOCTYPE[^>\[]*(?:\[.*?\])?\s*>", re.S | re.I)
_START_TAG = re.compile(r"<([A-Za-z_][\w.:-]*)")


class SourceError(Exception):
    """A body that is not a feed, sitemap or OPML document, or is too broken to read anything from."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


def text_codec(body: bytes) -> str | None:
    """The codec a BOM or NUL pattern announces, or None for ASCII-compatible bytes."""
    for prefix, codec in _BOMS:
        if body.startswith(prefix):
            return codec
    for prefix, codec in _WIDE_PREFIXES:
        if body.startswith(prefix):
            return codec
    return None


def head_text(body: bytes, size: int = 4096) -> str:
    """The first bytes as text, good enough for sniffing markup (not for reading content)."""
    head = body[:size]
    codec = text_codec(head) or "latin-1"
    return head.decode(codec, errors="ignore").lstrip("\ufeff \t\r\n")


def root_element(head: str) -> str | None:
    """Name of the element the markup starts with (prefix kept, e.g. 'rdf:RDF'), after prolog and comments.

    None when the text does not start with markup (a Python file that mentions <html> is not HTML).
    """
    match = _START_TAG.match(_COMMENT_OR_PI.sub("", head).lstrip())
    return match.group(1) if match else None


def gunzip(body: bytes, url: str, limit: int = MAX_DECOMPRESSED_BYTES) -> bytes:
    """Decompress a gzip body, refusing to produce more than `limit` bytes."""
    return decode_content(body, "gzip", url, limit)


def decode_content(body: bytes, encoding: str, url: str, limit: int) -> bytes:
    """Undo one HTTP Content-Encoding (gzip, deflate, br or none), refusing to produce more than `limit` bytes.

    Stacked or unknown encodings are refused rather than passed on as if they were the page.
    """
    try:
        return decode(body, encoding, limit)
    except DecodeError as err:
        raise SourceError(url, str(err)) from None


def safe_xml_parser() -> etree.XMLParser:
    """lxml parser that never expands entities, reads a DTD or touches the network; recovers from errors."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        recover=True,
        remove_comments=True,
        remove_pis=True,
    )


def parse_xml(body: bytes, url: str) -> tuple[etree._Element, list[str]]:
    """Root element of an XML document and the parser's complaints (one line each)."""
    parser = safe_xml_parser()
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError as err:
        raise SourceError(url, f"unreadable XML ({err})") from None
    if root is None:
        raise SourceError(url, "unreadable XML (no root element)")
    problems = [f"XML error line {e.line}: {e.message}" for e in parser.error_log]
    return root, problems[:5]


def local_name(element: etree._Element) -> str:
    """'{ns}name' or, after recovery from an undeclared prefix, 'prefix:name' → 'name'."""
    tag = element.tag
    return tag.rpartition("}")[2].rpartition(":")[2] if isinstance(tag, str) else ""


def http_url(link: str | None, base: str) -> str | None:
    """`link` made absolute against `base`, or None unless it is an http(s) URL with a host."""
    if not link or not link.strip():
        return None
    absolute = urljoin(base, link.strip())
    parts = urlsplit(absolute)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return absolute


def parse_iso_datetime(value: object) -> datetime | None:
    """ISO 8601 / W3C datetime (date only allowed) as aware UTC; naive values are taken as UTC."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
