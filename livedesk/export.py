"""Records for `livedesk export`, following the data contract in DESIGN.md.

Fields that a later pipeline stage fills (entities, claims, story ids, views) are empty until that stage exists.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from livedesk.models import StoredArticle
from livedesk.store.claims import LedgerEntry
from livedesk.store.entities import EntityRef

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


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


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
        "published": _iso(a.published_at),
        "language": a.language,
        "text": a.text,
        "attributed_to": a.attributed_to,
        "syndicated_from": stored.syndicated_from,
        "story_id": str(stored.story_id) if stored.story_id is not None else None,
        "entities": [{"name": e.name, "type": e.type} for e in entities],
        "claims": claim_records(claims),
        "views": 0,
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
