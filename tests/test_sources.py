"""Feeds, sitemaps, OPML, HTML files, directories and WARC archives → Feed / Page / LocalFailure."""

from __future__ import annotations

import gzip
import os
import shutil
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

import brotli
import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from livedesk.config import Settings
from livedesk.models import Feed, Page, Source, SourceKind
from livedesk.pipeline.sources import (
    LocalFailure,
    SourceError,
    declared_url,
    is_opml,
    looks_like_feed,
    parse_feed,
    parse_opml,
    read_path,
    write_opml,
)

DATA = Path(__file__).parent / "data"
FEEDS = DATA / "feeds"
PAGES = DATA / "pages"
WARC = DATA / "warc" / "pages.warc.gz"
MAX_BYTES = Settings().max_bytes


def feed(name: str, url: str | None = None, content_type: str | None = None) -> Feed:
    return parse_feed((FEEDS / name).read_bytes(), url or f"https://feeds.example.com/x/{name}", content_type)


# -- RSS / Atom / RDF -------------------------------------------------------------------------------------


def test_rss20_entries_are_mapped():
    result = feed("rss20.xml", "https://gazette.example.com/feeds/main.xml", "application/rss+xml")
    assert (result.kind, result.title) == ("rss20", "Harbour Gazette")
    first, relative, permalink = result.entries
    assert first.link == "https://gazette.example.com/2024/05/ferry-timetable"
    assert first.title == "Ferry timetable changes from June"
    assert first.published_at == datetime(2024, 5, 14, 8, 30, tzinfo=UTC)  # +0200 converted
    assert first.author == "Jo Reporter"  # the name only, not the address
    assert first.summary_html == "<p>Ferries will run <b>hourly</b>.</p>"  # sanitised: no script
    assert first.entry_id == "gazette-1001"
    assert first.language == "en-gb"
    assert relative.link == "https://gazette.example.com/2024/05/relative-story"
    assert relative.author == "Sam Writer"
    assert permalink.link == "https://gazette.example.com/2024/05/permalink"
    assert permalink.author is None  # a bare e-mail address is not a byline
    assert result.warnings == ["entry 3 ('An item with no link at all') dropped: no http(s) link"]


