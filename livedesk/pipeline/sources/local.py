"""Local material → pages and feeds: HTML files, feed and sitemap files, directories of them, WARC archives.

`read_path` never raises for one bad file: every problem becomes a `LocalFailure` and the walk goes on. A file or
WARC record larger than `max_bytes` (the fetch size cap, Settings.max_bytes) is such a failure: a saved page is as
hostile as a fetched one, and the stages after this one are sized for pages within the cap.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from lxml import etree
from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import ChunkedDataReader
from warcio.limitreader import LimitReader
from warcio.recordloader import ArcWarcRecord

from livedesk.models import Feed, Page
from livedesk.pipeline.sources.common import (
    SourceError,
    decode_content,
    head_text,
    http_url,
    parse_iso_datetime,
    root_element,
)
from livedesk.pipeline.sources.feeds import FEED_MEDIA_TYPES, looks_like_feed, parse_feed
from livedesk.urls import parse_content_type


@dataclass(frozen=True)
class LocalFailure:
    """One file (or WARC record) that could not be read, with a one-line reason."""

    origin: str
    reason: str


LocalItem = Page | Feed | LocalFailure

HTML_SUFFIXES = (".html", ".htm", ".xhtml")
FEED_SUFFIXES = (".xml", ".rss", ".atom", ".rdf", ".json", ".xml.gz")
WARC_SUFFIXES = (".warc", ".warc.gz")
HTML_MEDIA_TYPES = {"text/html", "application/xhtml+xml"}
# Generic types that may carry a feed; the body decides (looks_like_feed).
MAYBE_FEED_MEDIA_TYPES = {"application/xml", "text/xml", "application/json"}


def is_opml(path: Path) -> bool:
    """OPML subscription lists are expanded by the caller into feed URLs, not read as items."""
    name = path.name.lower()
    if name.endswith(".opml"):
        return True
    if not name.endswith(".xml"):
        return False
    try:
        with path.open("rb") as stream:
            return root_element(head_text(stream.read(4096))) == "opml"
    except OSError:
        return False


def read_path(path: Path, *, max_bytes: int) -> Iterator[LocalItem]:
    """Pages, feeds and failures found at `path`: a file, or a directory walked recursively in name order.

    A file, or a WARC record, holding more than `max_bytes` bytes (after decompression) is a failure of its own.
    """
    if path.is_dir():
        yield from _walk(path, max_bytes)
    elif path.is_file():
        yield from _read_file(path, max_bytes)
    else:
        yield LocalFailure(str(path), "no such file or directory")


def _too_large(max_bytes: int) -> str:
    return f"larger than the {max_bytes}-byte limit (LIVEDESK_MAX_BYTES)"


def _walk(directory: Path, max_bytes: int) -> Iterator[LocalItem]:
    try:
        children = sorted(os.scandir(directory), key=lambda entry: entry.name)
    except OSError as err:
        yield LocalFailure(str(directory), f"cannot list directory: {err.strerror}")
        return
    for child in children:
        if child.name.startswith("."):
            continue
        # Symlinked directories are not followed: a link to an ancestor would loop forever.
        if child.is_dir(follow_symlinks=False):
            yield from _walk(Path(child.path), max_bytes)
        elif child.is_file():
            yield from _read_file(Path(child.path), max_bytes)


def read_capped(path: Path, max_bytes: int) -> bytes:
    """A file's bytes; SourceError when it cannot be read or holds more than `max_bytes`."""
    try:
        with path.open("rb") as stream:
            body = stream.read(max_bytes + 1)  # one byte more tells a file over the cap, whatever stat says
    except OSError as err:
        raise SourceError(str(path), f"cannot read: {err.strerror}") from None
    if len(body) > max_bytes and not body.startswith(b"WARC/"):  # an archive: the cap applies to each record
        raise SourceError(str(path), _too_large(max_bytes))
    return body


def _read_file(path: Path, max_bytes: int) -> Iterator[LocalItem]:
    name = path.name.lower()
    if is_opml(path):
        return
    if name.endswith(WARC_SUFFIXES):
        yield from _read_warc(path, max_bytes)
        return
    try:
        body = read_capped(path, max_bytes)
        fetched_at = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    except SourceError as err:
        yield LocalFailure(str(path), err.reason)
        return
    except OSError as err:
        yield LocalFailure(str(path), f"cannot read: {err.strerror}")
        return
    if body.startswith(b"WARC/"):
        yield from _read_warc(path, max_bytes)
    elif name.endswith(HTML_SUFFIXES) or (not name.endswith(FEED_SUFFIXES) and _sniff_html(body)):
        yield _html_page(body, path, fetched_at)
    elif name.endswith(FEED_SUFFIXES) or looks_like_feed(body, None):
        yield _feed_or_failure(body, path.resolve().as_uri(), None, str(path))
    else:
        yield LocalFailure(str(path), "not an HTML page, feed, sitemap or WARC file")


def _sniff_html(body: bytes) -> bool:
    head = head_text(body, 1024)
    return head[:14].lower() == "<!doctype html" or (root_element(head) or "").lower() == "html"


