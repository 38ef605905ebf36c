"""The demo corpus as data: fictional outlets, stories and articles, with ground truth for benchmarks.

Files under ``corpus/``:

* ``outlets.json`` – the outlets, their feed format and URL pattern.
* ``stories.json`` – the developing stories (key and title).
* ``articles/<outlet-domain>/<slug>.txt`` – one article: ``key: value`` header lines, a ``---`` line,
  then the paragraphs separated by blank lines.

An original carries its own text. A copy (``copy_of: <slug>``) carries no text of its own: its paragraphs
are derived from the original (``keep`` paragraphs, ``edit: old => new`` replacements), so the corpus
never holds the same prose twice and a copy always matches the ground truth of what it republishes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable

from livedesk.text import split_sentences

# A demo run dates the corpus relative to when it first ran, to the minute (the corpus's own times are whole
# minutes).
DATING_STEP = timedelta(minutes=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

CLAIM_STATUSES = frozenset({"confirmed", "unconfirmed", "denied", "alleged", "disputed"})
FEED_FORMATS = frozenset({"rss", "atom", "json", "sitemap"})


@dataclass(frozen=True)
class DemoOutlet:
    domain: str  # the outlet's own (fictional) domain, e.g. "meridian-wire.example"
    name: str
    kind: str  # "newspaper", "wire" or "aggregator"
    feed_format: str  # one of FEED_FORMATS
    feed_path: str
    url_pattern: str  # article path, with {yyyy} {mm} {dd} {slug}
    language: str
    tagline: str
    # Query appended to article links in the feed (tracking parameters): the same page under a second URL.
    feed_link_query: str = ""

    @property
    def is_aggregator(self) -> bool:
        return self.kind == "aggregator"


@dataclass(frozen=True)
class DemoStory:
    key: str
    title: str


@dataclass(frozen=True)
class DemoClaim:
    """A claim an article attributes to someone; ``attributed_to`` and ``cue`` occur verbatim in its text."""

    attributed_to: str
    cue: str
    status: str
    text: str


@dataclass(frozen=True)
class DemoArticle:
    """One article as published by one outlet, with the ground truth later stages are measured against."""

    slug: str  # unique across the corpus
    outlet: str  # domain of the outlet that publishes this page
    story: str  # key of the DemoStory it belongs to
    title: str
    author: str | None  # None where the page shows no author (aggregators)
    published: datetime  # timezone-aware, UTC
    section: str
    summary: str
    paragraphs: tuple[str, ...]  # the clean text an extractor should return
    path: str  # path of the page on its outlet's site
    language: str = "en"  # of the text, whatever the page chrome's language (an Indonesian aggregator's is "id")
    is_copy: bool = False
    original_slug: str | None = None  # the original a copy republishes
    attributed_to: str | None = None  # outlet domain named on the page ("Sumber: www.<domain>"); None if unattributed
    attribution_label: str | None = None  # "Sumber", "Source" or "Via"
    truncated: bool = False  # a copy that stops after a few of the original's paragraphs
    canonical_to_original: bool = False  # the copy's <link rel=canonical> points at the original
    aliases: tuple[str, ...] = ()  # further paths serving byte-identical pages
    claims: tuple[DemoClaim, ...] = ()  # ground-truth claims (originals only)

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)


def _root() -> Traversable:
    return files("livedesk.demo") / "corpus"


@cache
def _outlets() -> tuple[DemoOutlet, ...]:
    rows = json.loads((_root() / "outlets.json").read_text(encoding="utf-8"))
    found = tuple(DemoOutlet(**row) for row in rows)
    for outlet in found:
        if outlet.feed_format not in FEED_FORMATS:
            raise ValueError(f"{outlet.domain}: unknown feed format {outlet.feed_format!r}")
    return found


@cache
def _stories() -> tuple[DemoStory, ...]:
    rows = json.loads((_root() / "stories.json").read_text(encoding="utf-8"))
    return tuple(DemoStory(**row) for row in rows)


def outlets() -> list[DemoOutlet]:
    return list(_outlets())


def stories() -> list[DemoStory]:
    return list(_stories())


def corpus() -> list[DemoArticle]:
    """Every article, oldest first."""
    return list(_corpus())


def shift_to(start: datetime) -> timedelta:
    """How far to move the corpus's times for a demo started at `start`: its newest article then dates from
    `start`'s minute, its other articles as far before that as they are in the corpus."""
    anchor = start - (start - _EPOCH) % DATING_STEP
    return anchor - _corpus()[-1].published


def dated(articles: list[DemoArticle], shift: timedelta) -> list[DemoArticle]:
    """The articles published `shift` later, at the paths their outlets give that date (a page's date in its URL
    agrees with the page)."""
    if not shift:
        return articles
    by_domain = {o.domain: o for o in _outlets()}
    return [
        replace(a, published=a.published + shift, path=_path(by_domain[a.outlet], a.slug, a.published + shift))
        for a in articles
    ]


