"""One way to make articles in tests: keyed and hashed by the real functions, as extraction keys and hashes them."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from typing import Any

from livedesk.models import Article
from livedesk.pipeline.extract import content_hash
from livedesk.urls import article_identity, canonicalize_url, registrable_domain, url_hash

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def make_article(
    url: str = "https://news.example/1",
    text: str = "First paragraph.\n\nSecond paragraph.",
    *,
    canonical: str | None = None,
    title: str | None = None,
    html: str | None = None,
    first_seen_at: datetime = T0,
    **fields: Any,
) -> Article:
    """An article at `url` with `text` (paragraphs split by a blank line); `canonical` is its declared canonical
    link (default: the URL itself), `fields` any other Article field."""
    canonical_url = canonicalize_url(canonical or url)
    return Article(
        url=url,
        canonical_url=canonical_url,
        url_hash=url_hash(article_identity(url, canonical_url)),
        site=registrable_domain(url),
        title=title or text.split(".")[0],
        text=text,
        html=html if html is not None else "".join(f"<p>{escape(p)}</p>" for p in text.split("\n\n")),
        content_hash=content_hash(text),
        first_seen_at=first_seen_at,
        **fields,
    )
