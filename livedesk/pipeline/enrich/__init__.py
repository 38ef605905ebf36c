"""The enrich stage: named entities and the claim ledger.

Entities come from NER over the title and lead, run once per article before stories.assign (`find_mentions`):
the names are a clustering signal (`entity_names`). The rest runs after it, once the article's story is known: names
are folded within the story (entities) and claims are gathered per story (ledger), from the dependency parse of the
sentences holding a claim cue, done once per original (copies carry their original's claims).

The NLP runs before anything is written, and the store's write methods take its results: no write transaction
is held across it, so other commands keep writing while a long article is enriched. What one article may cost is
bounded whatever the page holds (MAX_NER_CHARS, MAX_ENTITIES_PER_ARTICLE, claims.sentences' and claims.ledger's
bounds).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice

from livedesk.models import StoredArticle
from livedesk.pipeline.enrich import claims
from livedesk.pipeline.enrich.entities import Mention, mentions, ner_text, resolve, with_hints
from livedesk.pipeline.enrich.nlp import load_pipeline
from livedesk.store import Store

__all__ = ["EnrichResult", "Mention", "enrich", "enrich_many", "entity_names", "find_mentions"]

BATCH_SIZE = 32


@dataclass(frozen=True)
class EnrichResult:
    article_id: int
    entities: int  # distinct entities linked to the article
    claims: int  # ledger entries the article carries


def find_mentions(stored: StoredArticle) -> list[Mention]:
    """The names NER finds in the article's title and lead, before any folding within a story."""
    return mentions(load_pipeline()(ner_text(stored.article.title, stored.article.text)).ents)


def entity_names(found: Sequence[Mention]) -> list[str]:
    """The article's names, folded within the article alone ("Putin" into "Vladimir Putin"), for story assignment."""
    return [r.name for r in resolve(found)]


def enrich(store: Store, stored: StoredArticle, *, found: Sequence[Mention] | None = None) -> EnrichResult:
    """Link the article's entities and record its claims; running it again gives the same result. `found` is
    `find_mentions(stored)` if already run (NER is then not run again)."""
    if found is None:
        return next(enrich_many(store, [stored]))
    return next(_store_batch(store, [stored], [found]))


def enrich_many(
    store: Store, articles: Iterable[StoredArticle], *, batch_size: int = BATCH_SIZE
) -> Iterator[EnrichResult]:
    """`enrich` for many articles, their texts run through spaCy in batches; stored in order, so each article's
    names are resolved against what its story's earlier articles named."""
    ner = load_pipeline()
    pending = iter(articles)
    while batch := list(islice(pending, batch_size)):
        ner_docs = ner.pipe(ner_text(s.article.title, s.article.text) for s in batch)
        yield from _store_batch(store, batch, (mentions(doc.ents) for doc in ner_docs))


def _store_batch(
    store: Store, batch: list[StoredArticle], found: Iterable[Sequence[Mention]]
) -> Iterator[EnrichResult]:
    """Link each article's `found` names and record its claims, parsed for the batch at once."""
    # Only originals are parsed: a copy carries its original's claims.
    originals = [s for s in batch if s.syndicated_from is None]
    parsed = claims.claims_in_texts(load_pipeline(parser=True), [s.article.text for s in originals])
    extracted = dict(zip((s.id for s in originals), parsed, strict=True))
    for stored, names in zip(batch, found, strict=True):
        linked = _link_entities(store, stored, names)
        ledger = claims.record_claims(store, stored, extracted.get(stored.id))
        yield EnrichResult(stored.id, linked, len(ledger))


def _link_entities(store: Store, stored: StoredArticle, found: Sequence[Mention]) -> int:
    a = stored.article
    # Outlets are organisations: this page's own, the one it credits, and those that carry the story.
    outlets = {name for name in (a.site, a.site_name, a.attributed_to) if name}
    known = []
    if stored.story_id is not None:
        known = store.story_entities(stored.story_id, excluding_article=stored.id)
        outlets |= store.story_outlets(stored.story_id)
    resolved = resolve(with_hints(found, outlets), known)
    store.save_entities(stored.id, stored.story_id, resolved)
    return len(resolved)
