"""The enrich stage behind the pages: entity pages, `entity=` filters on streams, search and the API, export."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from livedesk.desk.export import article_record
from livedesk.models import StoredArticle, TopicQuery
from livedesk.pipeline.enrich import enrich, enrich_many, entity_names, find_mentions
from livedesk.store import Store
from tests.test_claims import said_sentences
from tests.web_fixtures import NOW, Desk, one_story, put

DATA = Path(__file__).parent / "data" / "entities"


def enriched(store: Store, slug: str, name: str, title: str) -> StoredArticle:
    """An article through the chain, which enriches it."""
    return put(store, slug, title=title, text=(DATA / f"{name}.txt").read_text(encoding="utf-8"), published=NOW)


def entity_id(store: Store, stored: StoredArticle, name: str) -> int:
    return next(e.id for e in store.entities_of([stored.id])[stored.id] if e.name == name)


def two_stories_one_story(store: Store) -> tuple[StoredArticle, StoredArticle, int]:
    """Two articles of one story; only the first names the Wagner Group."""
    wagner = enriched(store, "wagner", "wagner", "Wagner sought rifles from Turkey")
    kursk = enriched(store, "kursk", "putin-full", "Putin meets Kursk governor")
    return wagner, kursk, one_story(store, [wagner, kursk])


async def test_entity_page_lists_names_stories_and_updates(desk: Desk) -> None:
    wagner, kursk, story = two_stories_one_story(desk.store)
    group = entity_id(desk.store, wagner, "Wagner Group")
    page = await desk.client.get(f"/entities/{group}")
    assert page.status_code == 200
    assert "Wagner Group" in page.text and "Vagner" in page.text  # name and alias
    assert f'href="/stories/{story}?entity={group}"' in page.text
    assert f'data-update-id="{wagner.id}"' in page.text
    assert f'data-update-id="{kursk.id}"' not in page.text
    assert (await desk.client.get("/entities/999999")).status_code == 404


async def test_updates_show_entity_chips_linking_to_entity_pages(desk: Desk) -> None:
    wagner, _kursk, story = two_stories_one_story(desk.store)
    page = await desk.client.get(f"/stories/{story}")
    assert f'href="/entities/{entity_id(desk.store, wagner, "Wagner Group")}"' in page.text


async def test_entity_filter_on_story_and_topic_pages(desk: Desk) -> None:
    wagner, kursk, story = two_stories_one_story(desk.store)
    group = entity_id(desk.store, wagner, "Wagner Group")
    filtered = await desk.client.get(f"/stories/{story}", params={"entity": group})
    assert f'data-update-id="{wagner.id}"' in filtered.text
    assert f'data-update-id="{kursk.id}"' not in filtered.text
    desk.store.create_topic("war", "War", TopicQuery(story_ids=(story,)))
    topic = await desk.client.get("/live/war", params={"entity": group})
    assert f'data-update-id="{wagner.id}"' in topic.text
    assert f'data-update-id="{kursk.id}"' not in topic.text


async def test_entity_filter_on_search_and_the_updates_api(desk: Desk) -> None:
    wagner, kursk, story = two_stories_one_story(desk.store)
    group = entity_id(desk.store, wagner, "Wagner Group")
    api = (await desk.client.get(f"/api/stories/{story}/updates", params={"entity": group})).json()
    assert [u["id"] for u in api["items"]] == [wagner.id]
    everything = (await desk.client.get(f"/api/stories/{story}/updates")).json()
    assert {u["id"] for u in everything["items"]} == {wagner.id, kursk.id}
    # "governor" is only in the other article; "Turkey" only in this one.
    assert (await desk.client.get("/api/search", params={"q": "governor", "entity": group})).json()["items"] == []
    hits = (await desk.client.get("/api/search", params={"q": "Turkey", "entity": group})).json()["items"]
    assert [h["id"] for h in hits] == [wagner.id]
    page = await desk.client.get("/search", params={"q": "Turkey", "entity": group})
    assert f'data-result-id="{wagner.id}"' in page.text
    entity = (await desk.client.get(f"/api/entities/{group}")).json()
    assert entity["name"] == "Wagner Group" and entity["type"] == "ORG"
    assert {"Wagner", "Vagner"} <= set(entity["aliases"]) and entity["story_ids"] == [story]
    assert (await desk.client.get("/api/entities/999999")).json()["error"]["code"]


def test_export_fills_entities_from_the_store(store: Store) -> None:
    stored = enriched(store, "wagner", "wagner", "Wagner sought rifles from Turkey")
    record = article_record(stored, entities=store.entities_of([stored.id])[stored.id])
    assert {"name": "Wagner Group", "type": "ORG"} in record["entities"]
    assert {"name": "Turkey", "type": "GPE"} in record["entities"]
    assert all(set(e) == {"name", "type"} for e in record["entities"])


def test_batched_enrich_matches_one_by_one(store: Store) -> None:
    articles = [
        put(store, n, title=n.title(), text=(DATA / f"{n}.txt").read_text(encoding="utf-8"))
        for n in ("wagner", "putin-other")
    ]
    batched = list(enrich_many(store, articles, batch_size=2))
    assert [r.article_id for r in batched] == [a.id for a in articles]
    assert [enrich(store, a) for a in articles] == batched


def test_names_found_before_assignment_link_as_a_second_ner_run_would(store: Store) -> None:
    """The ingest chain runs NER once, before stories.assign, and hands what it found to enrich."""
    text = (DATA / "wagner.txt").read_text(encoding="utf-8")
    stored = put(store, "wagner", title="Wagner sought rifles from Turkey", text=text, published=NOW)
    found = find_mentions(stored)
    assert "Wagner Group" in entity_names(found)
    once = enrich(store, stored, found=found)
    linked = {e.name for e in store.entities_of([stored.id])[stored.id]}
    assert enrich(store, stored) == once
    assert {e.name for e in store.entities_of([stored.id])[stored.id]} == linked


@pytest.mark.timeout(900)
def test_other_writers_are_not_locked_out_while_a_huge_article_is_enriched(tmp_path: Path) -> None:
    database = str(tmp_path / "desk.db")
    with Store.open(database) as store, Store.open(database) as other:
        stored = put(store, "said-everything", text=said_sentences(8_000))
        failures: list[BaseException] = []

        def run() -> None:
            try:
                enrich(store, stored)
            except BaseException as error:
                failures.append(error)

        enriching = threading.Thread(target=run)
        enriching.start()
        writes = 0
        try:
            while enriching.is_alive():
                # Another command on the same database: it waits for the write lock up to the busy timeout
                # (30 s), then fails with "database is locked" if enrichment holds it across slow work.
                other.add_source(f"https://feeds.example/{writes}.xml")
                writes += 1
                time.sleep(0.05)  # leave the lock free between writes, as separate commands would
        finally:
            enriching.join()
        assert failures == []
        assert writes > 0
        assert store.article_claims(stored.id) != []
