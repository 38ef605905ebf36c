"""Records for `livedesk export`, following the data contract in DESIGN.md: every article (or story) of the store
as JSON Lines or CSV, streamed (the store is read in batches)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from livedesk.models import EntityRef, LedgerEntry, StoredArticle, Story
from livedesk.store import Store


class Records(StrEnum):
    ARTICLES = "articles"
    STORIES = "stories"


class Format(StrEnum):
    JSONL = "jsonl"
    CSV = "csv"


ARTICLE_FIELDS = (
    "id",
    "url",
    "canonical_url",
    "site",
    "title",
    "byline",
    "published",
    "language",
    "text",
    "attributed_to",
    "syndicated_from",
    "story_id",
    "entities",
    "claims",
    "views",
)
STORY_FIELDS = ("id", "title", "summary", "first_seen", "last_update", "article_ids", "claims")


def export_lines(store: Store, what: Records, format: Format) -> Iterator[str]:
    """The lines of the export of every `what` in `format`."""
    fields: tuple[str, ...]
    if what is Records.STORIES:
        records = (story_record(store, s) for s in store.list_stories())
        fields = STORY_FIELDS
    else:
        records = (
            article_record(a, entities=store.entities_of([a.id])[a.id], claims=store.article_claims(a.id))
            for a in store.iter_articles()
        )
        fields = ARTICLE_FIELDS
    return to_jsonl(records) if format is Format.JSONL else to_csv(records, fields)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _published(value: datetime | None, *, date_only: bool) -> str | None:
    """A day the page gave without a time of day is exported as that date, not as midnight."""
    return value.date().isoformat() if value and date_only else _iso(value)


def claim_records(entries: Iterable[LedgerEntry]) -> list[dict[str, str]]:
    """Claims as the data contract has them: {"text", "attributed_to", "cue", "status"}."""
    return [{"text": e.text, "attributed_to": e.attributed_to, "cue": e.cue, "status": e.status} for e in entries]


def article_record(
    stored: StoredArticle, *, entities: Sequence[EntityRef] = (), claims: Iterable[LedgerEntry] = ()
) -> dict[str, Any]:
    a = stored.article
    return {
        "id": str(stored.id),
        "url": a.url,
        "canonical_url": a.canonical_url,
        "site": a.site,
        "title": a.title,
        "byline": a.byline,
        "published": _published(a.published_at, date_only=a.published_date_only),
        "language": a.language,
        "text": a.text,
        "attributed_to": a.attributed_to,
        "syndicated_from": stored.syndicated_from,
        "story_id": str(stored.story_id) if stored.story_id is not None else None,
        "entities": [{"name": e.name, "type": e.type} for e in entities],
        "claims": claim_records(claims),
        "views": 0,
    }


def story_record(store: Store, story: Story) -> dict[str, Any]:
    return {
        "id": str(story.id),
        "title": story.title,
        "summary": story.summary,
        "first_seen": story.first_seen.isoformat(),
        "last_update": story.last_update.isoformat(),
        "article_ids": [str(i) for i in store.story_article_ids(story.id)],
        "claims": claim_records(store.story_claims(story.id)),
    }


def to_jsonl(records: Iterable[dict[str, Any]]) -> Iterator[str]:
    for record in records:
        yield json.dumps(record, ensure_ascii=False) + "\n"


def to_csv(records: Iterable[dict[str, Any]], fieldnames: tuple[str, ...]) -> Iterator[str]:
    """CSV rows; list fields are JSON-encoded so nothing is lost."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fieldnames)
    writer.writeheader()
    for record in records:
        writer.writerow({k: json.dumps(v) if isinstance(v, list) else v for k, v in record.items()})
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()