def test_a_feeds_title_names_the_outlet_of_its_own_entries_only():
    body = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Meridian Wire - World news</title>
    <link>https://www.meridian-wire.example/</link>
    <item><title>Own</title><link>https://www.meridian-wire.example/world/1</link></item>
    <item><title>Elsewhere</title><link>https://harbor-times.example/news/2</link></item>
    </channel></rss>"""
    own, elsewhere = parse_feed(body, "https://feeds.example.net/meridian.xml").entries
    assert own.site_name == "Meridian Wire"  # the feed's home page is the entry's site
    assert elsewhere.site_name is None  # a site the feed merely links to
    json_feed = b"""{"version": "https://jsonfeed.org/version/1.1", "title": "Harbor Times",
        "items": [{"id": "1", "url": "https://harbor-times.example/news/1", "content_text": "x"}]}"""
    [entry] = parse_feed(json_feed, "https://harbor-times.example/feed.json").entries
    assert entry.site_name == "Harbor Times"


def test_rss10_rdf():
    result = feed("rss10.rdf")
    assert result.kind == "rss10"
    [entry] = result.entries
    assert entry.link == "https://rdf.example.org/a"
    assert entry.author == "Ana Editor"
    assert entry.published_at == datetime(2024, 5, 14, 11, 15, tzinfo=UTC)
    assert entry.summary_html == "Crews finished the repair before dawn."


def test_rss091():
    result = feed("rss091.xml")
    assert (result.kind, result.title) == ("rss091u", "Old School Wire")
    assert [e.link for e in result.entries] == ["http://old.example.net/library-hours"]


def test_atom_with_xml_base():
    result = feed("atom10.xml", "https://feeds.example.com/atom")
    assert (result.kind, result.title) == ("atom10", "Le Fil")
    marche, other = result.entries
    assert marche.link == "https://atom.example.com/news/2024/marche"
    assert marche.title == "Le marché rouvre"  # type="html" title reduced to text
    assert marche.published_at == datetime(2024, 5, 14, 7, 0, tzinfo=UTC)
    assert marche.author == "Claire Dupont"
    assert marche.language == "fr"
    # Full content wins over the summary; links inside it are resolved against xml:base too.
    assert 'href="https://atom.example.com/news/photos/1"' in marche.summary_html
    assert other.link == "https://other.example.org/section/item-2"
    assert other.published_at == datetime(2024, 5, 13, 18, 30, tzinfo=UTC)  # updated when no published
    assert result.warnings == ["entry 3 ('Only a tag: id') dropped: no http(s) link"]


# -- JSON Feed --------------------------------------------------------------------------------------------


def test_json_feed_10():
    result = feed("jsonfeed10.json")
    assert (result.kind, result.title) == ("json10", "Tide Tables Daily")
    tide, study = result.entries
    assert tide.link == "https://tides.example.com/2024/05/14"
    assert tide.entry_id == "1"
    assert tide.published_at == datetime(2024, 5, 14, 9, 0, tzinfo=UTC)
    assert tide.author == "Morgan Tidewell"
    assert tide.summary_html == "High tide at 14:02 &amp; low tide at 20:15."  # text escaped as HTML
    assert study.link == "https://elsewhere.example.org/tide-study"  # external_url when no url
    assert study.author == "Tide Desk"  # the feed's author
    assert study.summary_html == "A study of tides."
    assert result.warnings == ["entry 3 ('No link here') dropped: no http(s) link"]


def test_json_feed_11_with_bom():
    assert (FEEDS / "jsonfeed11.json").read_bytes().startswith(b"\xef\xbb\xbf")
    result = feed("jsonfeed11.json", "https://bulletin.example.no/feed.json")
    assert (result.kind, result.title, result.warnings) == ("json11", "Bergen Bulletin", [])
    first, second = result.entries
    assert first.title == "Bybanen får nye vogner"
    assert first.author == "Kari Nordmann"  # first author that has a name
    assert first.summary_html == "<p>Bybanen får <b>nye</b> vogner.</p>"  # script removed
    assert first.language == "nb"
    assert second.link == "https://bulletin.example.no/relative/a2"
    assert second.author == "Redaksjonen"
    assert second.language == "nn"
    assert second.published_at == datetime(2024, 5, 14, tzinfo=UTC)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"title": "no version", "items": []}', "no jsonfeed.org version"),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": {}}', "without an items list"),
        (b'{"version": "https://jsonfeed.org/version/1", "items": [', "invalid JSON"),
        (b"[1, 2]", "not an object"),
        (b"[" * 100_000, "invalid JSON"),
        (b'{"version": ' + b"9" * 5_000 + b"}", "invalid JSON"),
    ],
)
def test_json_feed_invalid(body: bytes, reason: str):
    with pytest.raises(SourceError, match=reason):
        parse_feed(body, "https://feeds.example.com/feed.json")


def test_json_feed_invalid_utf8_still_parsed():
    body = b'{"version": "https://jsonfeed.org/version/1.1", "title": "Caf\xe9", "items": []}'
    result = parse_feed(body, "https://feeds.example.com/feed.json")
    assert result.title == "Caf\ufffd"
    assert "invalid utf-8" in result.warnings[0]


# -- sitemaps ---------------------------------------------------------------------------------------------


def test_news_sitemap():
    result = feed("news-sitemap.xml")
    assert result.kind == "urlset"
    news, about = result.entries
    assert news.link == "https://daily.example.com/2024/05/14/budget-vote"
    assert news.title == "Haushalt beschlossen"
    assert news.published_at == datetime(2024, 5, 14, 6, 45, tzinfo=UTC)
    assert news.language == "de"
    assert (about.title, about.published_at) == (None, datetime(2024, 5, 1, tzinfo=UTC))
    assert result.warnings == ["urlset item 3 dropped: no http(s) <loc> ('mailto:desk@daily.example.com')"]


def test_sitemap_index():
    result = feed("sitemap-index.xml", "https://daily.example.com/sitemap.xml")
    assert (result.kind, result.entries) == ("sitemapindex", [])
    assert result.sitemaps == [
        "https://daily.example.com/sitemap-news.xml",
        "https://daily.example.com/sitemap-2024-05.xml.gz",
    ]


def test_gzipped_sitemap_equals_plain():
    assert (FEEDS / "news-sitemap.xml.gz").read_bytes()[:2] == b"\x1f\x8b"
    assert feed("news-sitemap.xml.gz", "https://a.example/s").entries == feed("news-sitemap.xml").entries


def test_gzip_bomb_is_refused():
    bomb = gzip.compress(b"<urlset>" + b" " * 70_000_000, compresslevel=9)
    assert len(bomb) < 100_000
    with pytest.raises(SourceError, match="inflates beyond"):
        parse_feed(bomb, "https://a.example/s.xml.gz")


# -- broken input -----------------------------------------------------------------------------------------


def test_malformed_feed_recovered_with_warning():
    result = feed("malformed-recoverable.xml")
    assert result.title == "Broken & Proud"
    assert result.entries[0].link == "https://broken.example.com/bread"
    assert result.entries[0].title == "Bread & butter prices rise"
    assert any("not well-formed" in w for w in result.warnings)


@pytest.mark.parametrize(
    "body",
    [
        (FEEDS / "hopeless.txt").read_bytes(),
        b"",
        b"   \n",
        b"\x00\x01\x02 binary \xff\xfe junk",
        b"<!doctype html><html><head><title>A page</title></head><body>Hi</body></html>",
        b"<note><to>nobody</to></note>",
    ],
)
def test_hopeless_bodies_raise_one_line_source_error(body: bytes):
    with pytest.raises(SourceError) as caught:
        parse_feed(body, "https://feeds.example.com/broken")
    assert caught.value.url == "https://feeds.example.com/broken"
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith("https://feeds.example.com/broken: ")


def test_broken_xml_without_entries_is_an_error_but_a_valid_empty_feed_is_not():
    with pytest.raises(SourceError, match="not a feed"):
        parse_feed(b"<rss><channel><title>x</ti", "https://feeds.example.com/cut")
    empty = parse_feed(b'<rss version="2.0"><channel><title>Quiet</title></channel></rss>', "https://a.example/f")
    assert (empty.title, empty.entries, empty.warnings) == ("Quiet", [], [])


def test_body_naming_a_local_file_is_not_opened():
    # Given bytes or str, feedparser itself would open a file (or fetch a URL) of that name.
    with pytest.raises(SourceError):
        parse_feed(str(FEEDS / "rss20.xml").encode(), "https://feeds.example.com/x")


@pytest.mark.parametrize(
    ("name", "title", "item_title"),
    [
        ("cp1252-declared-utf8.xml", "Café “news”", "Crème brûlée – naïve"),
        ("latin1-declared.xml", "Grüße aus Köln", "Straßenbahn fährt wieder"),
    ],
)
def test_declared_charsets_right_or_wrong(name: str, title: str, item_title: str):
    result = feed(name)
    assert result.title == title
    assert result.entries[0].title == item_title


def test_charset_from_content_type_header():
    body = '<rss version="2.0"><channel><title>Żółw</title></channel></rss>'.encode("iso-8859-2")
    assert parse_feed(body, "https://a.example/f", "application/rss+xml; charset=iso-8859-2").title == "Żółw"


# -- entity expansion -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["billion-laughs.xml", "billion-laughs-oneline.xml"])
def test_billion_laughs_does_not_expand(name: str):
    result = feed(name)
    [entry] = result.entries
    assert entry.link.startswith("https://laughs.example.com/")
    assert "lol" * 10 not in (entry.summary_html or "") and "a" * 100 not in (entry.summary_html or "")
    assert any("entity declarations ignored" in w for w in result.warnings)


def test_quadratic_blowup_is_defused():
    value = "x" * 5_000
    refs = "&big;" * 5_000  # 25 million characters if expanded
    body = (
        f'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY big "{value}">\n]>\n<rss version="2.0"><channel>'
        f"<item><link>https://q.example.com/1</link><description>{refs}</description></item></channel></rss>"
    ).encode()
    result = parse_feed(body, "https://q.example.com/feed")
    assert len(result.entries[0].summary_html) < 100_000
    assert any("entity declarations ignored" in w for w in result.warnings)


def test_sitemap_entities_are_not_expanded():
    doctype = (FEEDS / "billion-laughs.xml").read_text().split("<rss")[0]
    laughs = doctype.replace("DOCTYPE rss", "DOCTYPE urlset")
    body = f"{laughs}<urlset><url><loc>https://s.example.com/&lol9;</loc></url></urlset>".encode()
    result = parse_feed(body, "https://s.example.com/sitemap.xml")
    assert len(result.entries[0].link) < 100


def test_small_internal_entities_still_work():
    body = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
  <!ENTITY org "Example Org">
]>
<rss version="2.0"><channel><title>News from &org;</title></channel></rss>"""
    result = parse_feed(body, "https://a.example/f")
    assert (result.title, result.warnings) == ("News from Example Org", [])