def parse_article_file(text: str) -> tuple[dict[str, list[str]], list[str]]:
    """Split a corpus file into its header (each key → list of values, keys may repeat) and paragraphs."""
    head, sep, body = text.partition("\n---\n")
    if not sep:
        raise ValueError("missing '---' line between header and body")
    header: dict[str, list[str]] = {}
    for line in head.strip().splitlines():
        key, colon, value = line.partition(":")
        if not colon:
            raise ValueError(f"header line without ':': {line!r}")
        header.setdefault(key.strip(), []).append(value.strip())
    paragraphs = [" ".join(p.split()) for p in body.split("\n\n") if p.strip()]
    return header, paragraphs


def _one(header: dict[str, list[str]], key: str, default: str | None = None) -> str | None:
    values = header.get(key)
    return values[-1] if values else default


def _parse_claim(raw: str) -> DemoClaim:
    attributed_to, cue, status, text = (part.strip() for part in raw.split("|", 3))
    if status not in CLAIM_STATUSES:
        raise ValueError(f"unknown claim status {status!r}")
    return DemoClaim(attributed_to=attributed_to, cue=cue, status=status, text=text)


def _apply_edits(paragraphs: list[str], edits: list[str]) -> tuple[str, ...]:
    result = list(paragraphs)
    for edit in edits:
        old, arrow, new = edit.partition("=>")
        old, new = old.strip(), new.strip()
        if not arrow or not any(old in p for p in result):
            raise ValueError(f"edit {edit!r} matches nothing")
        result = [p.replace(old, new) for p in result]
    return tuple(result)


def _path(outlet: DemoOutlet, slug: str, published: datetime) -> str:
    return outlet.url_pattern.format(
        yyyy=f"{published.year:04d}", mm=f"{published.month:02d}", dd=f"{published.day:02d}", slug=slug
    )


def _files() -> Iterator[tuple[str, str, str]]:
    """(outlet domain, slug, file text) for every article file."""
    for outlet_dir in sorted((_root() / "articles").iterdir(), key=lambda t: t.name):
        for entry in sorted(outlet_dir.iterdir(), key=lambda t: t.name):
            if entry.name.endswith(".txt"):
                yield outlet_dir.name, entry.name.removesuffix(".txt"), entry.read_text(encoding="utf-8")


@cache
def _corpus() -> tuple[DemoArticle, ...]:
    by_domain = {o.domain: o for o in _outlets()}
    story_keys = {s.key for s in _stories()}
    parsed = {}
    for domain, slug, text in _files():
        if slug in parsed:
            raise ValueError(f"duplicate slug {slug!r}")
        try:
            parsed[slug] = (domain, *parse_article_file(text))
        except ValueError as exc:
            raise ValueError(f"{domain}/{slug}: {exc}") from exc

    originals: dict[str, DemoArticle] = {}
    for slug, (domain, header, paragraphs) in parsed.items():
        if "copy_of" not in header:
            originals[slug] = _original(by_domain[domain], slug, header, paragraphs)
    copies = [
        _copy(by_domain[domain], slug, header, originals)
        for slug, (domain, header, _) in parsed.items()
        if "copy_of" in header
    ]
    articles = sorted([*originals.values(), *copies], key=lambda a: (a.published, a.slug))
    for article in articles:
        if article.story not in story_keys:
            raise ValueError(f"{article.slug}: unknown story {article.story!r}")
    return tuple(articles)


def _published(header: dict[str, list[str]]) -> datetime:
    return datetime.fromisoformat(_one(header, "published") or "").astimezone(UTC)


def _original(outlet: DemoOutlet, slug: str, header: dict[str, list[str]], paragraphs: list[str]) -> DemoArticle:
    published = _published(header)
    return DemoArticle(
        slug=slug,
        outlet=outlet.domain,
        story=_one(header, "story") or "",
        title=_one(header, "title") or "",
        author=_one(header, "author"),
        published=published,
        section=_one(header, "section", "News") or "News",
        summary=_one(header, "summary") or split_sentences(paragraphs[0])[0],
        paragraphs=tuple(paragraphs),
        path=_path(outlet, slug, published),
        language=_one(header, "language", "en") or "en",
        aliases=tuple(header.get("alias", [])),
        claims=tuple(_parse_claim(raw) for raw in header.get("claim", [])),
    )


def _copy(
    outlet: DemoOutlet, slug: str, header: dict[str, list[str]], originals: dict[str, DemoArticle]
) -> DemoArticle:
    original = originals[_one(header, "copy_of") or ""]
    published = _published(header)
    if published <= original.published:
        raise ValueError(f"{slug}: a copy must be published after its original")
    keep = int(_one(header, "keep") or len(original.paragraphs))
    paragraphs = _apply_edits(list(original.paragraphs[:keep]), header.get("edit", []))
    attributed_to = _one(header, "attribution")
    return DemoArticle(
        slug=slug,
        outlet=outlet.domain,
        story=original.story,
        title=_one(header, "title") or original.title,
        author=_one(header, "author"),
        published=published,
        section=_one(header, "section", original.section) or original.section,
        summary=split_sentences(paragraphs[0])[0],
        paragraphs=paragraphs,
        path=_path(outlet, slug, published),
        language=original.language,
        is_copy=True,
        original_slug=original.slug,
        attributed_to=attributed_to,
        attribution_label=_one(header, "attribution_label", "Source") if attributed_to else None,
        truncated=keep < len(original.paragraphs),
        canonical_to_original=_one(header, "canonical") == "original",
        aliases=tuple(header.get("alias", [])),
    )
