"""The enrich stage: named entities and the claim ledger.

Runs after stories.assign, so an article's story is known: names are folded within the story (entities) and
claims are gathered per story (ledger). Entities come from NER over the title and lead; claims from the dependency
parse of the sentences holding a claim cue, done once per original (copies carry their original's claims).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice

from livedesk.pipeline.enrich import claims
from livedesk.pipeline.enrich.entities import Mention, mentions, ner_text, resolve
from livedesk.pipeline.enrich.nlp import load_pipeline
from livedesk.store import Store, StoredArticle

__all__ = ["EnrichResult", "enrich", "enrich_many"]

BATCH_SIZE = 32


@dataclass(frozen=True)
class EnrichResult:
    article_id: int
    entities: int  # distinct entities linked to the article
    claims: int  # ledger entries the article carries


def enrich(store: Store, stored: StoredArticle) -> EnrichResult:
    """Link the article's entities and record its claims; running it again gives the same result."""
    return next(enrich_many(store, [stored]))


def enrich_many(
    store: Store, articles: Iterable[StoredArticle], *, batch_size: int = BATCH_SIZE
) -> Iterator[EnrichResult]:
    """`enrich` for many articles, their texts run through spaCy in batches; stored in order, so each article's
    names are resolved against what its story's earlier articles named."""
    ner, parse = load_pipeline(), load_pipeline(parser=True)
    pending = iter(articles)
    while batch := list(islice(pending, batch_size)):
        ner_docs = ner.pipe(ner_text(s.article.title, s.article.text) for s in batch)
        # Only originals are parsed: a copy carries its original's claims.
        originals = [s for s in batch if s.syndicated_from is None]
        texts = [s.article.text for s in originals]
        extracted = dict(zip((s.id for s in originals), claims.claims_in_texts(parse, texts), strict=True))
        for stored, doc in zip(batch, ner_docs, strict=True):
            linked = _link_entities(store, stored, mentions(doc.ents))
            ledger = claims.record_claims(store, stored, extracted.get(stored.id))
            yield EnrichResult(stored.id, linked, len(ledger))


def _link_entities(store: Store, stored: StoredArticle, found: list[Mention]) -> int:
    known = store.story_entities(stored.story_id, excluding_article=stored.id) if stored.story_id is not None else []
    resolved = resolve(found, known)
    store.save_entities(stored.id, stored.story_id, resolved)
    return len(resolved)
