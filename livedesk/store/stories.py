"""Queries of the story stage: stories, their term postings, document frequencies, merge/split rewrites.

A story's centroid (a capped, weighted bag of terms) lives in `story_terms`, one row per (term, story). Those rows
double as the inverted index that finds candidate stories for a new article: the lookup reads only the postings
of the article's terms in stories updated since a cutoff, through the (term, last_update) index, so its cost
does not grow with the number of stored articles or cold stories.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from livedesk.models import Actor, Position, Story, StoryMember
from livedesk.store import audit, revisions
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
    # An editor's title and summary: shown instead of the computed ones, which the story stage keeps updating.
    sa.Column("desk_title", sa.Text),
    sa.Column("desk_summary", sa.Text),
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
# What an editor may set on a story: shown instead of the computed title and summary (None: the computed one).
DESK_TEXT = ("desk_title", "desk_summary")


class StoryNotFoundError(LookupError):
    pass


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


class StorySession:
    """The reads and writes of one assignment, inside one write transaction: the decision is taken on the data
    as it is when written, and the whole assignment costs one connection and one commit."""

    def __init__(self, connection: sa.Connection, insert: Any) -> None:
        self._connection = connection
        self._insert = insert  # the dialect's INSERT, which has ON CONFLICT

    def article_story(self, article_id: int) -> int | None:
        """The article's story; its row stays locked until the end (PostgreSQL), so one assignment wins."""
        query = sa.select(articles.c.story_id).where(articles.c.id == article_id).with_for_update()
        return self._connection.execute(query).scalar_one()

    def document_frequencies(self, terms: Iterable[str]) -> tuple[int, dict[str, int]]:
        return _document_frequencies(self._connection, terms)

    def candidates(self, lookup: Iterable[str], since: datetime, *, also: Iterable[str] = ()) -> list[Candidate]:
        """Stories updated at or after `since` holding any of the `lookup` terms, with their weights for those
        terms and for the `also` terms (not looked up, but part of the score)."""
        postings = sa.select(story_terms.c.story_id, story_terms.c.term, story_terms.c.weight)
        weights: dict[int, dict[str, float]] = {}
        found = postings.where(story_terms.c.term.in_(list(lookup)), story_terms.c.last_update >= since)
        for story_id, term, weight in self._connection.execute(found):
            weights.setdefault(story_id, {})[term] = weight
        if not weights:
            return []
        more = list(also)
        if more:
            # Through the (term, story_id) primary key: a few rows per candidate, however common the term.
            extra = postings.where(story_terms.c.term.in_(more), story_terms.c.story_id.in_(list(weights)))
            for story_id, term, weight in self._connection.execute(extra):
                weights[story_id][term] = weight
        rows = self._connection.execute(sa.select(stories).where(stories.c.id.in_(list(weights)))).all()
        return [Candidate(story=_story(row), norm=row.norm, weights=weights[row.id]) for row in rows]

    def story(self, story_id: int) -> tuple[Story, dict[str, float]] | None:
        """A story and its centroid, the story's row locked until the end (PostgreSQL): two assignments to one
        story take turns, and neither overwrites the other's centroid."""
        row = self._connection.execute(sa.select(stories).where(stories.c.id == story_id).with_for_update()).first()
        if row is None:
            return None
        query = sa.select(story_terms.c.term, story_terms.c.weight).where(story_terms.c.story_id == story_id)
        return _story(row), {term: weight for term, weight in self._connection.execute(query)}

    def member(self, article_id: int) -> StoryMember | None:
        row = self._connection.execute(_members().where(articles.c.id == article_id)).first()
        return None if row is None else _member(row)

    def add(
        self,
        member: StoryMember,
        state: StoryState,
        *,
        previous: Story | None = None,
        previous_centroid: Mapping[str, float] | None = None,
        new_terms: Iterable[str] = (),
    ) -> int:
        """Put `member` into the story `state` describes: a new one if its id is None, else `previous`, whose
        centroid was `previous_centroid`; and count `new_terms` in the document frequencies.

        Only what changed is written, and the counts are updated rather than recounted: the cost does not grow
        with the story's size."""
        connection = self._connection
        if previous is None:
            story_id = _insert_story(connection, state)
            _insert_terms(connection, story_id, state.centroid, state.last_update)
            article_count, outlet_count = 1, 1
        else:
            story_id = previous.id
            # Before the article joins: does the story already have an article from its site?
            same_site = sa.select(articles.c.id).where(articles.c.story_id == story_id, articles.c.site == member.site)
            known_site = connection.execute(same_site.limit(1)).first() is not None
            article_count = previous.article_count + 1
            outlet_count = previous.outlet_count + (not known_site)
            _update_story(connection, story_id, state, article_count=article_count, outlet_count=outlet_count)
            self._update_terms(story_id, previous_centroid or {}, previous.last_update, state)
        connection.execute(sa.update(articles).where(articles.c.id == member.id).values(story_id=story_id))
        revisions.touch(connection, [member.id])
        _count_terms(connection, self._insert, new_terms)
        return story_id

    def _update_terms(
        self, story_id: int, before: Mapping[str, float], last_update: datetime, state: StoryState
    ) -> None:
        """Rewrite only the postings that changed: dropped terms, new terms, changed weights, and the time."""
        after = state.centroid
        dropped = [term for term in before if term not in after]
        if dropped:
            self._connection.execute(
                sa.delete(story_terms).where(story_terms.c.story_id == story_id, story_terms.c.term.in_(dropped))
            )
        # A new last update is repeated in every posting (the candidate lookup filters on it); otherwise only
        # the new and re-weighted terms are written.
        moved = state.last_update != last_update
        rows = {term: weight for term, weight in after.items() if moved or before.get(term) != weight}
        if rows:
            upsert = self._insert(story_terms)
            upsert = upsert.on_conflict_do_update(
                index_elements=[story_terms.c.term, story_terms.c.story_id],
                set_={"weight": upsert.excluded.weight, "last_update": upsert.excluded.last_update},
            )
            self._connection.execute(upsert, _term_rows(story_id, rows, state.last_update))