def _html_page(body: bytes, path: Path, fetched_at: datetime) -> Page:
    """A saved page, at the URL it declares (canonical, else og:url), else at its file:// URI.

    The charset is left to the extractor, which reads <meta charset> itself.
    """
    return Page(
        url=declared_url(body) or path.resolve().as_uri(),
        body=body,
        fetched_at=fetched_at,
        content_type="text/html",
    )


def declared_url(body: bytes) -> str | None:
    """The page's own http(s) URL from <link rel=canonical> or og:url, if it states one."""
    root = etree.fromstring(body, etree.HTMLParser(no_network=True, remove_comments=True))
    if root is None:
        return None
    og_urls = (
        meta.get("content")
        for meta in root.iter("meta")
        if (meta.get("property") or meta.get("name") or "").strip().lower() == "og:url"
    )
    og_url = _first_http_url(og_urls, "")
    # A relative canonical means something only against a known page URL, never against a file:// URI.
    base = _first_http_url((base.get("href") for base in root.iter("base")), "") or og_url or ""
    canonicals = (link.get("href") for link in root.iter("link") if "canonical" in link.get("rel", "").lower().split())
    return _first_http_url(canonicals, base) or og_url


def _first_http_url(candidates: Iterable[str | None], base: str) -> str | None:
    return next((url for candidate in candidates if (url := http_url(candidate, base))), None)


def _feed_or_failure(body: bytes, url: str, content_type: str | None, origin: str) -> Feed | LocalFailure:
    try:
        return parse_feed(body, url, content_type)
    except SourceError as err:
        return LocalFailure(origin, err.reason)


# -- WARC -------------------------------------------------------------------------------------------------


def _read_warc(path: Path, max_bytes: int) -> Iterator[LocalItem]:
    """Each 200 HTML response → Page, each feed response → Feed; other records are skipped.

    warcio ends quietly on a truncated archive, so completeness is checked by hand: every record must have
    its whole declared length, and nothing but blank lines may follow the last complete record.
    """
    origin = str(path)
    good_end = 0  # file offset just past the last complete record
    seen = 0
    try:
        fallback_date = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        with path.open("rb") as stream:
            records = ArchiveIterator(stream)
            for record in records:
                item = _warc_item(record, fallback_date, max_bytes)
                while record.raw_stream.read(65536):  # consume what the payload read left unread
                    pass
                if not _complete(record):
                    yield LocalFailure(origin, f"truncated WARC: record at byte {good_end} is incomplete")
                    return
                good_end = records.get_record_offset() + records.get_record_length()
                seen += 1
                if item is not None:
                    yield item
            stream.seek(good_end)
            trailing = stream.read(4096)
    # warcio and the decompressors raise many types (ArchiveLoadFailed, EOFError, zlib.error, ValueError...);
    # whatever it is, the records already yielded stand and the file becomes one failure.
    except Exception as err:
        yield LocalFailure(origin, f"corrupt WARC after byte {good_end}: {type(err).__name__}: {err}")
        return
    if trailing.strip():
        yield LocalFailure(origin, f"truncated or corrupt WARC: unreadable data after byte {good_end}")
    elif not seen:
        yield LocalFailure(origin, "empty WARC: no records")


def _complete(record: ArcWarcRecord) -> bool:
    """Whole declared block read? A cut inside the record headers leaves no (valid) Content-Length at all."""
    declared = (record.rec_headers.get_header("Content-Length") or "").strip()
    stream = record.raw_stream
    return declared.isdigit() and isinstance(stream, LimitReader) and stream.limit == 0


def _warc_item(record: ArcWarcRecord, fallback_date: datetime, max_bytes: int) -> LocalItem | None:
    if record.rec_type != "response" or record.http_headers is None:
        return None
    if record.http_headers.get_statuscode() != "200":
        return None
    media_type, charset = parse_content_type(record.http_headers.get_header("Content-Type"))
    is_html = media_type in HTML_MEDIA_TYPES
    if not is_html and media_type not in FEED_MEDIA_TYPES | MAYBE_FEED_MEDIA_TYPES:
        return None
    url = (record.rec_headers.get_header("WARC-Target-URI") or "").strip("<> ")
    try:
        body = _warc_payload(record, url, max_bytes)
    except SourceError as err:
        return LocalFailure(url, err.reason)
    if is_html:
        fetched_at = parse_iso_datetime(record.rec_headers.get_header("WARC-Date")) or fallback_date
        return Page(url=url, body=body, fetched_at=fetched_at, content_type=media_type, charset=charset)
    if not looks_like_feed(body, media_type):
        return None
    return _feed_or_failure(body, url, media_type, url)


def _warc_payload(record: ArcWarcRecord, url: str, max_bytes: int) -> bytes:
    """The response body, de-chunked and decoded, read and inflated no further than `max_bytes` (+1 to tell).

    Not warcio's content_stream(): it inflates a whole block at a time, and a brotli block has no output bound.
    """
    assert record.http_headers is not None
    stream = record.raw_stream
    if (record.http_headers.get_header("Transfer-Encoding") or "").strip().lower() == "chunked":
        stream = ChunkedDataReader(stream)  # de-chunks only: no decompressor given
    encoded = stream.read(max_bytes + 1)
    if len(encoded) > max_bytes:
        raise SourceError(url, _too_large(max_bytes))
    return decode_content(encoded, record.http_headers.get_header("Content-Encoding") or "", url, max_bytes)
