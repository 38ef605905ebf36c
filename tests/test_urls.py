"""The one URL check of sources, OPML imports and ingest targets."""

from __future__ import annotations

import pytest

from livedesk.urls import validate_source_url


@pytest.mark.parametrize(
    ("url", "normalised"),
    [
        ("https://news.example/feed.xml", "https://news.example/feed.xml"),
        ("  HTTP://News.Example:8080/Feed.xml?a=1#top ", "http://news.example:8080/Feed.xml?a=1"),
        ("https://news.example", "https://news.example/"),
        ("http://[::1]:8000/rss", "http://[::1]:8000/rss"),
        ("https://nachrichten.bücher.example/rss", "https://nachrichten.bücher.example/rss"),
    ],
)
def test_usable_urls_come_back_normalised(url: str, normalised: str) -> None:
    assert validate_source_url(url) == normalised


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("", "empty"),
        ("http://", "no host"),
        ("https:///feed.xml", "no host"),
        ("http://:80/feed.xml", "no host"),
        ("news.example/feed.xml", "http(s)"),
        ("javascript:alert(1)", "http(s)"),
        ("http://news.example/a feed.xml", "space"),
        ("http://news.example/a\tfeed.xml", "space"),
        ("http://news.example:http/", "port"),
        ("http://news.example:70000/", "port"),
        (f"http://{'a' * 64}.example/", "host"),
        ("https://news.example/" + "a" * 3000, "longer than 2048"),
        ("https://user:secret@news.example/feed.xml", "credentials"),
    ],
)
def test_unusable_urls_are_refused_with_a_one_line_reason(url: str, reason: str) -> None:
    with pytest.raises(ValueError, match=r"\A[^\n]*\Z") as refused:
        validate_source_url(url)
    assert reason in str(refused.value)