class StoryStore:
    """Mixed into Store; uses its _read()/_write() connections."""

    if TYPE_CHECKING:
        _insert: Any

        def _read(self) -> sa.Connection: ...
        def _write(self) -> AbstractContextManager[sa.Connection]: ...

    @contextmanager
    def story_session(self) -> Iterator[StorySession]:
        """One write transaction for one assignment."""
        with self._write() as connection:
            yield StorySession(connection, self._insert)

    # reads

    def article_story(self, article_id: int) -> int | None:
        with self._read() as connection:
            query = sa.select(articles.c.story_id).where(articles.c.id == article_id)
            return connection.execute(query).scalar_one_or_none()

    def document_frequencies(self, terms: Iterable[str]) -> tuple[int, dict[str, int]]:
        """(number of documents counted, df of each given term that occurs)."""
        with self._read() as connection:
            return _document_frequencies(connection, terms)

    def get_story(self, story_id: int) -> Story | None:
        with self._read() as connection:
            row = connection.execute(sa.select(stories).where(stories.c.id == story_id)).first()
        return None if row is None else _story(row)

    def story_members(self, story_id: int) -> list[StoryMember]:
        """The story's articles, oldest first."""
        with self._read() as connection:
            return story_members(connection, story_id)

    def story_article_ids(self, story_id: int) -> list[int]:
        """The story's ingested articles (not the desk's posts), by id."""
        query = (
            sa.select(articles.c.id)
            .where(articles.c.story_id == story_id, articles.c.kind == "article")
            .order_by(articles.c.id)
        )
        with self._read() as connection:
            return list(connection.execute(query).scalars())

    def set_story_text(self, actor: Actor, story_id: int, changes: Mapping[str, str | None]) -> Story | None:
        """Set the editor's title and/or summary of a story (`changes` keyed by DESK_TEXT; None gives the computed
        one back), with its audit entry; None if there is no such story."""
        unknown = set(changes) - set(DESK_TEXT)
        if unknown:
            raise ValueError(f"not a story's desk text: {', '.join(sorted(unknown))}")
        with self._write() as connection:
            row = connection.execute(sa.select(stories).where(stories.c.id == story_id).with_for_update()).first()
            if row is None:
                return None
            before = {name: row._mapping[name] for name in DESK_TEXT}
            after = {**before, **changes}
            updated = connection.execute(
                sa.update(stories).where(stories.c.id == story_id).values(**changes).returning(*stories.c)
            ).one()
            audit.record(connection, actor, "story.edit", f"story:{story_id}", before, after)
        return _story(updated)

    def list_stories(self, *, limit: int | None = None, before: Position | None = None) -> list[Story]:
        """Stories, the most recently updated first; only those strictly after `before` (last_update, id) in that
        order when given (the next page)."""
        query = sa.select(stories).order_by(stories.c.last_update.desc(), stories.c.id.desc()).limit(limit)
        if before is not None:
            older = sa.tuple_(stories.c.last_update, stories.c.id) < sa.tuple_(
                sa.literal(before.at, UTCDateTime), sa.literal(before.id)
            )
            query = query.where(older)
        with self._read() as connection:
            return [_story(row) for row in connection.execute(query)]

    def stories_changed_since(self, after_revision: int, *, limit: int = 200) -> list[tuple[Story, int]]:
        """Stories with an article whose revision is above `after_revision`, each with its newest revision, in
        that revision's order: what a reconnecting home page missed, one entry per story however many of its
        articles changed. (An article belongs to one story, so no two stories share a newest revision.)"""
        changed = (
            sa.select(articles.c.story_id, sa.func.max(articles.c.revision).label("newest"))
            .where(articles.c.revision > after_revision, articles.c.story_id.is_not(None))
            .group_by(articles.c.story_id)
            .subquery()
        )
        query = (
            sa.select(stories, changed.c.newest)
            .join(changed, changed.c.story_id == stories.c.id)
            .order_by(changed.c.newest)
            .limit(limit)
        )
        with self._read() as connection:
            return [(_story(row), row.newest) for row in connection.execute(query)]


