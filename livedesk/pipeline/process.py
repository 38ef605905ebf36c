"""The chain for one extracted article, once: store → syndication → stories → enrich.

    store ──> syndication ──> stories ──> enrich ──> (processed)
                               ▲  entity names  │
                               └── NER ─────────┘  (found once, used by both)

Every caller (ingest, polling, the repair backfill, tests, benchmarks) runs articles through `process`. Each stage
returns its result to it: nothing is read back from the database between stages. The article is marked processed
only when every stage has run, and every stage is idempotent, so an ingest stopped anywhere (a crash, a kill) is
completed by `resume` on the next run and ends as a clean run would have.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from livedesk.metrics import STAGE_SECONDS
from livedesk.models import Article, StoredArticle, SyndicationResult, UpsertOutcome
from livedesk.pipeline import enrich, stories, syndication
from livedesk.store import Store


@dataclass(frozen=True)
class Processed:
    """What the chain did with one article."""

    outcome: UpsertOutcome
    stored: StoredArticle  # as it stands after the last stage (with syndicated_from and story_id)
    syndication: SyndicationResult | None = None  # None when nothing had to run
    enriched: enrich.EnrichResult | None = None

    @property
    def changed(self) -> bool:
        """Whether anything was written: the article is worth announcing to open live pages."""
        return self.syndication is not None


def process(store: Store, article: Article) -> Processed:
    """Store `article` and run every later stage that is due for it (all of them unless it was processed before)."""
    with STAGE_SECONDS.labels("store").time():
        upserted = store.upsert_article(article)
    if upserted.stored.processed_at is not None:
        return Processed(upserted.outcome, upserted.stored)
    return resume(store, upserted.stored, upserted.outcome)


def resume(store: Store, stored: StoredArticle, outcome: UpsertOutcome = UpsertOutcome.UPDATED) -> Processed:
    """Run syndication, stories and enrich for a stored article, then mark it processed."""
    with STAGE_SECONDS.labels("syndication").time():
        traced = syndication.trace(store, stored)
    stored = replace(stored, syndicated_from=traced.syndicated_from)
    # NER runs once: its names help place the article, then are folded within the story it joined.
    with STAGE_SECONDS.labels("entities").time():
        found = enrich.find_mentions(stored)
    with STAGE_SECONDS.labels("stories").time():
        story_id = stories.assign(store, stored, entity_names=enrich.entity_names(found))
    stored = replace(stored, story_id=story_id)
    with STAGE_SECONDS.labels("enrich").time():
        enriched = enrich.enrich(store, stored, found=found)
        store.mark_processed(stored.id)
    return Processed(outcome, stored, traced, enriched)