def test_external_entities_are_not_resolved():
    result = feed("external-entity.xml")
    entry = result.entries[0]
    assert entry.title == "Leak &secret;"
    assert Path("/etc/hostname").read_text().strip() not in (entry.title + (entry.summary_html or ""))


# -- sniffing ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content_type", "expected"),
    [
        ("rss20.xml", "text/html", True),
        ("rss10.rdf", None, True),
        ("atom10.xml", "application/xml", True),
        ("jsonfeed10.json", "application/json", True),  # escaped slashes in "version"
        ("jsonfeed11.json", None, True),
        ("news-sitemap.xml.gz", "application/octet-stream", True),
        ("sitemap-index.xml", "text/xml", True),
        ("hopeless.txt", "text/plain", False),
    ],
)
def test_looks_like_feed(name: str, content_type: str | None, expected: bool):
    assert looks_like_feed((FEEDS / name).read_bytes(), content_type) is expected


def test_looks_like_feed_html_and_declared_types():
    page = (PAGES / "canonical.html").read_bytes()
    assert looks_like_feed(page, "text/html") is False
    assert looks_like_feed(b'{"name": "not a feed"}', "application/json") is False
    assert looks_like_feed(b"", "application/atom+xml; charset=utf-8") is True


# -- OPML -------------------------------------------------------------------------------------------------


