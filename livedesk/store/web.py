"""Queries behind the live pages and the API: keyset-paginated streams, search, topic pages, outlets.

Every stream is ordered newest first on (sort_at, id), where `sort_at` is a generated column
(published time, else first-seen time). Pages continue from a `Position` — never OFFSET — through indexes that
serve exactly that order: (story_id, sort_at, id) for a story, (site, sort_at, id) for an outlet, (sort_at, id)
for everything else. Rows arriving while a reader pages can therefore neither repeat nor shift a page.

Full-text search lives outside the table metadata because it differs per backend (see SEARCH_INDEX_NAMES):
SQLite keeps an external-content FTS5 table in sync with triggers, PostgreSQL a GIN expression index.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from livedesk.models import (
    EntityFilter,
    Outlet,
    Position,
    SearchResults,
    Selection,
    StoryStream,
    StreamItem,
    StreamPage,
    SyndicationMember,
    Topic,
    TopicQuery,
)
from livedesk.store.entities import entity_predicate
from livedesk.store.posts import posts
from livedesk.store.schema import UTCDateTime, articles, metadata
from livedesk.store.syndication import _MEMBER_COLUMNS

PAGE_SIZE = 20
# A search matches at most this many different words: the cost of matching and of highlighting grows with
# each word, and a reader's query never needs more.
MAX_SEARCH_TERMS = 16
# Highlighting reads at most this much of an article (PostgreSQL's ts_headline re-parses the text it is given).
SNIPPET_SOURCE_CHARS = 20_000
# The longest a search may run before it is stopped; a normal one takes milliseconds.
SEARCH_TIMEOUT_SECONDS = 10.0
# SQLite calls the progress handler every this many virtual-machine instructions (well under a millisecond).
_PROGRESS_STEPS = 1000
# Enough of the text for a three-sentence excerpt, without reading whole articles for a page of 20.
LEAD_CHARS = 1200
# Highlight markers in search snippets: private-use characters, never in the text, replaced by <mark> only
# after the snippet has been HTML-escaped.
MARK_START, MARK_END = "\ue000", "\ue001"

# Backend-specific search objects that the table metadata cannot describe. The schema comparison
# (tests/test_store.py) skips exactly these names: the FTS5 table and its shadow tables on SQLite, the
# expression index on PostgreSQL.
FTS_TABLE = "articles_fts"
SEARCH_INDEX = "ix_articles_search"
SEARCH_INDEX_NAMES = frozenset(
    {FTS_TABLE, SEARCH_INDEX, *(f"{FTS_TABLE}_{shadow}" for shadow in ("data", "idx", "docsize", "config"))}
)
# The PostgreSQL expression, spelled exactly as the index's so the planner matches them.
PG_DOCUMENT = "to_tsvector('simple'::regconfig, articles.title || ' ' || articles.text)"

# Published time, else first-seen: the time a reader sees, and the stream order.
articles.append_column(
    sa.Column("sort_at", UTCDateTime, sa.Computed("coalesce(published_at, first_seen_at)"), nullable=True)
)
sa.Index("ix_articles_story_sort", articles.c.story_id, articles.c.sort_at, articles.c.id)
sa.Index("ix_articles_site_sort", articles.c.site, articles.c.sort_at, articles.c.id)
sa.Index("ix_articles_sort", articles.c.sort_at, articles.c.id)

topics = sa.Table(
    "topics",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("slug", sa.String(100), nullable=False, unique=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("keywords", sa.Text, nullable=False, server_default=""),
    sa.Column("sources", sa.JSON, nullable=False),  # site domains
    sa.Column("story_ids", sa.JSON, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

_fts = sa.table(FTS_TABLE, sa.column("rowid", sa.Integer))
_WORD = re.compile(r"\w+")


class TopicExistsError(ValueError):
    """A topic page with this slug exists already."""


class SearchCancelledError(Exception):
    """The search was stopped through its SearchCancel (the reader went away)."""


class SearchTimeoutError(Exception):
    """The search ran past its time limit and was stopped."""


class SearchCancel:
    """Stops a search under way from another thread: `cancel()` interrupts the statement running for it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cancelled = False
        self._interrupt: Callable[[], None] | None = None

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def cancel(self) -> None:
        # Under the lock: the search cannot hand its connection back (and another query start on it, which a
        # PostgreSQL cancel request would hit) until the interrupt is delivered.
        with self._lock:
            self._cancelled = True
            if self._interrupt is not None:
                self._interrupt()

    def _interrupt_with(self, interrupt: Callable[[], None] | None) -> None:
        with self._lock:
            self._interrupt = interrupt


