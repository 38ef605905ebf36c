"""The editors' operations: each one transaction, announced on the bus, refusing bad requests with a reason."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from livedesk.desk import claims as desk_claims
from livedesk.desk import opml as desk_opml
from livedesk.desk import sources as desk_sources
from livedesk.desk import stories as desk_stories
from livedesk.desk import topics as desk_topics
from livedesk.desk.stories import merge_stories, split_story
from livedesk.models import NewClaim, SourceKind, StoredArticle
from livedesk.pipeline import stories
from livedesk.pipeline.enrich.claims.ledger import SameClaims
from livedesk.publish import InProcessBus, Subscription, Update
from livedesk.store import Store
from tests.web_fixtures import NOW, put

TALKS = (
    "Ceasefire talks between Korvania and Highlands Front open in Varenholm",
    "VARENHOLM – Negotiators for the Korvanian government and the Eastern Highlands Front opened ceasefire talks in "
    "Varenholm on Monday, mediated by Pellmark's foreign minister Odile Farrant. The talks aim at a 30-day truce.",
)
PROBE = (
    "Korvania prosecutors open probe into army rifle contract",
    "Prosecutors in Korvania opened an investigation on Tuesday into a 240 million crown contract for army rifles "
    "awarded to Stenhall Arms without a tender. Defence ministry officials are suspected of taking bribes.",
)
TRUCE = NewClaim("30-day truce agreed", "A 30-day truce was agreed.", "the mediator", "said", "unconfirmed")
NO_TRUCE = NewClaim("30-day truce agreed", "No 30-day truce was agreed.", "the Highlands Front", "denied", "denied")


@contextmanager
def commits(store: Store) -> Iterator[list[int]]:
    """How many transactions the store commits meanwhile (reads end in a rollback: only writes count)."""
    count = [0]

    def counted(_connection: sa.Connection) -> None:
        count[0] += 1

    engine = store._engine
    sa.event.listen(engine, "commit", counted)
    try:
        yield count
    finally:
        sa.event.remove(engine, "commit", counted)


def two_stories(store: Store) -> tuple[StoredArticle, StoredArticle]:
    """Two articles in two stories, each carrying a claim: the probe's is denied by the talks' denial."""
    talks = put(store, "talks", site="meridian.example", title=TALKS[0], text=TALKS[1], published=NOW)
    probe = put(store, "probe", site="harbor.example", title=PROBE[0], text=PROBE[1], published=NOW)
    assert talks.story_id is not None and probe.story_id is not None and talks.story_id != probe.story_id
    store.merge_claims(talks.story_id, talks.id, [NO_TRUCE], match=SameClaims)
    store.merge_claims(probe.story_id, probe.id, [TRUCE], match=SameClaims)
    return talks, probe


async def announced(subscription: Subscription, count: int) -> list[Update]:
    async with asyncio.timeout(10):
        return [await anext(subscription) for _ in range(count)]


def test_a_merge_is_one_transaction(store: Store) -> None:
    talks, probe = two_stories(store)
    keep, absorb = talks.story_id or 0, probe.story_id or 0
    with commits(store) as count:
        merge_stories(store, keep, absorb)
    assert count == [1]
    assert store.get_story(absorb) is None
    merged = store.story_claims(keep)
    # The absorbed claim joined the ledger, and the denial already there disputes it.
    assert {(e.attributed_to, e.status) for e in merged} == {
        ("the Highlands Front", "denied"),
        ("the mediator", "disputed"),
    }
    assert store.story_article_ids(keep) == sorted([talks.id, probe.id])


def test_a_split_is_one_transaction(store: Store) -> None:
    talks, probe = two_stories(store)
    keep = talks.story_id or 0
    merge_stories(store, keep, probe.story_id or 0)
    with commits(store) as count:
        new = split_story(store, keep, [probe.id])
    assert count == [1]
    assert store.story_article_ids(new) == [probe.id]
    assert [e.attributed_to for e in store.story_claims(new)] == ["the mediator"]


def test_a_refused_merge_changes_nothing(store: Store) -> None:
    talks, _probe = two_stories(store)
    keep = talks.story_id or 0
    with commits(store) as count, pytest.raises(stories.StoryNotFoundError):
        merge_stories(store, keep, keep + 1000)
    with pytest.raises(ValueError, match="each side"):
        split_story(store, keep, [talks.id])
    assert count == [0]
    assert store.story_article_ids(keep) == [talks.id]


async def test_merge_and_split_are_announced_as_story_changes(store: Store) -> None:
    talks, probe = two_stories(store)
    keep, absorb = talks.story_id or 0, probe.story_id or 0
    bus = InProcessBus()
    async with bus.subscribe() as subscription:
        await desk_stories.merge(store, bus, keep, absorb)
        assert await announced(subscription, 2) == [Update.story_changed(keep), Update.story_changed(absorb)]
        new = await desk_stories.split(store, bus, keep, [probe.id])
        assert await announced(subscription, 2) == [Update.story_changed(keep), Update.story_changed(new)]
        with pytest.raises(desk_stories.StoryNotFoundError):
            await desk_stories.merge(store, bus, keep, 999_999)
        await bus.publish(Update(article_id=talks.id, story_id=keep))
        # Nothing was announced for the refused merge: the next update is the one just published.
        assert await announced(subscription, 1) == [Update(article_id=talks.id, story_id=keep)]


async def test_a_claim_status_is_kept_with_its_editor_and_announced(store: Store) -> None:
    talks, _probe = two_stories(store)
    [denial] = store.story_claims(talks.story_id or 0)
    bus = InProcessBus()
    async with bus.subscribe() as subscription:
        with commits(store) as count:
            change = await desk_claims.set_claim_status(
                store, bus, denial.id, "confirmed", editor=" ana ", reason="Statement seen"
            )
        assert count == [1]
        assert (change.previous, change.status, change.editor) == ("denied", "confirmed", "ana")
        assert await announced(subscription, 1) == [Update.story_changed(talks.story_id or 0)]
        with pytest.raises(desk_claims.ClaimNotFoundError):
            await desk_claims.set_claim_status(store, bus, 999_999, "confirmed", editor="ana", reason="x")
        with pytest.raises(ValueError, match="reason"):
            await desk_claims.set_claim_status(store, bus, denial.id, "denied", editor="ana", reason=" ")
    assert [(c.editor, c.reason) for c in store.claim_history(denial.id)] == [("ana", "Statement seen")]


def test_an_opml_import_is_one_transaction_and_skips_unusable_urls(store: Store) -> None:
    desk_sources.add_source(store, "https://b.example/rss")
    opml = (
        b'<opml version="2.0"><body>'
        b'<outline text="A" xmlUrl="https://a.example/feed.xml"/>'
        b'<outline text="B" xmlUrl="HTTPS://B.example/rss"/>'
        b'<outline text="C" xmlUrl="https://c.example/feed.xml"/>'
        b'<outline text="bad" xmlUrl="http://"/>'
        b"</body></opml>"
    )
    with commits(store) as count:
        result = desk_opml.import_opml(store, opml)
    assert count == [1]
    assert [s.url for s in result.added] == ["https://a.example/feed.xml", "https://c.example/feed.xml"]
    assert [s.url for s in result.present] == ["https://b.example/rss"]
    assert [url for url, _reason in result.skipped] == ["http://"]


def test_sources_are_disabled_with_a_reason_and_enabled_again(store: Store) -> None:
    source, _ = desk_sources.add_source(store, "https://a.example/feed.xml", SourceKind.FEED)
    with pytest.raises(ValueError, match="reason"):
        desk_sources.disable_source(store, source.id, "  ")
    disabled = desk_sources.disable_source(store, source.id, "paywalled")
    assert (disabled.disabled, disabled.disabled_reason) == (True, "paywalled")
    enabled = desk_sources.enable_source(store, source.id)
    assert (enabled.disabled, enabled.disabled_reason, enabled.next_poll_at) == (False, None, None)
    with pytest.raises(desk_sources.SourceNotFoundError):
        desk_sources.enable_source(store, 999_999)


def test_topics_refuse_a_taken_slug_and_empty_queries(store: Store) -> None:
    topic = desk_topics.create_topic(store, "harbour", " Harbour ", keywords=" strike ")
    assert (topic.title, topic.query.keywords) == ("Harbour", "strike")
    with pytest.raises(desk_topics.TopicExistsError):
        desk_topics.create_topic(store, "harbour", "Again", keywords="pier")
    with pytest.raises(ValueError, match="slug"):
        desk_topics.create_topic(store, "Harbour News", "x", keywords="pier")
    with pytest.raises(ValueError, match="keywords, sources or stories"):
        desk_topics.create_topic(store, "empty", "Empty")
    assert [t.slug for t in desk_topics.list_topics(store)] == ["harbour"]


def test_story_changes_travel_between_processes_and_older_updates_still_parse() -> None:
    changed = Update.story_changed(7)
    assert Update.from_json(changed.to_json()) == changed
    assert Update.from_json('{"article_id":3,"story_id":7}') == Update(article_id=3, story_id=7)
    with pytest.raises(ValueError):
        Update.from_json('{"article_id":3,"story_id":7,"kind":"reload-everything"}')


def test_the_desk_imports_neither_the_web_app_nor_the_command_line() -> None:
    modules = ", ".join(
        f"livedesk.desk.{name}" for name in ("claims", "database", "export", "sources", "stories", "topics")
    )
    loaded = subprocess.run(
        [sys.executable, "-c", f"import sys, {modules}; print(' '.join(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.split()
    assert "livedesk.desk.stories" in loaded
    assert [m for m in loaded if m.startswith(("livedesk.web", "livedesk.cli"))] == []
