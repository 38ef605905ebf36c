"""Syndication tracing on real SQLite files and the real PostgreSQL server."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from livedesk.models import Article, StoredArticle, SyndicationMember, UpsertOutcome
from livedesk.pipeline.extract import content_hash
from livedesk.pipeline.syndication import (
    MAX_SHINGLES,
    SHINGLE_WORDS,
    Evidence,
    choose_original,
    containment,
    group_of,
    shingle_sequence,
    shingles,
    trace,
)
from livedesk.store import Store
from livedesk.store.syndication import syndication_bands
from tests.factories import make_article

DATA = Path(__file__).parent / "data" / "syndication"
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def paragraphs(name: str) -> list[str]:
    return (DATA / name).read_text(encoding="utf-8").strip().split("\n\n")


def make(
    url: str,
    text: str,
    *,
    published: datetime | None = T0,
    seen: datetime = T0,
    attributed_to: str | None = None,
    canonical: str | None = None,
) -> Article:
    return make_article(
        url,
        text,
        canonical=canonical,
        html="",
        first_seen_at=seen,
        published_at=published,
        attributed_to=attributed_to,
    )


def ingest(store: Store, article: Article) -> StoredArticle:
    assert store.upsert_article(article).outcome in (UpsertOutcome.NEW, UpsertOutcome.UPDATED)
    stored = store.get_article(article.url_hash)
    assert stored is not None
    trace(store, stored)
    return stored


def original_of(store: Store, stored: StoredArticle) -> int:
    return group_of(store, stored.id).original.id


@pytest.fixture
def report() -> str:
    """The twelve-paragraph original report."""
    return "\n\n".join(paragraphs("dam-report.txt"))


def test_exact_duplicate_by_content_hash(store: Store, report: str) -> None:
    original = ingest(store, make("https://www.wire.example/dam", report))
    copy = ingest(store, make("https://www.aggregator.example/p/1", report, published=T0 + timedelta(hours=1)))
    group = group_of(store, copy.id)
    assert [m.id for m in group.members] == [original.id, copy.id]
    assert group.evidence is Evidence.PUBLISHED
    assert store.get_article(copy.article.url_hash).syndicated_from == "https://www.wire.example/dam"  # type: ignore[union-attr]
    assert store.get_article(original.article.url_hash).syndicated_from is None  # type: ignore[union-attr]


def test_near_duplicate_with_typos(store: Store, report: str) -> None:
    original = ingest(store, make("https://www.wire.example/dam", report))
    typos = report.replace("engineers", "enginers").replace("spillway", "spilway").replace("residents", "residnets")
    copy = ingest(store, make("https://www.aggregator.example/p/2", typos, published=T0 + timedelta(hours=2)))
    assert original_of(store, copy) == original.id


def test_truncated_copy_of_three_of_twelve_paragraphs(store: Store, report: str) -> None:
    original = ingest(store, make("https://www.wire.example/dam", report))
    first_three = "\n\n".join(report.split("\n\n")[:3])
    copy = ingest(store, make("https://www.aggregator.example/p/3", first_three, published=T0 + timedelta(hours=1)))
    assert len(report.split("\n\n")) == 12
    assert original_of(store, copy) == original.id


def test_copy_before_original_is_regrouped_by_attribution(store: Store, report: str) -> None:
    # The copy arrives first, credits the wire, and even claims an earlier publication time.
    copy = ingest(
        store,
        make(
            "https://www.aggregator.example/p/4",
            report,
            published=T0 - timedelta(hours=1),
            attributed_to="wire.example",
        ),
    )
    assert group_of(store, copy.id).copies == ()
    original = ingest(store, make("https://www.wire.example/dam", report, seen=T0 + timedelta(hours=3)))
    group = group_of(store, copy.id)
    assert group.original.id == original.id
    assert group.evidence is Evidence.ATTRIBUTION
    assert store.get_article(copy.article.url_hash).syndicated_from == "https://www.wire.example/dam"  # type: ignore[union-attr]


def test_unattributed_copy_earliest_published_wins(store: Store, report: str) -> None:
    copy = ingest(store, make("https://www.aggregator.example/p/5", report, published=T0 + timedelta(hours=5)))
    original = ingest(store, make("https://www.wire.example/dam", report, seen=T0 + timedelta(days=1)))
    group = group_of(store, copy.id)
    assert (group.original.id, group.evidence) == (original.id, Evidence.PUBLISHED)


def test_cross_site_canonical_is_evidence(store: Store, report: str) -> None:
    # Same publication time, no attribution: only the copy's canonical link tells which is the original.
    original_url = "https://www.wire.example/dam"
    copy = ingest(store, make("https://www.aggregator.example/p/6", report, canonical=original_url))
    original = ingest(store, make(original_url, report, seen=T0 + timedelta(hours=1)))
    group = group_of(store, copy.id)
    assert (group.original.id, group.evidence) == (original.id, Evidence.CANONICAL)


def test_different_reports_sharing_a_quote_stay_apart(store: Store) -> None:
    first = ingest(store, make("https://www.wire.example/dam", "\n\n".join(paragraphs("dam-report.txt")[:6])))
    second = ingest(store, make("https://www.herald.example/dam", "\n\n".join(paragraphs("dam-other-report.txt"))))
    quote = "the spillway gates will stay open until the water is back below the warning mark"
    assert quote in first.article.text.lower() and quote in second.article.text.lower()
    assert group_of(store, second.id).copies == ()
    assert group_of(store, first.id).copies == ()


def test_restart_keeps_the_lsh_index(database_url: str, report: str) -> None:
    with Store.open(database_url) as store:
        original = ingest(store, make("https://www.wire.example/dam", report))
    with Store.open(database_url) as reopened:
        with reopened._engine.connect() as connection:
            count = connection.execute(sa.select(sa.func.count()).select_from(syndication_bands)).scalar_one()
        assert count > 0
        lead = "\n\n".join(report.split("\n\n")[:4])
        copy = ingest(reopened, make("https://www.aggregator.example/p/7", lead, published=T0 + timedelta(hours=1)))
        assert original_of(reopened, copy) == original.id


def test_trace_is_idempotent(store: Store, report: str) -> None:
    original = ingest(store, make("https://www.wire.example/dam", report))
    copy = ingest(store, make("https://www.aggregator.example/p/8", report, published=T0 + timedelta(hours=1)))
    again = trace(store, copy)
    assert again.changed_ids == ()
    assert (again.original_id, set(again.member_ids)) == (original.id, {original.id, copy.id})
    assert trace(store, original).changed_ids == ()


def test_updated_text_leaves_the_group(store: Store, report: str) -> None:
    ingest(store, make("https://www.wire.example/dam", report))
    copy = make("https://www.aggregator.example/p/9", report, published=T0 + timedelta(hours=1))
    ingest(store, copy)
    other = "\n\n".join(paragraphs("dam-other-report.txt"))
    updated = ingest(store, replace(copy, text=other, content_hash=content_hash(other)))
    assert group_of(store, updated.id).copies == ()
    assert store.get_article(copy.url_hash).syndicated_from is None  # type: ignore[union-attr]


def test_group_credit_line(store: Store, report: str) -> None:
    ingest(store, make("https://www.wire.example/dam", report))
    later = T0 + timedelta(hours=1)
    ingest(store, make("https://www.aggregator.example/p/10", report, published=later, seen=later))
    copy = ingest(store, make("https://news.portal.example/x", report, published=later, seen=later + timedelta(1)))
    line = group_of(store, copy.id).credit_line
    assert line == "first reported by wire.example, also carried by aggregator.example, portal.example"


# pure transforms


def member(n: int, site: str, **changes: object) -> SyndicationMember:
    base = SyndicationMember(
        id=n,
        url=f"https://{site}/{n}",
        canonical_url=f"https://{site}/{n}",
        site=site,
        attributed_to=None,
        published_at=T0 + timedelta(hours=n),
        first_seen_at=T0,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_attribution_chains_lead_to_the_first_outlet() -> None:
    wire = member(3, "www.wire.example")
    paper = member(1, "www.paper.example", attributed_to="www.wire.example")
    portal = member(2, "portal.example", attributed_to="paper.example")
    assert choose_original([paper, portal, wire]) == (wire, Evidence.ATTRIBUTION)


def test_attribution_to_an_outlet_outside_the_group_is_ignored() -> None:
    first = member(1, "paper.example", attributed_to="absent.example")
    second = member(2, "portal.example")
    assert choose_original([second, first]) == (first, Evidence.PUBLISHED)


def test_first_seen_decides_without_dates() -> None:
    first = member(1, "paper.example", published_at=None, first_seen_at=T0 + timedelta(1))
    second = member(2, "portal.example", published_at=None)
    assert choose_original([first, second]) == (second, Evidence.FIRST_SEEN)


def test_containment_is_relative_to_the_smaller_text(report: str) -> None:
    whole, lead = shingles(report), shingles("\n\n".join(report.split("\n\n")[:3]))
    assert containment(lead, whole) == containment(whole, lead) == 1.0
    assert containment(set(), whole) == 0.0


def test_a_huge_text_is_compared_by_its_first_shingles_only() -> None:
    # A page of text of tens of megabytes must not cost gigabytes of hashes (nor a quadratic pass): the comparison
    # keeps the start of the text, where a copy and its original agree.
    one_paragraph = " ".join(f"word{n}" for n in range(3 * MAX_SHINGLES))
    sequence = shingle_sequence(one_paragraph)
    assert len(sequence) == MAX_SHINGLES
    assert sequence == shingle_sequence(" ".join(one_paragraph.split()[: MAX_SHINGLES + SHINGLE_WORDS - 1]))
    assert len(shingle_sequence("\n\n".join(["a b c"] * (2 * MAX_SHINGLES)))) == MAX_SHINGLES
