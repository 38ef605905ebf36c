"""Page → Article on small pages written for these tests (tests/data/extract/)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from livedesk.models import FeedEntry, Page
from livedesk.pipeline.extract import (
    ExtractError,
    article_from_entry,
    canonicalize_url,
    content_hash,
    extract,
    url_hash,
)

DATA = Path(__file__).parent / "data" / "extract"
FETCHED = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
SEED_FURNITURE = (
    "Views",
    "Read more here.",
    "Sumber",
    "No More Posts Available.",
    "No more pages to load.",
    "Share this",
    "Share on Facebook",
    "Tweet",
    "Related posts",
    "Heavy rain warning",
)


def _page(name: str, url: str = "https://www.harbourgazette.org/news/quay", **kwargs: object) -> Page:
    return Page(url=url, body=(DATA / name).read_bytes(), fetched_at=FETCHED, **kwargs)


def test_aggregator_page_like_the_seed() -> None:
    article = extract(
        _page("aggregator_live_updates.html", url="https://www.DailyStreamHub.net/live/vardar-floods?utm_campaign=x")
    )
    assert article.attributed_to == "cnn.com"
    assert article.byline is None
    for furniture in SEED_FURNITURE:
        assert furniture not in article.text
        assert furniture not in article.html
    assert article.title == "Live updates: Floods in the Vardar valley"
    assert article.text.startswith("Rescue teams worked through the night")
    assert article.text.endswith("handed out at four points.")
    assert article.text.count("\n\n") == 4
    assert article.html.count("<p>") == 5
    assert article.site == "dailystreamhub.net"
    assert article.canonical_url == "https://dailystreamhub.net/live/vardar-floods"
    assert article.url_hash == url_hash(article.canonical_url)
    assert article.content_hash == content_hash(article.text)
    assert article.published_at == datetime(2024, 3, 14, 7, 30, tzinfo=UTC)
    assert article.language == "en"
    assert article.first_seen_at == FETCHED
    assert article.from_summary is False


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        (
            "HTTPS://WWW.Example.ORG:443/a/story?utm_source=tw&utm_medium=social&id=7&fbclid=abc&gclid=9#top",
            "https://www.example.org/a/story?id=7",
        ),
        ("http://example.org/story/?utm_campaign=spring", "http://example.org/story/"),
        ("https://example.org/search?q=night+bus", "https://example.org/search?q=night+bus"),
    ],
)
def test_canonicalize_url(url: str, canonical: str) -> None:
    assert canonicalize_url(url) == canonical


def test_canonical_url_falls_back_to_the_page_url() -> None:
    article = extract(_page("bare_date.html", url="https://harbourgazette.org/news/quay?utm_source=feed#top"))
    assert article.canonical_url == "https://harbourgazette.org/news/quay"


def test_a_canonical_link_to_another_site_is_kept_but_not_used_as_identity() -> None:
    body = (
        (DATA / "bare_date.html")
        .read_bytes()
        .replace(b"<head>", b'<head><link rel="canonical" href="https://www.origin-paper.example/story/quay">', 1)
    )
    copy = extract(Page(url="https://aggregator.example/p/quay?utm_source=x", body=body, fetched_at=FETCHED))
    assert copy.canonical_url == "https://www.origin-paper.example/story/quay"
    assert copy.url_hash == url_hash("https://aggregator.example/p/quay")
    assert copy.site == "aggregator.example"


def test_content_hash_ignores_case_and_whitespace() -> None:
    assert content_hash("Night  buses\n\nrun late") == content_hash("night buses run LATE")
    assert content_hash("night buses") != content_hash("day buses")


def test_indonesian_copy_language_attribution_and_byline() -> None:
    article = extract(_page("news_id.html"))
    assert article.language == "id"  # the page claims "en"; the text is plainly Indonesian
    assert article.attributed_to == "cnn indonesia"
    assert article.byline == "Budi Santoso"
    for furniture in ("Dilihat", "Baca juga", "Baca selengkapnya", "Sumber"):
        assert furniture not in article.text
    assert article.text.startswith("Pemerintah kota mulai membagikan air bersih")


def test_title_loses_the_site_name_suffix_and_cms_author_is_dropped() -> None:
    article = extract(_page("title_suffix_no_date.html"))
    assert article.title == "Northern quay reopens after repairs"
    assert article.byline is None  # <meta name="author" content="admin">


def test_feed_entry_fills_what_the_page_lacks() -> None:
    entry = FeedEntry(
        link="https://www.harbourgazette.org/news/quay",
        title="Quay reopens",
        published_at=datetime(2024, 5, 6, 8, 15),
        author="Tom Hale",
    )
    article = extract(_page("title_suffix_no_date.html", entry=entry))
    assert article.published_at == datetime(2024, 5, 6, 8, 15, tzinfo=UTC)
    assert article.byline == "Tom Hale"
    assert article.title == "Northern quay reopens after repairs"


def test_the_outlets_own_name_from_the_page_else_from_its_feed() -> None:
    assert extract(_page("title_suffix_no_date.html")).site_name == "Harbour Gazette"  # og:site_name
    unnamed = _page("bare_date.html", url="https://www.quay-news.example/news/quay")
    assert extract(unnamed).site_name is None  # the domain says as much
    entry = FeedEntry(link=unnamed.url, site_name="Quay News")
    assert extract(_page("bare_date.html", url=unnamed.url, entry=entry)).site_name == "Quay News"
    assert (
        article_from_entry(
            FeedEntry(link=unnamed.url, summary_html="<p>The quay reopened.</p>", site_name="Quay News"),
            fetched_at=FETCHED,
        ).site_name
        == "Quay News"
    )


def test_date_from_the_page_wins_over_the_feed_date() -> None:
    other_day = FeedEntry(link="https://harbourgazette.org/q", published_at=datetime(2024, 5, 9, 10, 0, tzinfo=UTC))
    assert extract(_page("bare_date.html", entry=other_day)).published_at == datetime(2024, 5, 2, tzinfo=UTC)


def test_a_precise_time_on_the_same_day_is_preferred() -> None:
    plus_two = timezone(timedelta(hours=2))
    same_day = FeedEntry(
        link="https://harbourgazette.org/q", published_at=datetime(2024, 5, 2, 16, 45, tzinfo=plus_two)
    )
    article = extract(_page("bare_date.html", entry=same_day))
    assert article.published_at == datetime(2024, 5, 2, 14, 45, tzinfo=UTC)
    assert article.published_at.tzinfo is UTC


def test_no_date_anywhere() -> None:
    assert extract(_page("title_suffix_no_date.html")).published_at is None


@pytest.mark.parametrize("name", ["cp1252_declared_utf8.html", "cp1252_undeclared.html"])
def test_windows_1252_pages_decode(name: str) -> None:
    text = extract(_page(name)).text
    assert "small café supply boat" in text
    assert "The authority’s chief engineer" in text


def test_wrong_http_charset_is_not_trusted_over_valid_utf8() -> None:
    text = extract(_page("bare_date.html", charset="iso-8859-1")).text
    assert "small café supply boat" in text


def test_unknown_http_charset_does_not_crash() -> None:
    assert "café" in extract(_page("cp1252_declared_utf8.html", charset="x-no-such-charset")).text


def test_hostile_markup_is_sanitised() -> None:
    article = extract(_page("hostile.html"))
    for hostile in ("<script", "alert", "onerror", "onclick", "javascript:", "<iframe", "tracker"):
        assert hostile not in article.html
        assert hostile not in article.text
    assert "<p>Inspectors will return next month to check the rails" in article.html


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"", None),
        (b"   \n", "text/html"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "application/pdf"),
        (b'{"headline": "Quay reopens"}', "application/json"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", None),
    ],
)
def test_empty_or_non_html_body_raises(body: bytes, content_type: str | None) -> None:
    page = Page(url="https://harbourgazette.org/file", body=body, fetched_at=FETCHED, content_type=content_type)
    with pytest.raises(ExtractError) as raised:
        extract(page)
    assert "https://harbourgazette.org/file" in str(raised.value)
    assert "\n" not in str(raised.value)


def test_page_with_only_furniture_raises() -> None:
    with pytest.raises(ExtractError, match=r"^no article text found in https://www\.harbourgazette\.org/news/quay$"):
        extract(_page("only_furniture.html"))


def test_article_from_entry() -> None:
    entry = FeedEntry(
        link="https://www.harbourgazette.org/news/quay?utm_source=rss",
        title="Northern quay reopens",
        published_at=datetime(2024, 5, 2, 16, 45, tzinfo=timezone(timedelta(hours=2))),
        author="By Maria Keller",
        summary_html=(
            "<p>The harbour authority reopened the northern quay on Monday after a week of repairs.</p>"
            "<script>alert(1)</script><ul><li>Crane rails rebuilt</li><li>Night ferries only</li></ul>"
            "<p>Read more here.</p><p>Source: www.harbourgazette.org</p>"
        ),
    )
    article = article_from_entry(entry, fetched_at=FETCHED, source_id=4)
    assert article.from_summary is True
    assert article.source_id == 4
    assert article.text == (
        "The harbour authority reopened the northern quay on Monday after a week of repairs.\n\n"
        "- Crane rails rebuilt\n\n- Night ferries only"
    )
    assert "<ul><li>Crane rails rebuilt</li><li>Night ferries only</li></ul>" in article.html
    assert "alert" not in article.html
    assert article.attributed_to == "harbourgazette.org"
    assert article.canonical_url == "https://www.harbourgazette.org/news/quay"
    assert article.site == "harbourgazette.org"
    assert article.byline == "Maria Keller"
    assert article.title == "Northern quay reopens"
    assert article.published_at == datetime(2024, 5, 2, 14, 45, tzinfo=UTC)
    assert article.first_seen_at == FETCHED


def test_article_from_entry_without_summary_raises() -> None:
    with pytest.raises(ExtractError, match=r"https://harbourgazette\.org/q"):
        article_from_entry(FeedEntry(link="https://harbourgazette.org/q", summary_html="  "), fetched_at=FETCHED)


def test_a_blog_banner_in_h1_does_not_become_the_title() -> None:
    article = extract(_page("blog_banner_title.html", url="https://harbournotes.example/2024/03/quay-wall"))
    assert article.title == "Quay wall repairs begin after the storm"


def test_the_site_name_is_stripped_from_og_title_however_it_is_written() -> None:
    article = extract(_page("meta_offset.html"))
    assert article.title == "Late-night council vote approves the harbour budget"


def test_a_meta_time_with_an_offset_keeps_its_instant_across_midnight() -> None:
    # The page's day (14 March, local) and its instant (15 March, UTC) are the same moment, not midnight.
    article = extract(_page("meta_offset.html"))
    assert article.published_at == datetime(2024, 3, 15, 5, 30, 59, tzinfo=UTC)
    assert article.published_date_only is False


def test_a_time_only_in_the_timestamp_link_beside_the_date_header_is_used() -> None:
    article = extract(_page("blogger_timestamp.html", url="https://harbournotes.example/2024/03/ferry.html"))
    assert article.published_at == datetime(2024, 3, 14, 16, 11, tzinfo=UTC)
    assert article.published_date_only is False
    assert article.title == "Ferry timetable changes for spring"


def test_a_bare_clock_in_the_timestamp_link_is_read_on_the_date_headers_day() -> None:
    article = extract(_page("blogger_clock_only.html", url="https://harbournotes.example/2024/03/ferry.html"))
    assert article.published_at == datetime(2024, 3, 14, 17, 11, tzinfo=UTC)  # no zone given: read as UTC
    assert article.published_date_only is False


def test_a_page_that_gives_only_the_day_is_marked_date_only() -> None:
    article = extract(_page("bare_date.html"))
    assert article.published_at == datetime(2024, 5, 2, tzinfo=UTC)  # the day's start, for ordering only
    assert article.published_date_only is True


def test_a_precise_feed_time_on_the_same_day_is_not_date_only() -> None:
    morning = datetime(2024, 5, 2, 9, 15, tzinfo=UTC)
    same_day = FeedEntry(link="https://harbourgazette.org/news/quay", published_at=morning)
    article = extract(_page("bare_date.html", entry=same_day))
    assert article.published_date_only is False


def test_a_desk_byline_is_kept_as_an_organisation() -> None:
    article = extract(_page("meta_offset.html"))
    assert article.byline == "Staff and agencies"
    assert article.byline_is_organisation is True
    person = extract(_page("bare_date.html"))
    assert person.byline == "Maria Keller"
    assert person.byline_is_organisation is False


def test_content_farm_furniture_leaves_the_text() -> None:
    article = extract(_page("content_farm_copy.html"))
    for furniture in ("cookies", "Trending", "Ten harbour views", "strange", "app", "Archives", "2023", "©",
                      "All rights reserved", "February 2024"):  # fmt: skip
        assert furniture not in article.text
    assert article.text.startswith("Tugboat crews at the harbour voted")
    assert article.text.endswith("would run as usual during any strike.")
