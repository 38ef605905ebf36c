"""Queries behind the live pages and the API: keyset-paginated streams, search, topic pages, outlets.

Every stream is ordered newest first on (sort_at, id), where `sort_at` is a generated column
(published time, else first-seen time). Pages continue from a `Position` — never OFFSET — through indexes that
serve exactly that order: (story_id, sort_at, id) for a story, (site, sort_at, id) for an outlet, (sort_at, id)
for everything else. Rows arriving while a reader pages can therefore neither repeat nor shift a page.

Full-text search lives outside the table metadata because it differs per backend (see SEARCH_INDEX_NAMES):
SQLite keeps an external-content FTS5 table in sync with triggers, PostgreSQL a GIN expression index. Both stem
English words (FTS5's porter tokenizer, PostgreSQL's English Snowball stemmer) and keep every other word as it
is; neither drops stop words, so "the" finds the same articles on both. Results are ranked by relevance (FTS5's
bm25, PostgreSQL's ts_rank_cd), a title match counting TITLE_WEIGHT times one in the text, or listed by date;
one parser of ours (livedesk.store.search_syntax) reads the reader's query for both.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa

from livedesk.models import (
    EntityFilter,
    Outlet,
    Position,
    SearchResults,
    Selection,
    SiteStream,
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
from livedesk.store.search_syntax import SearchQuery, parse_search
from livedesk.store.syndication import _MEMBER_COLUMNS

PAGE_SIZE = 20
# Sites named by one query of `site_names`: a page shows a few dozen outlets.
SITE_NAME_LOOKUPS = 200
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
# English stemming without a stop-word list (migration 0012): articles are mostly English, and like FTS5's
# porter tokenizer it leaves words of other languages whole rather than dropping "die" or "a" from a query.
PG_SEARCH_CONFIG = "'livedesk_english'::regconfig"
# The PostgreSQL expression, spelled exactly as the index's so the planner matches them: the title weighted A,
# the text B.
PG_DOCUMENT = (
    f"(setweight(to_tsvector({PG_SEARCH_CONFIG}, articles.title), 'A'::\"char\")"
    f" || setweight(to_tsvector({PG_SEARCH_CONFIG}, articles.text), 'B'::\"char\"))"
)
# A word in the title counts this many times one in the text, on both backends: FTS5's bm25 column weights
# (title, text), ts_rank_cd's weights for labels {D, C, B, A} (text is B, the title A).
TITLE_WEIGHT = 5.0
_PG_RANK_WEIGHTS = f"'{{0.1, 0.2, {1 / TITLE_WEIGHT}, 1.0}}'::float4[]"
# ts_rank_cd normalisation 1: divided by 1 + log(the document's length), as bm25 discounts long documents.
_PG_RANK_NORMALISATION = 1

SearchOrder = Literal["relevance", "date"]

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
# What a search page reads beside the items' columns.
_HIT_COLUMNS = frozenset({"story_matches", "score"})


class WebStore:
    """Mixed into Store; uses its _read()/_write() connections."""

    if TYPE_CHECKING:
        dialect: str
        _insert: Any
        outlet_names: Mapping[str, str]

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
        one_per_group: bool = False,
    ) -> StreamPage:
        """Up to `limit` items of the selection, newest first, strictly older than `before`; hidden items only
        `with_hidden` (the desk's view of a page); `one_per_group`: one item per syndication group, the one that
        `group_cards` names (a live page shows copies on their original's card, not as updates of their own)."""
        with self._read() as connection:
            return self._page(
                connection, selection, before, limit, with_hidden=with_hidden, one_per_group=one_per_group
            )

    def _page(
        self,
        connection: sa.Connection,
        selection: Selection,
        before: Position | None,
        limit: int,
        *,
        with_hidden: bool = False,
        one_per_group: bool = False,
    ) -> StreamPage:
        shown = self._items(selection)
        if not with_hidden:
            shown = shown.where(articles.c.hidden_reason.is_(None))
        if one_per_group:
            # A condition on each row alone (not a grouping): keyset pages stay exact.
            shown = shown.where(_stands_for_group())
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

    def group_cards(self, selection: Selection, items: Iterable[StreamItem]) -> dict[int, StreamItem]:
        """For each item, the visible item of `selection` that shows its syndication group on a one-per-group
        page (its original, or the copy standing in for a hidden original); items whose group shows nothing there
        are absent."""
        roots = {item.id: item.original_id or item.id for item in items}
        if not roots:
            return {}
        wanted = set(roots.values())
        query = self._items(selection).where(
            sa.or_(articles.c.id.in_(wanted), articles.c.original_id.in_(wanted)),
            articles.c.hidden_reason.is_(None),
            _stands_for_group(),
        )
        with self._read() as connection:
            shown = [StreamItem(**row._mapping) for row in connection.execute(query)]
        by_root = {item.original_id or item.id: item for item in shown}
        return {article_id: by_root[root] for article_id, root in roots.items() if root in by_root}

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

    def _predicate(self, selection: Selection, *, searched: bool = False) -> sa.ColumnElement[bool]:
        """The selection's articles; `searched`: a search's words are matched by the caller (search()), not here."""
        if isinstance(selection, EntityFilter):
            mentioning = entity_predicate(selection.entity_id)
            if selection.within is None:
                return mentioning
            return sa.and_(mentioning, self._predicate(selection.within, searched=searched))
        if isinstance(selection, StoryStream):
            return articles.c.story_id == selection.story_id
        if isinstance(selection, SiteStream):
            return sa.true()
        if isinstance(selection, TopicQuery):
            return self._topic_predicate(selection)
        conditions = [] if searched else [self._matches(parse_search(selection.text))]
        if selection.sites:
            conditions.append(articles.c.site.in_(selection.sites))
        if selection.since is not None:
            conditions.append(articles.c.sort_at >= sa.literal(selection.since, UTCDateTime))
        if selection.until is not None:
            conditions.append(articles.c.sort_at < sa.literal(selection.until, UTCDateTime))
        if selection.story_id is not None:
            conditions.append(articles.c.story_id == selection.story_id)
        return sa.and_(sa.true(), *conditions)

    def _topic_predicate(self, query: TopicQuery) -> sa.ColumnElement[bool]:
        either: list[sa.ColumnElement[bool]] = []
        if query.topic_id is not None:
            either.append(articles.c.topic_id == query.topic_id)  # the desk's posts to this topic
        if query.story_ids:
            either.append(articles.c.story_id.in_(query.story_ids))
        if keywords := parse_search(query.keywords):
            matching = self._matches(keywords)
            either.append(sa.and_(matching, articles.c.site.in_(query.sources)) if query.sources else matching)
        elif query.sources:
            either.append(articles.c.site.in_(query.sources))
        return sa.or_(sa.false(), *either)

    def _matches(self, query: SearchQuery) -> sa.ColumnElement[bool]:
        """Articles matching `query`, through the backend's search index."""
        if not query:
            return sa.false()
        if self.dialect == "postgresql":
            return sa.literal_column(PG_DOCUMENT).bool_op("@@")(_tsquery(query))
        return articles.c.id.in_(sa.select(_fts.c.rowid).where(_fts_match(query)))

    # search

    def search(
        self,
        selection: Selection,
        text: str,
        *,
        order: SearchOrder = "relevance",
        by_story: bool = False,
        before: Position | None = None,
        limit: int = PAGE_SIZE,
        timeout: float = SEARCH_TIMEOUT_SECONDS,
        cancel: SearchCancel | None = None,
    ) -> SearchResults:
        """A page of the articles of `selection` matching the query in `text`, the most relevant first (or the
        newest first), after `before`, with a snippet of each around the words it matched; `by_story`: one
        article per story, its best (or newest) match. Read within `timeout` seconds: raises SearchTimeoutError
        past it, and SearchCancelledError once `cancel` is cancelled, from another thread; either stops the
        database's work. A `before` must come from a page in the same order (with a score, or without)."""
        if before is not None and (before.score is not None) != (order == "relevance"):
            raise ValueError(f"a position from a search in another order than by {order}")
        query = parse_search(text)
        cancel = cancel or SearchCancel()
        with self._read() as connection, self._stoppable(connection, timeout, cancel):
            if not query:
                return SearchResults(StreamPage([], None), {}, {})
            rows = connection.execute(self._search_page(selection, query, order, by_story, before, limit)).all()
            if cancel.cancelled:  # a cancel between two statements interrupts neither
                raise SearchCancelledError
            shown = rows[:limit]
            snippets = self._snippets(connection, query, [row.id for row in shown])
        items = [StreamItem(**{k: v for k, v in row._mapping.items() if k not in _HIT_COLUMNS}) for row in shown]
        following = None
        if len(rows) > limit and shown:
            last = shown[-1]
            following = Position(last.at, last.id, last.score)
        matches = {row.id: row.story_matches for row in shown}
        return SearchResults(StreamPage(items, following), snippets, matches)

    def _search_page(
        self,
        selection: Selection,
        query: SearchQuery,
        order: SearchOrder,
        by_story: bool,
        before: Position | None,
        limit: int,
    ) -> sa.Select[Any]:
        """Every match is numbered within its story (a window over the matches, in page order) and counted per
        story; the page is a keyset page of all matches, or of each story's first, in the order of
        (score, sort_at, id) or (sort_at, id), all descending."""
        source, condition, score = self._found(query, ranked=order == "relevance")
        keys = [articles.c.sort_at, articles.c.id] if score is None else [score, articles.c.sort_at, articles.c.id]
        story = sa.func.coalesce(articles.c.story_id, -articles.c.id)  # an article of no story is one alone
        hits = (
            sa.select(
                articles.c.id.label("hit_id"),
                *(key.label(f"key{n}") for n, key in enumerate(keys)),
                sa.func.count().over(partition_by=story).label("story_matches"),
                sa.func.row_number().over(partition_by=story, order_by=[key.desc() for key in keys]).label("nth"),
            )
            .select_from(source)
            .where(condition, self._predicate(selection, searched=True), articles.c.hidden_reason.is_(None))
            .subquery("hits")
        )
        ordered = [hits.c[f"key{n}"] for n in range(len(keys))]
        page = (
            sa.select(
                *_ITEM_COLUMNS,
                hits.c.story_matches,
                (ordered[0] if score is not None else sa.null()).label("score"),
            )
            .select_from(_ITEMS_FROM.join(hits, hits.c.hit_id == articles.c.id))
            .order_by(*(key.desc() for key in ordered))
            .limit(limit + 1)
        )
        if by_story:
            page = page.where(hits.c.nth == 1)
        if before is not None:
            bound: list[Any] = [sa.literal(before.at, UTCDateTime), sa.literal(before.id)]
            if score is not None:
                bound.insert(0, sa.literal(before.score, sa.Float(53)))
            page = page.where(sa.tuple_(*ordered) < sa.tuple_(*bound))
        return page

    def _found(
        self, query: SearchQuery, *, ranked: bool
    ) -> tuple[sa.FromClause, sa.ColumnElement[bool], sa.ColumnElement[float] | None]:
        """Where the matches of `query` are read from, the condition they meet, and (`ranked`) their score,
        higher for a better match. SQLite's bm25 needs the FTS5 table in the statement: a join, not IN."""
        if self.dialect == "postgresql":
            tsquery = _tsquery(query)
            document: sa.ColumnElement[Any] = sa.literal_column(PG_DOCUMENT)
            rank = sa.func.ts_rank_cd(sa.literal_column(_PG_RANK_WEIGHTS), document, tsquery, _PG_RANK_NORMALISATION)
            return articles, document.bool_op("@@")(tsquery), sa.cast(rank, sa.Float(53)) if ranked else None
        if not ranked:
            return articles, self._matches(query), None
        bm25 = sa.func.bm25(sa.literal_column(FTS_TABLE), TITLE_WEIGHT, 1.0)  # lower for a better match
        matched = sa.select(_fts.c.rowid.label("id"), (-bm25).label("score")).where(_fts_match(query)).subquery()
        return articles.join(matched, matched.c.id == articles.c.id), sa.true(), matched.c.score

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

    def _snippets(self, connection: sa.Connection, query: SearchQuery, article_ids: Sequence[int]) -> dict[int, str]:
        """A passage of each article around the words it matched, matches between MARK_START and MARK_END."""
        if not article_ids:
            return {}
        if self.dialect == "postgresql":
            options = f"StartSel={MARK_START}, StopSel={MARK_END}, MaxWords=35, MinWords=15, MaxFragments=2"
            snippets = sa.select(
                articles.c.id,
                sa.func.ts_headline(
                    sa.literal_column(PG_SEARCH_CONFIG),
                    sa.func.substr(articles.c.text, 1, SNIPPET_SOURCE_CHARS),
                    _tsquery(query),
                    options,
                ),
            ).where(articles.c.id.in_(article_ids))
        else:
            snippet = sa.func.snippet(sa.literal_column(FTS_TABLE), 1, MARK_START, MARK_END, "…", 32)
            snippets = sa.select(_fts.c.rowid, snippet).where(_fts_match(query), _fts.c.rowid.in_(article_ids))
        return {row[0]: row[1] for row in connection.execute(snippets)}

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

    def site_names(self, sites: Iterable[str]) -> dict[str, str]:
        """The name each site goes by: the configured one (`outlet_names`), else the newest name its articles
        gave (og:site_name, a feed's title); sites named nowhere are absent. One index probe per site, at most
        SITE_NAME_LOOKUPS sites a query."""
        wanted = list(dict.fromkeys(sites))
        names = {site: self.outlet_names[site] for site in wanted if site in self.outlet_names}
        unnamed = [site for site in wanted if site not in names]
        for start in range(0, len(unnamed), SITE_NAME_LOOKUPS):
            some = unnamed[start : start + SITE_NAME_LOOKUPS]
            newest = [
                sa.select(articles.c.site_name)
                .where(articles.c.site == site, articles.c.site_name.is_not(None))
                .order_by(articles.c.sort_at.desc(), articles.c.id.desc())
                .limit(1)
                .scalar_subquery()
                .label(f"site_{number}")
                for number, site in enumerate(some)
            ]
            with self._read() as connection:
                row = connection.execute(sa.select(*newest)).one()
            names.update({site: name for site, name in zip(some, row, strict=True) if name})
        return names

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


def _stands_for_group() -> sa.ColumnElement[bool]:
    """The row shows its syndication group: it is an original (or stands alone), or a copy standing in for an
    original that is hidden or in another story — the earliest visible copy (by first seen) of its group."""
    original = articles.alias("original")
    sibling = articles.alias("sibling")
    original_shown = sa.exists().where(
        original.c.id == articles.c.original_id,
        original.c.hidden_reason.is_(None),
        original.c.story_id.is_not_distinct_from(articles.c.story_id),
    )
    earlier_copy = sa.exists().where(
        sibling.c.original_id == articles.c.original_id,
        sibling.c.hidden_reason.is_(None),
        sibling.c.story_id.is_not_distinct_from(articles.c.story_id),
        sa.tuple_(sibling.c.first_seen_at, sibling.c.id) < sa.tuple_(articles.c.first_seen_at, articles.c.id),
    )
    return sa.or_(articles.c.original_id.is_(None), sa.and_(~original_shown, ~earlier_copy))


def _fts_match(query: SearchQuery) -> sa.ColumnElement[bool]:
    return sa.literal_column(FTS_TABLE).op("MATCH")(query.fts5())


def _tsquery(query: SearchQuery) -> sa.ColumnElement[Any]:
    return sa.func.to_tsquery(sa.literal_column(PG_SEARCH_CONFIG), query.tsquery())


def _topic(row: sa.Row[Any]) -> Topic:
    query = TopicQuery(
        keywords=row.keywords, sources=tuple(row.sources), story_ids=tuple(row.story_ids), topic_id=row.id
    )
    return Topic(id=row.id, slug=row.slug, title=row.title, query=query, created_at=row.created_at)