def story_members(connection: sa.Connection, story_id: int) -> list[StoryMember]:
    """The story's articles, oldest first."""
    query = _members().where(articles.c.story_id == story_id).order_by(articles.c.id)
    return [_member(row) for row in connection.execute(query)]


def lock_stories(connection: sa.Connection, story_ids: Iterable[int]) -> dict[int, Story]:
    """The stories that exist among `story_ids`, their rows locked until the end of the transaction (PostgreSQL;
    in id order, so two editors never deadlock): an assignment to them waits for the editor's decision."""
    query = sa.select(stories).where(stories.c.id.in_(sorted(set(story_ids)))).order_by(stories.c.id)
    return {row.id: _story(row) for row in connection.execute(query.with_for_update())}


def rewrite_stories(
    connection: sa.Connection, states: list[StoryState], moves: Mapping[int, list[int]], *, delete: Iterable[int] = ()
) -> list[int]:
    """Editors' decisions, inside `connection`'s transaction: save each story in `states`, move the articles of
    `moves` (index into `states` → article ids) there, delete the stories in `delete`. Returns the saved ids."""
    ids = []
    for state in states:
        if state.id is None:
            story_id = _insert_story(connection, state)
        else:
            story_id = state.id
            _update_story(connection, story_id, state)
            connection.execute(sa.delete(story_terms).where(story_terms.c.story_id == story_id))
        _insert_terms(connection, story_id, state.centroid, state.last_update)
        ids.append(story_id)
    for index, article_ids in moves.items():
        moved = connection.execute(
            sa.update(articles)
            .where(articles.c.id.in_(article_ids), articles.c.story_id.is_distinct_from(ids[index]))
            .values(story_id=ids[index])
            .returning(articles.c.id)
        )
        revisions.touch(connection, sorted(moved.scalars()))
    gone = list(delete)
    if gone:
        connection.execute(sa.delete(story_terms).where(story_terms.c.story_id.in_(gone)))
        connection.execute(sa.delete(stories).where(stories.c.id.in_(gone)))
    for story_id in ids:
        # Counted from the stories' own articles (through ix_articles_story_id): exact after any move.
        counts = sa.select(sa.func.count(), sa.func.count(sa.distinct(articles.c.site))).where(
            articles.c.story_id == story_id
        )
        article_count, outlet_count = connection.execute(counts).one()
        connection.execute(
            sa.update(stories)
            .where(stories.c.id == story_id)
            .values(article_count=article_count, outlet_count=outlet_count)
        )
    return ids