def test_parse_opml_nested_outlines():
    assert parse_opml((DATA / "opml" / "subscriptions.opml").read_bytes()) == [
        ("https://gazette.example.com/feed.xml", "Harbour Gazette"),
        ("https://atom.example.com/news/feed.atom", "Le Fil"),
        ("https://tides.example.com/feed.json", "Tide Tables"),
    ]


def test_opml_round_trip():
    sources = [
        Source(url="https://gazette.example.com/feed.xml", title="Harbour & Gazette <1>"),
        Source(url="https://daily.example.com/sitemap.xml", kind=SourceKind.SITEMAP),
    ]
    text = write_opml(sources, title="Mine")
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">')
    assert "<title>Mine</title>" in text
    assert parse_opml(text.encode()) == [
        ("https://gazette.example.com/feed.xml", "Harbour & Gazette <1>"),
        ("https://daily.example.com/sitemap.xml", "https://daily.example.com/sitemap.xml"),
    ]


def test_parse_opml_rejects_other_documents():
    with pytest.raises(SourceError, match="not an OPML document"):
        parse_opml((FEEDS / "rss20.xml").read_bytes())


def test_is_opml(tmp_path: Path):
    assert is_opml(DATA / "opml" / "subscriptions.opml")
    renamed = tmp_path / "export.xml"
    shutil.copy(DATA / "opml" / "subscriptions.opml", renamed)
    assert is_opml(renamed)
    assert not is_opml(FEEDS / "rss20.xml")
    assert list(read_path(renamed, max_bytes=MAX_BYTES)) == []  # expanded by the caller, not read as an item


# -- HTML files -------------------------------------------------------------------------------------------


def only(path: Path) -> Page | Feed | LocalFailure:
    [item] = list(read_path(path, max_bytes=MAX_BYTES))
    return item


def test_html_file_url_from_canonical():
    page = only(PAGES / "canonical.html")
    assert isinstance(page, Page)
    assert page.url == "https://news.example.com/2024/05/bridge-reopens"
    assert page.body == (PAGES / "canonical.html").read_bytes()
    assert page.fetched_at == datetime.fromtimestamp(os.stat(PAGES / "canonical.html").st_mtime, UTC)
    assert (page.content_type, page.charset) == ("text/html", None)


def test_html_file_url_from_og_url():
    page = only(PAGES / "og-only.htm")
    assert page.url == "https://local.example.org/council/cafe-vote"
    assert b"caf\xe9" in page.body  # bytes untouched: decoding is the extractor's job