_ITEM_COLUMNS = (
    articles.c.id,
    articles.c.url,
    articles.c.site,
    articles.c.title,
    articles.c.byline,
    articles.c.sort_at.label("at"),
    articles.c.published_at,
    articles.c.published_date_only,
    articles.c.first_seen_at,
    sa.func.substr(articles.c.text, 1, LEAD_CHARS).label("lead"),
    articles.c.language,
    articles.c.attributed_to,
    articles.c.story_id,
    articles.c.original_id,
    articles.c.revision,
    articles.c.kind,
    articles.c.pinned_at.is_not(None).label("pinned"),
    articles.c.key_event,
    articles.c.hidden_reason,
    articles.c.post_id,
    sa.case((articles.c.kind == "post", articles.c.html), else_=None).label("body_html"),
    sa.func.coalesce(posts.c.version, 1).label("version"),
    posts.c.corrected_at,
    posts.c.correction_note,
    posts.c.retracted_reason,
)
# Articles with what the desk wrote about them: only post rows have a post (an outer join on its primary key).
_ITEMS_FROM = articles.outerjoin(posts, posts.c.id == articles.c.post_id)


def search_terms(text: str) -> list[str]:
    """The different words of a reader's query, lower-cased (both backends fold case), in order of first use:
    punctuation and operators mean nothing here, and a repeated word adds nothing to the work."""
    return list(dict.fromkeys(word.lower() for word in _WORD.findall(text)))


def _bounded_terms(text: str) -> list[str]:
    return search_terms(text)[:MAX_SEARCH_TERMS]


