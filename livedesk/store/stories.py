"""Queries of the story stage: stories, their term postings, document frequencies, merge/split rewrites.

A story's centroid (a capped, weighted bag of terms) lives in `story_terms`, one row per (term, story). Those rows
double as the inverted index that finds candidate stories for a new article: the lookup reads only the postings
of the article's terms in stories updated since a cutoff, through the (term, last_update) index, so its cost
does not grow with the number of stored articles or cold stories.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from livedesk.store.schema import UTCDateTime, articles, metadata

stories = sa.Table(
    "stories",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("first_seen", UTCDateTime, nullable=False),
    sa.Column("last_update", UTCDateTime, nullable=False, index=True),
    sa.Column("article_count", sa.Integer, nullable=False),
    sa.Column("outlet_count", sa.Integer, nullable=False),
    # The most central article, whose headline is the story's title.
    sa.Column("title_article_id", sa.Integer),
    # L2 norm of the centroid in story_terms, so a cosine needs only the postings of the query's terms.
    sa.Column("norm", sa.Float, nullable=False),
)

story_terms = sa.Table(
    "story_terms",
    metadata,
    sa.Column("term", sa.Text, primary_key=True),
    sa.Column("story_id", sa.Integer, sa.ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("weight", sa.Float, nullable=False),
    # The story's last_update, repeated here so the candidate lookup skips cold stories inside the index.
    sa.Column("last_update", UTCDateTime, nullable=False),
    sa.Index("ix_story_terms_term_last_update", "term", "last_update"),
    sa.Index("ix_story_terms_story_id", "story_id"),
)

# Document frequencies of terms over the originals assigned so far; the row with the empty term holds their count.
term_stats = sa.Table(
    "term_stats",
    metadata,
    sa.Column("term", sa.Text, primary_key=True),
    sa.Column("df", sa.Integer, nullable=False),
)

# Listing, merging and splitting a story read its articles by story.
sa.Index("ix_articles_story_id", articles.c.story_id)

DOCUMENT_COUNT = ""


@dataclass(frozen=True)
class Story:
    id: int
    title: str
    summary: str
    first_seen: datetime
    last_update: datetime
    article_count: int
    outlet_count: int
    title_article_id: int | None


@dataclass(frozen=True)
class StoryMember:
    """What the story stage needs of one article: its text for the centroid, its site and time for the counts."""

    id: int
    title: str
    text: str
    site: str
    at: datetime  # published, else first seen
    is_copy: bool


@dataclass(frozen=True)
class Candidate:
    """An active story that shares terms with the article: only the postings of those terms are read."""

    story: Story
    norm: float
    weights: dict[str, float]


@dataclass(frozen=True)
class StoryState:
    """Everything the stage writes for one story; `id` None creates it."""

    id: int | None
    title: str
    summary: str
    first_seen: datetime
    last_update: datetime
    title_article_id: int | None
    centroid: Mapping[str, float]
    norm: float


class StoryStore:
    """Mixed into Store; uses its _read()/_write() connections."""

    _insert: Any

    def _read(self) -> sa.Connection: ...
    def _write(self) -> AbstractContextManager[sa.Connection]: ...

    # reads

    def article_story(self, article_id: int) -> int | None:
        with self._read() as connection:
            query = sa.select(articles.c.story_id).where(articles.c.id == article_id)
            return connection.execute(query).scalar_one_or_none()

    def document_frequencies(self, terms: Iterable[str]) -> tuple[int, dict[str, int]]:
        """(number of documents counted, df of each given term that occurs)."""
        wanted = [*set(terms), DOCUMENT_COUNT]
        with self._read() as connection:
            rows = connection.execute(sa.select(term_stats).where(term_stats.c.term.in_(wanted))).all()
        df = {row.term: row.df for row in rows}
        return df.pop(DOCUMENT_COUNT, 0), df

    def story_candidates(self, lookup: Iterable[str], since: datetime, *, also: Iterable[str] = ()) -> list[Candidate]:
        """Stories updated at or after `since` holding any of the `lookup` terms, with their weights for those
        terms and for the `also` terms (too common to find stories by, but part of the score)."""
        postings = sa.select(story_terms.c.story_id, story_terms.c.term, story_terms.c.weight)
        with self._read() as connection:
            weights: dict[int, dict[str, float]] = {}
            found = postings.where(story_terms.c.term.in_(list(lookup)), story_terms.c.last_update >= since)
            for row in connection.execute(found):
                weights.setdefault(row.story_id, {})[row.term] = row.weight
            if not weights:
                return []
            common = list(also)
            if common:
                # Through the (term, story_id) primary key: a few rows per candidate, however common the term.
                more = postings.where(story_terms.c.term.in_(common), story_terms.c.story_id.in_(list(weights)))
                for row in connection.execute(more):
                    weights[row.story_id][row.term] = row.weight
            rows = connection.execute(sa.select(stories).where(stories.c.id.in_(list(weights)))).all()
        return [Candidate(story=_story(row), norm=row.norm, weights=weights[row.id]) for row in rows]

    def story_centroid(self, story_id: int) -> dict[str, float]:
        query = sa.select(story_terms.c.term, story_terms.c.weight).where(story_terms.c.story_id == story_id)
        with self._read() as connection:
            return {row.term: row.weight for row in connection.execute(query)}

    def get_story(self, story_id: int) -> Story | None:
        with self._read() as connection:
            row = connection.execute(sa.select(stories).where(stories.c.id == story_id)).first()
        return None if row is None else _story(row)

    def story_member(self, article_id: int) -> StoryMember | None:
        with self._read() as connection:
            row = connection.execute(_members().where(articles.c.id == article_id)).first()
        return None if row is None else _member(row)

    def story_members(self, story_id: int) -> list[StoryMember]:
        """The story's articles, oldest first."""
        query = _members().where(articles.c.story_id == story_id).order_by(articles.c.id)
        with self._read() as connection:
            return [_member(row) for row in connection.execute(query)]

    def story_article_ids(self, story_id: int) -> list[int]:
        query = sa.select(articles.c.id).where(articles.c.story_id == story_id).order_by(articles.c.id)
        with self._read() as connection:
            return list(connection.execute(query).scalars())

    def list_stories(self, *, limit: int | None = None) -> list[Story]:
        """Stories, the most recently updated first."""
        query = sa.select(stories).order_by(stories.c.last_update.desc(), stories.c.id.desc()).limit(limit)
        with self._read() as connection:
            return [_story(row) for row in connection.execute(query)]

    # writes

    def add_to_story(self, article_id: int, state: StoryState, new_terms: Iterable[str] = ()) -> int | None:
        """Put an unassigned article into the story `state` describes (creating it if its id is None) and count
        `new_terms` in the document frequencies, in one transaction. None, with nothing written, if the article
        already belongs to a story (a repeated call)."""
        with self._write() as connection:
            current = connection.execute(
                sa.select(articles.c.story_id).where(articles.c.id == article_id).with_for_update()
            ).scalar_one()
            if current is not None:
                return None
            story_id = self._save_story(connection, state)
            connection.execute(sa.update(articles).where(articles.c.id == article_id).values(story_id=story_id))
            self._count_terms(connection, new_terms)
            self._refresh_counts(connection, story_id)
            return story_id

    def rewrite_stories(
        self, states: list[StoryState], moves: Mapping[int, list[int]], *, delete: Iterable[int] = ()
    ) -> list[int]:
        """Editors' decisions, in one transaction: save each story in `states`, move the articles of `moves`
        (index into `states` → article ids) there, delete the stories in `delete`. Returns the saved ids."""
        with self._write() as connection:
            ids = [self._save_story(connection, state) for state in states]
            for index, article_ids in moves.items():
                connection.execute(
                    sa.update(articles).where(articles.c.id.in_(article_ids)).values(story_id=ids[index])
                )
            gone = list(delete)
            if gone:
                connection.execute(sa.delete(story_terms).where(story_terms.c.story_id.in_(gone)))
                connection.execute(sa.delete(stories).where(stories.c.id.in_(gone)))
            for story_id in ids:
                self._refresh_counts(connection, story_id)
            return ids

    def _save_story(self, connection: sa.Connection, state: StoryState) -> int:
        values = {
            "title": state.title,
            "summary": state.summary,
            "first_seen": state.first_seen,
            "last_update": state.last_update,
            "title_article_id": state.title_article_id,
            "norm": state.norm,
        }
        if state.id is None:
            insert = sa.insert(stories).values(**values, article_count=0, outlet_count=0).returning(stories.c.id)
            story_id: int = connection.execute(insert).scalar_one()
        else:
            story_id = state.id
            connection.execute(sa.update(stories).where(stories.c.id == story_id).values(**values))
            connection.execute(sa.delete(story_terms).where(story_terms.c.story_id == story_id))
        if state.centroid:
            connection.execute(
                sa.insert(story_terms),
                [
                    {"term": term, "story_id": story_id, "weight": weight, "last_update": state.last_update}
                    for term, weight in state.centroid.items()
                ],
            )
        return story_id

    def _count_terms(self, connection: sa.Connection, terms: Iterable[str]) -> None:
        rows = [{"term": term, "df": 1} for term in sorted({*terms, DOCUMENT_COUNT})]
        # Sorted, so concurrent writers on PostgreSQL take the row locks in the same order and never deadlock.
        insert = self._insert(term_stats)
        connection.execute(
            insert.on_conflict_do_update(index_elements=[term_stats.c.term], set_={"df": term_stats.c.df + 1}),
            rows,
        )

    def _refresh_counts(self, connection: sa.Connection, story_id: int) -> None:
        # Counted from the story's own articles (through ix_articles_story_id), so merges and splits stay exact.
        counts = sa.select(sa.func.count(), sa.func.count(sa.distinct(articles.c.site))).where(
            articles.c.story_id == story_id
        )
        article_count, outlet_count = connection.execute(counts).one()
        connection.execute(
            sa.update(stories)
            .where(stories.c.id == story_id)
            .values(article_count=article_count, outlet_count=outlet_count)
        )


def _members() -> sa.Select[Any]:
    return sa.select(
        articles.c.id,
        articles.c.title,
        articles.c.text,
        articles.c.site,
        sa.func.coalesce(articles.c.published_at, articles.c.first_seen_at, type_=UTCDateTime).label("at"),
        articles.c.syndicated_from,
    )


def _member(row: sa.Row[Any]) -> StoryMember:
    return StoryMember(
        id=row.id,
        title=row.title,
        text=row.text,
        site=row.site,
        at=row.at,
        is_copy=row.syndicated_from is not None,
    )


def _story(row: sa.Row[Any]) -> Story:
    return Story(
        id=row.id,
        title=row.title,
        summary=row.summary,
        first_seen=row.first_seen,
        last_update=row.last_update,
        article_count=row.article_count,
        outlet_count=row.outlet_count,
        title_article_id=row.title_article_id,
    )