def test_html_file_url_falls_back_to_file_uri():
    # Its canonical link is relative, which cannot be resolved against a file path.
    page = only(PAGES / "plain.xhtml")
    assert page.url == (PAGES / "plain.xhtml").resolve().as_uri()


def test_declared_url_resolves_relative_canonical_against_page_url():
    og = b'<meta property="og:url" content="https://s.example/a/b"><link rel="canonical" href="c">'
    assert declared_url(og) == "https://s.example/a/c"
    base = b'<html><head><base href="https://t.example/x/"><link rel="Canonical" href="/y"></head></html>'
    assert declared_url(base) == "https://t.example/y"
    assert declared_url(b"") is None


def test_directory_walk_is_sorted_recursive_and_skips_hidden():
    items = list(read_path(PAGES, max_bytes=MAX_BYTES))
    summary = [(type(i).__name__, getattr(i, "url", None) or getattr(i, "origin", None)) for i in items]
    assert summary == [
        ("Page", "https://news.example.com/2024/05/bridge-reopens"),
        ("Page", "https://blog.example.net/sniffed"),  # nested/deeper/sniffed.txt: HTML by content
        ("LocalFailure", str(PAGES / "nested" / "notes.txt")),
        ("Feed", (PAGES / "nested" / "updates.rss").resolve().as_uri()),
        ("Page", "https://local.example.org/council/cafe-vote"),
        ("Page", (PAGES / "plain.xhtml").resolve().as_uri()),
    ]
    assert items[2].reason == "not an HTML page, feed, sitemap or WARC file"
    assert items[3].entries[0].link == "https://local.example.org/council/cafe-vote"


def test_feed_file_and_broken_feed_file(tmp_path: Path):
    good = only(FEEDS / "atom10.xml")
    assert isinstance(good, Feed)
    assert good.url == (FEEDS / "atom10.xml").resolve().as_uri()
    broken = tmp_path / "broken.xml"
    broken.write_bytes(b"<<< not xml at all")
    failure = only(broken)
    assert isinstance(failure, LocalFailure)
    assert failure.origin == str(broken)
    assert failure.reason.startswith("not a feed")


def test_missing_path_is_a_failure(tmp_path: Path):
    assert list(read_path(tmp_path / "nope.html", max_bytes=MAX_BYTES)) == [
        LocalFailure(str(tmp_path / "nope.html"), "no such file or directory")
    ]


# -- WARC -------------------------------------------------------------------------------------------------


def test_warc_records_mapping():
    items = list(read_path(WARC, max_bytes=MAX_BYTES))
    assert [type(i).__name__ for i in items] == ["Page", "Feed", "Page", "Page"]
    ferry, feed_item, second, zipped = items
    assert ferry.url == "https://port.example.com/ferry"
    assert ferry.body.startswith(b"<html><head><title>Ferry timetable changes")
    assert (ferry.content_type, ferry.charset) == ("text/html", "iso-8859-1")
    assert ferry.fetched_at == datetime(2024, 5, 14, 8, 30, tzinfo=UTC)
    assert feed_item.url == "https://port.example.com/feed.xml"
    assert [e.link for e in feed_item.entries] == ["https://port.example.com/ferry"]
    assert second.content_type == "application/xhtml+xml"
    assert zipped.body == ferry.body  # Content-Encoding: gzip undone


@pytest.mark.parametrize("keep", [0.35, 0.6, 0.9])
def test_truncated_warc_yields_good_records_then_failure(tmp_path: Path, keep: float):
    whole = WARC.read_bytes()
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(whole[: int(len(whole) * keep)])
    items = list(read_path(cut, max_bytes=MAX_BYTES))
    *good, last = items
    assert isinstance(last, LocalFailure)
    assert last.origin == str(cut)
    assert "WARC" in last.reason
    expected = [i.url for i in read_path(WARC, max_bytes=MAX_BYTES)][: len(good)]
    assert [i.url for i in good] == expected
    assert all(not isinstance(i, LocalFailure) for i in good)