def _document_frequencies(connection: sa.Connection, terms: Iterable[str]) -> tuple[int, dict[str, int]]:
    wanted = [*set(terms), DOCUMENT_COUNT]
    query = sa.select(term_stats.c.term, term_stats.c.df).where(term_stats.c.term.in_(wanted))
    df: dict[str, int] = {term: n for term, n in connection.execute(query)}
    return df.pop(DOCUMENT_COUNT, 0), df


def _story_values(state: StoryState) -> dict[str, Any]:
    return {
        "title": state.title,
        "summary": state.summary,
        "first_seen": state.first_seen,
        "last_update": state.last_update,
        "title_article_id": state.title_article_id,
        "norm": state.norm,
    }


def _insert_story(connection: sa.Connection, state: StoryState) -> int:
    insert = sa.insert(stories).values(**_story_values(state), article_count=1, outlet_count=1)
    return connection.execute(insert.returning(stories.c.id)).scalar_one()


def _update_story(connection: sa.Connection, story_id: int, state: StoryState, **counts: int) -> None:
    connection.execute(sa.update(stories).where(stories.c.id == story_id).values(**_story_values(state), **counts))


def _term_rows(story_id: int, weights: Mapping[str, float], last_update: datetime) -> list[dict[str, Any]]:
    # Sorted, so concurrent writers on PostgreSQL take the row locks in the same order and never deadlock.
    return [
        {"term": term, "story_id": story_id, "weight": weights[term], "last_update": last_update}
        for term in sorted(weights)
    ]


def _insert_terms(connection: sa.Connection, story_id: int, weights: Mapping[str, float], at: datetime) -> None:
    if weights:
        connection.execute(sa.insert(story_terms), _term_rows(story_id, weights, at))


def _count_terms(connection: sa.Connection, insert: Any, terms: Iterable[str]) -> None:
    rows = [{"term": term, "df": 1} for term in sorted({*terms, DOCUMENT_COUNT})]
    # Sorted, so concurrent writers on PostgreSQL take the row locks in the same order and never deadlock.
    upsert = insert(term_stats).on_conflict_do_update(
        index_elements=[term_stats.c.term], set_={"df": term_stats.c.df + 1}
    )
    connection.execute(upsert, rows)


def _members() -> sa.Select[Any]:
    return sa.select(
        articles.c.id,
        articles.c.title,
        articles.c.text,
        articles.c.site,
        sa.func.coalesce(articles.c.published_at, articles.c.first_seen_at, type_=UTCDateTime).label("at"),
        articles.c.syndicated_from,
        articles.c.kind,
    )


def _member(row: sa.Row[Any]) -> StoryMember:
    return StoryMember(
        id=row.id,
        title=row.title,
        text=row.text,
        site=row.site,
        at=row.at,
        is_copy=row.syndicated_from is not None,
        is_post=row.kind == "post",
    )


def _story(row: sa.Row[Any]) -> Story:
    return Story(
        id=row.id,
        title=row.desk_title or row.title,
        summary=row.desk_summary or row.summary,
        first_seen=row.first_seen,
        last_update=row.last_update,
        article_count=row.article_count,
        outlet_count=row.outlet_count,
        title_article_id=row.title_article_id,
    )