class WebStore:
    """Mixed into Store; uses its _read()/_write() connections."""

    if TYPE_CHECKING:
        dialect: str
        _insert: Any

        def _write(self) -> AbstractContextManager[sa.Connection]: ...
        def _read(self) -> sa.Connection: ...

    # streams

    def page(
        self,
        selection: Selection,
        *,
        before: Position | None = None,
        limit: int = PAGE_SIZE,
        with_hidden: bool = False,
    ) -> StreamPage:
        """Up to `limit` items of the selection, newest first, strictly older than `before`; hidden items only
        `with_hidden` (the desk's view of a page)."""
        with self._read() as connection:
            return self._page(connection, selection, before, limit, with_hidden=with_hidden)

    def _page(
        self,
        connection: sa.Connection,
        selection: Selection,
        before: Position | None,
        limit: int,
        *,
        with_hidden: bool = False,
    ) -> StreamPage:
        shown = self._items(selection)
        if not with_hidden:
            shown = shown.where(articles.c.hidden_reason.is_(None))
        query = shown.order_by(articles.c.sort_at.desc(), articles.c.id.desc()).limit(limit + 1)
        if before is not None:
            after = sa.tuple_(articles.c.sort_at, articles.c.id) < sa.tuple_(
                sa.literal(before.at, UTCDateTime), sa.literal(before.id)
            )
            query = query.where(after)
        items = [StreamItem(**row._mapping) for row in connection.execute(query)]
        more = len(items) > limit
        items = items[:limit]
        return StreamPage(items, items[-1].position if more and items else None)

    def changed_since(self, selection: Selection, after_revision: int, *, limit: int = 200) -> list[StreamItem]:
        """Items of the selection whose revision is above `after_revision`, in revision order — arrived, corrected,
        retracted, pinned or hidden since: what a reconnecting live page missed. Hidden items are included (the
        page removes them)."""
        query = (
            self._items(selection)
            .where(articles.c.revision > after_revision)
            .order_by(articles.c.revision)
            .limit(limit)
        )
        with self._read() as connection:
            return [StreamItem(**row._mapping) for row in connection.execute(query)]

    def pinned_items(self, selection: Selection, *, limit: int = 5) -> list[StreamItem]:
        """The selection's pinned items, most recently pinned first."""
        query = (
            self._items(selection)
            .where(articles.c.pinned_at.is_not(None), articles.c.hidden_reason.is_(None))
            .order_by(articles.c.pinned_at.desc(), articles.c.id.desc())
            .limit(limit)
        )
        with self._read() as connection:
            return [StreamItem(**row._mapping) for row in connection.execute(query)]

    def key_events(self, selection: Selection, *, limit: int = 20) -> list[StreamItem]:
        """The selection's items the desk marked as key events, newest first."""
        query = (
            self._items(selection)
            .where(articles.c.key_event, articles.c.hidden_reason.is_(None))
            .order_by(articles.c.sort_at.desc(), articles.c.id.desc())
            .limit(limit)
        )
        with self._read() as connection:
            return [StreamItem(**row._mapping) for row in connection.execute(query)]

    def stream_item(self, article_id: int, selection: Selection | None = None) -> StreamItem | None:
        """The article as a stream item (hidden or not); None if absent or (with `selection`) not part of it."""
        query = (
            sa.select(*_ITEM_COLUMNS).select_from(_ITEMS_FROM) if selection is None else self._items(selection)
        ).where(articles.c.id == article_id)
        with self._read() as connection:
            row = connection.execute(query).first()
        return None if row is None else StreamItem(**row._mapping)

    def last_article_id(self) -> int:
        """The highest article id so far (0 when empty): live streams continue from here."""
        with self._read() as connection:
            return connection.execute(sa.select(sa.func.max(articles.c.id))).scalar_one() or 0

    def syndication_groups(self, article_ids: Iterable[int]) -> dict[int, list[SyndicationMember]]:
        """The syndication group (original and copies, by first seen) of each article, in two queries."""
        ids = list(set(article_ids))
        if not ids:
            return {}
        with self._read() as connection:
            roots = {
                row.id: row.original_id or row.id
                for row in connection.execute(
                    sa.select(articles.c.id, articles.c.original_id).where(articles.c.id.in_(ids))
                )
            }
            wanted = set(roots.values())
            # Two index lookups, not `id IN … OR original_id IN … ORDER BY first_seen_at`: after an ANALYZE,
            # SQLite judges original_id (NULL for nearly every article) useless and scans the whole table in
            # first_seen_at order instead. Saying that the condition is rare keeps the index lookup.
            is_copy: sa.ColumnElement[bool] = articles.c.original_id.in_(wanted)
            if self.dialect == "sqlite":
                is_copy = sa.func.likelihood(is_copy, sa.literal_column("0.000001"))
            copies = sa.select(*_MEMBER_COLUMNS).where(is_copy)
            originals = sa.select(*_MEMBER_COLUMNS).where(articles.c.id.in_(wanted))
            rows = connection.execute(sa.union_all(originals, copies)).all()
        # An article may match both lookups (an original that is itself a copy): once each, by first seen.
        members = sorted(
            {row.id: SyndicationMember(**row._mapping) for row in rows}.values(), key=lambda m: (m.first_seen_at, m.id)
        )
        by_root: dict[int, list[SyndicationMember]] = {}
        for member in members:
            by_root.setdefault(member.root_id, []).append(member)
        return {article_id: by_root.get(root, []) for article_id, root in roots.items()}

    def _items(self, selection: Selection) -> sa.Select[Any]:
        return sa.select(*_ITEM_COLUMNS).select_from(_ITEMS_FROM).where(self._predicate(selection))

    def _predicate(self, selection: Selection) -> sa.ColumnElement[bool]:
        if isinstance(selection, EntityFilter):
            mentioning = entity_predicate(selection.entity_id)
            return mentioning if selection.within is None else sa.and_(mentioning, self._predicate(selection.within))
        if isinstance(selection, StoryStream):
            return articles.c.story_id == selection.story_id
        if isinstance(selection, TopicQuery):
            return self._topic_predicate(selection)
        conditions = [self._matches(selection.text)]
        if selection.sites:
            conditions.append(articles.c.site.in_(selection.sites))
        if selection.since is not None:
            conditions.append(articles.c.sort_at >= sa.literal(selection.since, UTCDateTime))
        if selection.until is not None:
            conditions.append(articles.c.sort_at < sa.literal(selection.until, UTCDateTime))
        if selection.story_id is not None:
            conditions.append(articles.c.story_id == selection.story_id)
        return sa.and_(*conditions)

    def _topic_predicate(self, query: TopicQuery) -> sa.ColumnElement[bool]:
        either: list[sa.ColumnElement[bool]] = []
        if query.topic_id is not None:
            either.append(articles.c.topic_id == query.topic_id)  # the desk's posts to this topic
        if query.story_ids:
            either.append(articles.c.story_id.in_(query.story_ids))
        if search_terms(query.keywords):
            matching = self._matches(query.keywords)
            either.append(sa.and_(matching, articles.c.site.in_(query.sources)) if query.sources else matching)
        elif query.sources:
            either.append(articles.c.site.in_(query.sources))
        return sa.or_(sa.false(), *either)

    def _matches(self, text: str) -> sa.ColumnElement[bool]:
        """Articles holding every word of `text`, through the backend's search index."""
        terms = _bounded_terms(text)
        if not terms:
            return sa.false()
        if self.dialect == "postgresql":
            query = sa.func.plainto_tsquery(sa.literal_column("'simple'::regconfig"), " ".join(terms))
            return sa.literal_column(PG_DOCUMENT).bool_op("@@")(query)
        found = sa.select(_fts.c.rowid).where(sa.literal_column(FTS_TABLE).op("MATCH")(_fts_query(terms)))
        return articles.c.id.in_(found)

    # search

    def search(
        self,
        selection: Selection,
        text: str,
        *,
        before: Position | None = None,
        limit: int = PAGE_SIZE,
        timeout: float = SEARCH_TIMEOUT_SECONDS,
        cancel: SearchCancel | None = None,
    ) -> SearchResults:
        """A page of `selection` (newest first, older than `before`) with a snippet of each item around the
        words of `text`, read within `timeout` seconds. Raises SearchTimeoutError past it, and
        SearchCancelledError once `cancel` is cancelled, from another thread; either stops the database's work."""
        cancel = cancel or SearchCancel()
        with self._read() as connection, self._stoppable(connection, timeout, cancel):
            page = self._page(connection, selection, before, limit)
            if cancel.cancelled:  # a cancel between two statements interrupts neither
                raise SearchCancelledError
            snippets = self._snippets(connection, text, [item.id for item in page.items])
        return SearchResults(page, snippets)

    @contextmanager
    def _stoppable(self, connection: sa.Connection, timeout: float, cancel: SearchCancel) -> Iterator[None]:
        """Statements on `connection` stop when `timeout` passes or `cancel` is cancelled: SQLite checks both in
        its progress handler; PostgreSQL enforces a statement timeout for this transaction and is sent a cancel
        request on `cancel`."""
        driver: Any = connection.connection.driver_connection
        deadline = time.monotonic() + timeout
        if self.dialect == "sqlite":
            driver.set_progress_handler(lambda: cancel.cancelled or time.monotonic() > deadline, _PROGRESS_STEPS)
        else:
            # LOCAL: the setting ends with this (read-only) transaction, before the connection returns to the pool.
            connection.exec_driver_sql(f"SET LOCAL statement_timeout = {max(1, round(timeout * 1000))}")
            cancel._interrupt_with(driver.cancel_safe)
        try:
            if cancel.cancelled:
                raise SearchCancelledError
            yield
        except sa.exc.OperationalError as error:  # SQLite "interrupted"; PostgreSQL QueryCanceled
            if cancel.cancelled:
                raise SearchCancelledError from error
            if time.monotonic() >= deadline:
                raise SearchTimeoutError(f"the search ran past {timeout:g} s") from error
            raise
        finally:
            if self.dialect == "sqlite":
                driver.set_progress_handler(None, 0)
            else:
                cancel._interrupt_with(None)

    def _snippets(self, connection: sa.Connection, text: str, article_ids: Sequence[int]) -> dict[int, str]:
        """A passage of each article around the words of `text`, matches between MARK_START and MARK_END."""
        terms = _bounded_terms(text)
        if not terms or not article_ids:
            return {}
        if self.dialect == "postgresql":
            options = f"StartSel={MARK_START}, StopSel={MARK_END}, MaxWords=35, MinWords=15, MaxFragments=2"
            query = sa.select(
                articles.c.id,
                sa.func.ts_headline(
                    sa.literal_column("'simple'::regconfig"),
                    sa.func.substr(articles.c.text, 1, SNIPPET_SOURCE_CHARS),
                    sa.func.plainto_tsquery(sa.literal_column("'simple'::regconfig"), " ".join(terms)),
                    options,
                ),
            ).where(articles.c.id.in_(article_ids))
        else:
            snippet = sa.func.snippet(sa.literal_column(FTS_TABLE), 1, MARK_START, MARK_END, "…", 32)
            query = sa.select(_fts.c.rowid, snippet).where(
                sa.literal_column(FTS_TABLE).op("MATCH")(_fts_query(terms)), _fts.c.rowid.in_(article_ids)
            )
        return {row[0]: row[1] for row in connection.execute(query)}

    # topics

    def create_topic(self, slug: str, title: str, query: TopicQuery) -> Topic:
        """A new topic page; TopicExistsError if the slug is taken (checked by the insert itself: no race)."""
        values = {
            "slug": slug,
            "title": title,
            "keywords": query.keywords,
            "sources": list(query.sources),
            "story_ids": list(query.story_ids),
            "created_at": datetime.now(UTC),
        }
        with self._write() as connection:
            insert = self._insert(topics).values(**values).on_conflict_do_nothing(index_elements=[topics.c.slug])
            row = connection.execute(insert.returning(*topics.c)).first()
        if row is None:
            raise TopicExistsError(slug)
        return _topic(row)

    def get_topic(self, slug: str) -> Topic | None:
        with self._read() as connection:
            row = connection.execute(sa.select(topics).where(topics.c.slug == slug)).first()
        return None if row is None else _topic(row)

    def list_topics(self) -> list[Topic]:
        with self._read() as connection:
            return [_topic(row) for row in connection.execute(sa.select(topics).order_by(topics.c.title))]

    # outlets

    def outlets(self) -> list[Outlet]:
        """Every site with its latest article time: a skip scan over (site, sort_at, id), one index probe per
        site, so the cost follows the number of outlets, not of articles."""
        sites = sa.select(sa.func.min(articles.c.site).label("site")).cte("sites", recursive=True)
        following = sa.select(
            sa.select(sa.func.min(articles.c.site)).where(articles.c.site > sites.c.site).scalar_subquery()
        ).where(sites.c.site.is_not(None))
        sites = sites.union_all(following)
        latest = sa.select(sa.func.max(articles.c.sort_at)).where(articles.c.site == sites.c.site)
        query = sa.select(sites.c.site, latest.scalar_subquery().label("last_at")).where(sites.c.site.is_not(None))
        with self._read() as connection:
            rows = connection.execute(query.order_by(sites.c.site)).all()
        return [Outlet(row.site, row.last_at) for row in rows]


def _fts_query(terms: list[str]) -> str:
    # Every word quoted: FTS5 reads them as plain strings, never as operators or column filters.
    return " ".join('"' + term.replace('"', "") + '"' for term in terms)


def _topic(row: sa.Row[Any]) -> Topic:
    query = TopicQuery(
        keywords=row.keywords, sources=tuple(row.sources), story_ids=tuple(row.story_ids), topic_id=row.id
    )
    return Topic(id=row.id, slug=row.slug, title=row.title, query=query, created_at=row.created_at)
