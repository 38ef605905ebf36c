"""Queries of the syndication stage: the MinHash LSH band index and copy → original links.

The band index lives in the database (`syndication_bands`), so every worker and every restart sees the same
index. Every query here goes through an index: band keys by the primary key, groups by `original_id`,
exact duplicates by `content_hash`, `canonical_url` and `url`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from livedesk.models import SyndicationMember
from livedesk.store import revisions
from livedesk.store.schema import articles, metadata

syndication_bands = sa.Table(
    "syndication_bands",
    metadata,
    # One row per (LSH band key, article): the primary key is the index candidates are looked up by.
    sa.Column("band_key", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column(
        "article_id",
        sa.Integer,
        sa.ForeignKey("articles.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
        index=True,  # to replace an article's keys when its text changes
    ),
    # The table is its primary-key B-tree: half the size of a rowid table plus an index.
    sqlite_with_rowid=False,
)

# Any constant shared by every livedesk process: syndication decisions are taken one at a time.
_PG_SYNDICATION_LOCK = 0x5E1D1CA7


@dataclass(frozen=True)
class Candidate:
    """A stored article that may be a copy of (or copied by) the one being traced."""

    id: int
    site: str
    text: str
    content_hash: str


@dataclass(frozen=True)
class Link:
    """The syndication columns of one article, as they should be."""

    article_id: int
    original_id: int | None
    syndicated_from: str | None
    evidence: str | None


_MEMBER_COLUMNS: tuple[Any, ...] = (
    articles.c.id,
    articles.c.url,
    articles.c.canonical_url,
    articles.c.site,
    articles.c.attributed_to,
    articles.c.published_at,
    articles.c.first_seen_at,
    articles.c.original_id,
    articles.c.syndicated_from,
    articles.c.syndication_evidence.label("evidence"),
)


def _member(row: sa.Row[Any]) -> SyndicationMember:
    return SyndicationMember(**row._mapping)


def _group_query(roots: Collection[int]) -> sa.Select[Any]:
    """Every member of the groups whose originals are `roots` (the originals included)."""
    return (
        sa.select(*_MEMBER_COLUMNS)
        .where(articles.c.id.in_(roots) | articles.c.original_id.in_(roots))
        .order_by(articles.c.first_seen_at, articles.c.id)
    )


class SyndicationSession:
    """The reads and writes of one syndication decision, inside one write transaction."""

    def __init__(self, connection: sa.Connection, insert: Any) -> None:
        self._connection = connection
        self._insert = insert  # the dialect's INSERT, which has ON CONFLICT

    def band_postings(self, keys: Sequence[int]) -> list[tuple[int, int]]:
        """(band key, article id) for every article indexed under one of `keys`."""
        if not keys:
            return []
        query = sa.select(syndication_bands.c.band_key, syndication_bands.c.article_id).where(
            syndication_bands.c.band_key.in_(keys)
        )
        return [(row.band_key, row.article_id) for row in self._connection.execute(query)]

    def update_bands(self, article_id: int, keys: Collection[int], add: Collection[int]) -> None:
        """Index `article_id` under the keys `add` too, and under none outside `keys` (its text may have changed)."""
        self._connection.execute(
            sa.delete(syndication_bands).where(
                syndication_bands.c.article_id == article_id, syndication_bands.c.band_key.not_in(keys)
            )
        )
        if add:
            self._connection.execute(
                self._insert(syndication_bands).on_conflict_do_nothing(),
                [{"band_key": key, "article_id": article_id} for key in add],
            )

    def exact_duplicates(self, article_id: int, content_hash: str, urls: Collection[str], limit: int) -> list[int]:
        """Other articles with the same text, or declaring one of `urls` canonical, or fetched at one of them."""
        # Equalities OR-ed one by one: PostgreSQL's hash indexes take `=`, not `IN`.
        same = [articles.c.content_hash == content_hash]
        same += [articles.c.canonical_url == url for url in urls] + [articles.c.url == url for url in urls]
        query = (
            sa.select(articles.c.id)
            .where(sa.or_(*same), articles.c.id != article_id)
            .order_by(articles.c.id)
            .limit(limit)
        )
        return list(self._connection.execute(query).scalars())

    def candidates(self, ids: Collection[int]) -> list[Candidate]:
        if not ids:
            return []
        query = sa.select(articles.c.id, articles.c.site, articles.c.text, articles.c.content_hash).where(
            articles.c.id.in_(ids)
        )
        return [Candidate(**row._mapping) for row in self._connection.execute(query)]

    def members(self, ids: Collection[int]) -> list[SyndicationMember]:
        if not ids:
            return []
        query = sa.select(*_MEMBER_COLUMNS).where(articles.c.id.in_(ids))
        return [_member(row) for row in self._connection.execute(query)]

    def groups(self, roots: Collection[int]) -> list[SyndicationMember]:
        """Every member of the groups whose originals are `roots`, by first seen."""
        return [_member(row) for row in self._connection.execute(_group_query(roots))]

    def write_links(self, links: Iterable[Link]) -> None:
        for link in links:
            revisions.touch(self._connection, [link.article_id])  # "also carried by" changes on its card
            self._connection.execute(
                sa.update(articles)
                .where(articles.c.id == link.article_id)
                .values(
                    original_id=link.original_id,
                    syndicated_from=link.syndicated_from,
                    syndication_evidence=link.evidence,
                )
            )


class SyndicationStore:
    """Mixed into Store; uses its _read()/_write() connections."""

    if TYPE_CHECKING:
        dialect: str
        _insert: Any

        def _write(self) -> AbstractContextManager[sa.Connection]: ...
        def _read(self) -> sa.Connection: ...

    @contextmanager
    def syndication_session(self) -> Iterator[SyndicationSession]:
        """One write transaction for one decision; decisions of all workers are taken one after the other,
        so two copies arriving together still see each other."""
        with self._write() as connection:
            if self.dialect == "postgresql":
                connection.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_SYNDICATION_LOCK)))
            yield SyndicationSession(connection, self._insert)

    def syndication_group(self, article_id: int) -> list[SyndicationMember]:
        """The group of `article_id` (its original and every copy), by first seen; empty if no such article."""
        with self._read() as connection:
            row = connection.execute(sa.select(*_MEMBER_COLUMNS).where(articles.c.id == article_id)).first()
            if row is None:
                return []
            return [_member(r) for r in connection.execute(_group_query([_member(row).root_id]))]