def test_truncated_uncompressed_warc(tmp_path: Path):
    whole = gzip.decompress(WARC.read_bytes())
    cut = tmp_path / "cut.warc"
    cut.write_bytes(whole[: len(whole) - 200])
    items = list(read_path(cut, max_bytes=MAX_BYTES))
    assert [type(i).__name__ for i in items] == ["Page", "Feed", "Page", "LocalFailure"]


@pytest.mark.parametrize("content", [b"", b"this is not a WARC file\n" * 3, b"\x1f\x8b\x08garbage"])
def test_unreadable_warc_is_one_failure(tmp_path: Path, content: bytes):
    bad = tmp_path / "bad.warc.gz"
    bad.write_bytes(content)
    [failure] = list(read_path(bad, max_bytes=MAX_BYTES))
    assert isinstance(failure, LocalFailure)
    assert failure.origin == str(bad)


# -- the size cap -----------------------------------------------------------------------------------------


def _warc(path: Path, records: list[tuple[str, bytes]], *, encoding: str | None = None) -> None:
    with path.open("wb") as out:
        writer = WARCWriter(out, gzip=True)
        for uri, body in records:
            headers = [("Content-Type", "text/html")]
            if encoding:
                headers.append(("Content-Encoding", encoding))
            writer.write_record(
                writer.create_warc_record(
                    uri,
                    "response",
                    payload=BytesIO(body),
                    length=len(body),
                    http_headers=StatusAndHeaders("200 OK", headers, protocol="HTTP/1.1"),
                )
            )


def _page_of(size: int) -> bytes:
    """An HTML page of exactly `size` bytes."""
    head = b"<!doctype html><html><body><p>"
    tail = b"</p></body></html>"
    return head + b"x" * (size - len(head) - len(tail)) + tail


def test_html_file_over_the_size_cap_is_one_failure_and_the_others_still_read(tmp_path: Path):
    cap = 4096
    (tmp_path / "a-huge.html").write_bytes(_page_of(cap + 1))
    (tmp_path / "b-fits.html").write_bytes(_page_of(cap))
    (tmp_path / "c-huge-sniffed.txt").write_bytes(_page_of(10 * cap))
    items = list(read_path(tmp_path, max_bytes=cap))
    assert [type(i).__name__ for i in items] == ["LocalFailure", "Page", "LocalFailure"]
    assert items[0].origin == str(tmp_path / "a-huge.html")
    assert items[0].reason == f"larger than the {cap}-byte limit (LIVEDESK_MAX_BYTES)"
    assert items[1].body == _page_of(cap)
    assert items[2].origin == str(tmp_path / "c-huge-sniffed.txt")


def test_warc_record_over_the_size_cap_is_one_failure_and_the_other_records_still_read(tmp_path: Path):
    cap = 4096
    warc = tmp_path / "crawl.warc.gz"
    _warc(
        warc,
        [("https://a.example/huge", _page_of(cap + 1)), ("https://a.example/fits", _page_of(cap))],
    )
    huge, fits = read_path(warc, max_bytes=cap)
    assert huge == LocalFailure("https://a.example/huge", f"larger than the {cap}-byte limit (LIVEDESK_MAX_BYTES)")
    assert isinstance(fits, Page) and fits.url == "https://a.example/fits" and fits.body == _page_of(cap)


@pytest.mark.parametrize("encoding", ["gzip", "br"])
def test_warc_record_inflating_beyond_the_size_cap_is_refused(tmp_path: Path, encoding: str):
    cap = 4096
    compress = {"gzip": gzip.compress, "br": brotli.compress}[encoding]
    warc = tmp_path / "bomb.warc.gz"
    _warc(warc, [("https://a.example/bomb", compress(_page_of(1000 * cap)))], encoding=encoding)
    [bomb] = read_path(warc, max_bytes=cap)
    assert bomb == LocalFailure("https://a.example/bomb", f"{encoding} body inflates beyond {cap} bytes")


def test_warc_record_with_stacked_encodings_is_refused(tmp_path: Path):
    warc = tmp_path / "stacked.warc.gz"
    _warc(warc, [("https://a.example/twice", gzip.compress(gzip.compress(b"<p>x</p>")))], encoding="gzip, gzip")
    [twice] = read_path(warc, max_bytes=MAX_BYTES)
    assert twice.origin == "https://a.example/twice"
    assert "stacked Content-Encoding 'gzip, gzip' refused" in twice.reason
