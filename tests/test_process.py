"""The chain for one article: `process` runs every stage once, and a run stopped midway is completed by the next."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from livedesk.config import Settings
from livedesk.demo import DemoSite
from livedesk.models import UpsertOutcome
from livedesk.pipeline import Ingestor, process
from livedesk.pipeline.extract import extract
from livedesk.pipeline.sources import read_path
from livedesk.store import Store
from tests.fixtures_db import DATABASE_BACKENDS, temporary_database

SITE = Path(__file__).parent / "data" / "pipeline" / "site"
SETTINGS = Settings(extract_workers=1)


def _article(path: Path):
    """The article an ingest of `path` stores (the page at the URL it declares)."""
    (page,) = read_path(path, max_bytes=Settings().max_bytes)
    return extract(page)


def test_process_runs_every_stage_and_returns_their_results(store: Store) -> None:
    processed = process(store, _article(SITE / "bridge-reopens.html"))
    assert processed.outcome is UpsertOutcome.NEW
    assert processed.stored.story_id is not None
    assert processed.syndication is not None and processed.syndication.original_id == processed.stored.id
    assert processed.enriched is not None and processed.enriched.entities > 0
    # What it returned is what the database holds: no stage's result is left unwritten.
    again = store.get_article(processed.stored.article.url_hash)
    assert again is not None and again.processed_at is not None
    assert (again.story_id, again.syndicated_from) == (processed.stored.story_id, processed.stored.syndicated_from)


def test_processing_an_unchanged_article_again_writes_nothing(store: Store) -> None:
    article = _article(SITE / "bridge-reopens.html")
    first = process(store, article)
    second = process(store, article)
    assert second.outcome is UpsertOutcome.DUPLICATE and not second.changed
    assert second.stored.story_id == first.stored.story_id


async def test_an_article_stored_before_a_stop_is_completed_by_the_next_ingest(store: Store) -> None:
    # The state a kill leaves between the article's commit and its later stages.
    store.upsert_article(_article(SITE / "bridge-reopens.html"))
    async with Ingestor(store, SETTINGS) as ingestor:
        report = await ingestor.ingest([str(SITE / "bridge-reopens.html")])
    (stored,) = store.iter_articles()
    assert stored.story_id is not None and stored.processed_at is not None
    assert store.entities_of([stored.id])[stored.id], "the enrich stage ran"
    assert store.syndication_group(stored.id), "the syndication stage ran"
    assert report.outcomes["resumed"] == 1 and report.outcomes["failed"] == 0


async def test_any_ingest_first_completes_what_an_earlier_run_left_midway(store: Store) -> None:
    store.upsert_article(_article(SITE / "bridge-reopens.html"))
    async with Ingestor(store, SETTINGS) as ingestor:
        await ingestor.ingest([str(SITE / "council-budget.html")])
    assert all(s.story_id is not None and s.processed_at is not None for s in store.iter_articles())
    assert store.unprocessed_articles() == []


# -- kill -9 during an ingest ------------------------------------------------------------------------------


def _demo_pages(folder: Path) -> Path:
    pages = folder / "pages"
    pages.mkdir()
    for number, (_article, _url, body) in enumerate(DemoSite().pages()):
        (pages / f"{number:03d}.html").write_bytes(body)
    return pages


def _livedesk(database: str, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "LIVEDESK_EXTRACT_WORKERS": "1"}
    command = [sys.executable, "-m", "livedesk", "--db", database, *args]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _export(database: str) -> dict[str, object]:
    """The store's content, independent of ids: articles by URL, stories as sets of URLs."""

    def run(what: str) -> list[dict]:
        done = subprocess.run(
            [sys.executable, "-m", "livedesk", "--db", database, "export", "--what", what],
            capture_output=True,
            check=True,
            timeout=300,
        )
        return [json.loads(line) for line in done.stdout.splitlines()]

    articles = run("articles")
    url_of = {a["id"]: a["url"] for a in articles}
    by_url = {}
    for a in articles:
        entities = sorted((e["name"], e["type"]) for e in a["entities"])
        claims = sorted((c["text"], c["attributed_to"], c["cue"], c["status"]) for c in a["claims"])
        kept = {k: v for k, v in a.items() if k not in {"id", "story_id", "entities", "claims"}}
        by_url[a["url"]] = {**kept, "entities": entities, "claims": claims}
    stories = sorted(sorted(url_of[i] for i in s["article_ids"]) for s in run("stories"))
    return {"articles": by_url, "stories": stories}


@pytest.mark.slow
@pytest.mark.parametrize("backend", DATABASE_BACKENDS)
def test_after_kills_midway_and_a_rerun_the_store_equals_a_clean_runs(backend: str, tmp_path: Path) -> None:
    pages = _demo_pages(tmp_path)
    clean_dir, killed_dir = tmp_path / "clean", tmp_path / "killed"
    clean_dir.mkdir()
    killed_dir.mkdir()
    with temporary_database(backend, clean_dir) as clean:
        assert _livedesk(clean, "ingest", str(pages)).wait(timeout=600) == 0
        expected = _export(clean)
    with temporary_database(backend, killed_dir) as killed:
        stored_after_kill = []
        for delay in (4.0, 6.5, 9.0):
            process_ = _livedesk(killed, "ingest", str(pages))
            time.sleep(delay)
            process_.send_signal(signal.SIGKILL)
            process_.wait(timeout=60)
            with Store.open(killed) as store:
                stored_after_kill.append((store.count_articles(), len(store.unprocessed_articles())))
        assert _livedesk(killed, "ingest", str(pages)).wait(timeout=600) == 0
        assert _export(killed) == expected
        # The kills did land midway: some run was stopped with articles stored but not yet processed, or at least
        # before the end of the corpus.
        assert any(count < len(expected["articles"]) or pending for count, pending in stored_after_kill)
