"""The only place with SQL: every read and write of livedesk's data goes through Store.

`Store.open(url)` works the same on SQLite (a file, the embedded default) and PostgreSQL (scaled out).
Every write is its own committed transaction, and article writes are idempotent upserts keyed by the
canonical-URL hash, so replaying an ingest after a crash neither loses nor duplicates anything.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from livedesk.models import Actor, Article, Source, SourceKind, StoredArticle, Upserted, UpsertOutcome
from livedesk.store import audit, revisions
from livedesk.store import engine as engines
from livedesk.store.accounts import AccountStore
from livedesk.store.audit import AuditStore
from livedesk.store.claims import ClaimStore
from livedesk.store.edits import EditSession
from livedesk.store.entities import EntityStore
from livedesk.store.posts import PostStore
from livedesk.store.schema import articles, sources
from livedesk.store.sessions import SessionStore
from livedesk.store.stories import StoryStore
from livedesk.store.syndication import SyndicationStore
from livedesk.store.views import ViewStore
from livedesk.store.web import WebStore

__all__ = ["SourceNotFoundError", "Store"]

_ARTICLE_FIELDS = tuple(f.name for f in fields(Article))
# Ingested articles, not the rows that show the desk's posts: the chain never reprocesses a post.
_INGESTED = articles.c.kind == "article"
_SOURCE_FIELDS = tuple(f.name for f in fields(Source))


class SourceNotFoundError(LookupError):
    pass


class Store(
    SyndicationStore,
    StoryStore,
    WebStore,
    ViewStore,
    EntityStore,
    ClaimStore,
    AccountStore,
    SessionStore,
    PostStore,
    AuditStore,
):
    def __init__(self, engine: sa.Engine, *, outlet_names: Mapping[str, str] | None = None) -> None:
        """Wrap a ready engine; use Store.open(url), which also migrates. `outlet_names` ({domain: name}, as
        configured) win over the names outlets give themselves (see `site_names`)."""
        self._engine = engine
        self.outlet_names: Mapping[str, str] = dict(outlet_names or {})
        self.dialect: str = engine.dialect.name
        # SQLite allows one writer at a time: threads of this process queue here rather than spin on
        # SQLITE_BUSY. PostgreSQL handles concurrent writers itself (row locks, ON CONFLICT).
        self._write_lock: AbstractContextManager[Any] = threading.Lock() if self.dialect == "sqlite" else nullcontext()
        self._insert = sqlite.insert if self.dialect == "sqlite" else postgresql.insert

    @classmethod
    def open(cls, url: str, *, outlet_names: Mapping[str, str] | None = None) -> Store:
        """Connect to a SQLAlchemy URL (or a SQLite file path) and migrate the schema to the latest."""
        engine = engines.create(url)
        try:
            engines.migrate(engine)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, outlet_names=outlet_names)

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sa.Connection]:
        """One committed write transaction; rolled back entirely if anything inside raises."""
        with self._write_lock, self._engine.connect() as connection:
            connection.execution_options(**{engines.WRITE: True})
            try:
                with connection.begin():
                    yield connection
                    revisions.assign(connection)  # last: see livedesk.store.revisions
            finally:
                revisions.discard(connection)

    def _read(self) -> sa.Connection:
        return self._engine.connect()

    @contextmanager
    def edit_session(self) -> Iterator[EditSession]:
        """One write transaction for one editor's decision on stories (merge, split)."""
        with self._write() as connection:
            yield EditSession(connection, self._insert)

    # sources

    def add_source(
        self, url: str, kind: SourceKind = SourceKind.FEED, title: str | None = None, *, actor: Actor | None = None
    ) -> tuple[Source, bool]:
        """The source at `url`, created if new; `created` tells which. An existing one is left as is."""
        return self.add_sources([(url, kind, title)], actor=actor)[0]

    def add_sources(
        self, entries: Sequence[tuple[str, SourceKind, str | None]], *, actor: Actor | None = None
    ) -> list[tuple[Source, bool]]:
        """`add_source` for each (url, kind, title), in one transaction: all are added or none. With `actor`, each
        new source gets its audit entry in that transaction."""
        added = []
        with self._write() as connection:
            for url, kind, title in entries:
                insert = (
                    self._insert(sources)
                    .values(url=url, kind=str(kind), title=title, created_at=_now())
                    .on_conflict_do_nothing(index_elements=[sources.c.url])
                    .returning(*sources.c)
                )
                row = connection.execute(insert).first()
                if row is not None:
                    added.append((_source(row), True))
                    if actor is not None:
                        audit.record(connection, actor, "source.add", f"source:{row.id}", None, _source_state(row))
                else:
                    existing = connection.execute(sa.select(sources).where(sources.c.url == url)).one()
                    added.append((_source(existing), False))
        return added

    def list_sources(self) -> list[Source]:
        with self._read() as connection:
            return [_source(row) for row in connection.execute(sa.select(sources).order_by(sources.c.id))]

    def get_source(self, source_id: int) -> Source | None:
        with self._read() as connection:
            row = connection.execute(sa.select(sources).where(sources.c.id == source_id)).first()
        return None if row is None else _source(row)

    def due_sources(self, now: datetime) -> list[Source]:
        """Enabled sources whose next poll time has come (or never polled), the longest waiting first."""
        with self._read() as connection:
            return [_source(row) for row in connection.execute(_due(now))]

    def count_due_sources(self, now: datetime) -> int:
        """How many enabled sources are due for a poll at `now` (those being polled right now included)."""
        due = _due(now).order_by(None).subquery()
        with self._read() as connection:
            return connection.execute(sa.select(sa.func.count()).select_from(due)).scalar_one()

    def lease_due_sources(self, now: datetime, *, lease: timedelta, limit: int = 100) -> list[Source]:
        """Take the due sources nobody holds for `lease`: each is polled by one poller at a time, and comes due again
        if its poller dies without reporting. The poll's outcome (record_poll_*) releases it."""
        due = _due(now).where(sa.or_(sources.c.leased_until.is_(None), sources.c.leased_until <= now)).limit(limit)
        with self._write() as connection:
            # PostgreSQL: pollers skip each other's rows instead of queueing; SQLite's write lock serialises them.
            ids = [row.id for row in connection.execute(due.with_for_update(skip_locked=True))]
            if not ids:
                return []
            leased = (
                sa.update(sources).where(sources.c.id.in_(ids)).values(leased_until=now + lease).returning(*sources.c)
            )
            by_id = {row.id: _source(row) for row in connection.execute(leased)}
        return [by_id[i] for i in ids]

    def record_poll_success(
        self,
        source_id: int,
        *,
        polled_at: datetime,
        next_poll_at: datetime,
        etag: str | None,
        last_modified: str | None,
        title: str | None = None,
    ) -> None:
        """Store the validators for the next conditional request and clear the failure count."""
        self._update_source(
            source_id,
            last_polled_at=polled_at,
            next_poll_at=next_poll_at,
            etag=etag,
            last_modified=last_modified,
            title=sa.func.coalesce(title, sources.c.title),
            error_count=0,
            last_error=None,
            leased_until=None,
        )

    def record_poll_failure(
        self, source_id: int, *, polled_at: datetime, error: str, next_poll_at: datetime, disable_after: int
    ) -> Source:
        """Count one more consecutive failure; the source is disabled when it reaches `disable_after`."""
        failures = sources.c.error_count + 1
        gives_up = sa.and_(failures >= disable_after, sa.not_(sources.c.disabled))
        reason = f"disabled after {disable_after} consecutive failures; last: {error}"
        return self._update_source(
            source_id,
            last_polled_at=polled_at,
            next_poll_at=next_poll_at,
            error_count=failures,
            last_error=error,
            disabled=sa.or_(sources.c.disabled, failures >= disable_after),
            disabled_reason=sa.case((gives_up, reason), else_=sources.c.disabled_reason),
            leased_until=None,
        )

    def enable_source(self, source_id: int, *, actor: Actor | None = None) -> Source:
        """Re-enable a disabled source with a clean slate; it is due at once. Audited as `actor`'s, if given."""
        return self._update_source(
            source_id,
            disabled=False,
            disabled_reason=None,
            error_count=0,
            last_error=None,
            next_poll_at=None,
            audited=None if actor is None else (actor, "source.enable"),
        )

    def disable_source(self, source_id: int, reason: str, *, actor: Actor | None = None) -> Source:
        """Stop polling a source (an editor's decision, kept with its reason) until it is enabled again."""
        audited = None if actor is None else (actor, "source.disable")
        return self._update_source(source_id, disabled=True, disabled_reason=reason, audited=audited)

    def poll_source_now(self, source_id: int, actor: Actor, *, now: datetime | None = None) -> Source:
        """Make a source due now: the running poller takes it on its next round. A lease still held stays (that
        poll is under way); an expired one is cleared."""
        now = now or _now()
        return self._update_source(
            source_id,
            next_poll_at=now,
            leased_until=sa.case((sources.c.leased_until > now, sources.c.leased_until), else_=None),
            audited=(actor, "source.poll_now"),
        )

    def _update_source(self, source_id: int, *, audited: tuple[Actor, str] | None = None, **values: Any) -> Source:
        update = sa.update(sources).where(sources.c.id == source_id).values(**values).returning(*sources.c)
        with self._write() as connection:
            # The state before, for the audit entry only: the poller's own updates skip this read.
            current = sa.select(sources).where(sources.c.id == source_id)
            before = None if audited is None else connection.execute(current).first()
            row = connection.execute(update).first()
            if row is None:
                raise SourceNotFoundError(source_id)
            if audited is not None and before is not None:
                actor, action = audited
                target = f"source:{source_id}"
                audit.record(connection, actor, action, target, _source_state(before), _source_state(row))
        return _source(row)

    # articles

    def upsert_article(self, article: Article) -> Upserted:
        """Insert, update or ignore `article`, keyed by its url_hash (see _merge for the rules). A new or changed
        article is due for every later stage again (processed_at cleared)."""
        now = _now()
        insert = (
            self._insert(articles)
            .values(**_article_values(article), updated_at=now)
            .on_conflict_do_nothing(index_elements=[articles.c.url_hash])
            .returning(*articles.c)
        )
        with self._write() as connection:
            # On PostgreSQL a concurrent insert of the same url_hash makes this wait for that
            # transaction, then do nothing: exactly one writer ever sees NEW.
            inserted = connection.execute(insert).first()
            if inserted is not None:
                revisions.touch(connection, [inserted.id])
                return Upserted(UpsertOutcome.NEW, _stored_article(inserted))
            # The row lock keeps concurrent updaters of the same article in turn (ignored by SQLite,
            # where the write lock already serialises).
            row = connection.execute(
                sa.select(articles).where(articles.c.url_hash == article.url_hash).with_for_update()
            ).one()
            merged = _merge(_article(row), article)
            if merged is None:
                return Upserted(UpsertOutcome.DUPLICATE, _stored_article(row))
            update = (
                sa.update(articles)
                .where(articles.c.id == row.id)
                .values(**_article_values(merged), updated_at=now, processed_at=None)
                .returning(*articles.c)
            )
            revisions.touch(connection, [row.id])
            return Upserted(UpsertOutcome.UPDATED, _stored_article(connection.execute(update).one()))

    def mark_processed(self, article_id: int) -> None:
        """The article went through every stage of the chain."""
        update = sa.update(articles).where(articles.c.id == article_id).values(processed_at=_now())
        with self._write() as connection:
            connection.execute(update)

    def mark_unprocessed(self) -> None:
        """Every article due for the whole chain again (a backfill after the stages changed)."""
        with self._write() as connection:
            connection.execute(sa.update(articles).where(_INGESTED).values(processed_at=None))

    def unprocessed_articles(self, *, after_id: int = 0, limit: int = 500) -> list[StoredArticle]:
        """Stored articles with a stage still due (an ingest stopped midway), in arrival order from `after_id`."""
        query = (
            sa.select(articles)
            .where(articles.c.processed_at.is_(None), articles.c.id > after_id)
            .order_by(articles.c.id)
            .limit(limit)
        )
        with self._read() as connection:
            return [_stored_article(row) for row in connection.execute(query)]

    def count_unprocessed_articles(self) -> int:
        """How many stored articles have a stage still due (a partial index holds exactly those)."""
        query = sa.select(sa.func.count()).select_from(articles).where(articles.c.processed_at.is_(None))
        with self._read() as connection:
            return connection.execute(query).scalar_one()

    def schema_is_current(self) -> bool:
        """Whether the database answers and its schema is at the latest migration (raises when it cannot be
        reached)."""
        with self._read() as connection:
            return engines.at_head(connection)

    def get_article(self, url_hash: str) -> StoredArticle | None:
        with self._read() as connection:
            row = connection.execute(sa.select(articles).where(articles.c.url_hash == url_hash)).first()
        return None if row is None else _stored_article(row)

    def find_article(self, url: str, url_hash: str) -> StoredArticle | None:
        """The article stored under this canonical-URL hash or fetched at exactly this URL."""
        query = sa.select(articles).where((articles.c.url_hash == url_hash) | (articles.c.url == url)).limit(1)
        with self._read() as connection:
            row = connection.execute(query).first()
        return None if row is None else _stored_article(row)

    def find_by_content_hash(self, content_hash: str) -> list[StoredArticle]:
        """Every stored copy with exactly this text, oldest first."""
        query = sa.select(articles).where(articles.c.content_hash == content_hash).order_by(articles.c.id)
        with self._read() as connection:
            return [_stored_article(row) for row in connection.execute(query)]

    def iter_articles(self, *, batch_size: int = 500) -> Iterator[StoredArticle]:
        """Every ingested article by id, read in batches (keyset pagination: no open transaction between them)."""
        by_id = sa.select(articles).where(_INGESTED).order_by(articles.c.id).limit(batch_size)
        last_id = 0
        while True:
            with self._read() as connection:
                rows = connection.execute(by_id.where(articles.c.id > last_id)).all()
            yield from (_stored_article(row) for row in rows)
            if len(rows) < batch_size:
                return
            last_id = rows[-1].id

    def count_articles(self) -> int:
        with self._read() as connection:
            return connection.execute(sa.select(sa.func.count()).select_from(articles).where(_INGESTED)).scalar_one()


def _merge(stored: Article, new: Article) -> Article | None:
    """What to store in place of `stored` when `new` arrives for the same URL; None to keep it as is.

    Full text replaces a feed summary, never the other way round. Otherwise a change of text, title,
    byline or publication date is an update. A missing date or source does not erase a known one.
    """
    if new.from_summary and not stored.from_summary:
        return None
    merged = replace(
        new,
        first_seen_at=stored.first_seen_at,
        published_at=new.published_at or stored.published_at,
        published_date_only=new.published_date_only if new.published_at else stored.published_date_only,
        source_id=stored.source_id if new.source_id is None else new.source_id,
        site_name=new.site_name or stored.site_name,
    )
    if merged.from_summary == stored.from_summary and _identity(merged) == _identity(stored):
        return None
    return merged


def _identity(article: Article) -> tuple[object, ...]:
    return article.content_hash, article.title, article.byline, article.published_at, article.published_date_only


def _due(now: datetime) -> sa.Select[Any]:
    return (
        sa.select(sources)
        .where(
            sa.not_(sources.c.disabled),
            sa.or_(sources.c.next_poll_at.is_(None), sources.c.next_poll_at <= now),
        )
        .order_by(sources.c.next_poll_at.asc().nulls_first(), sources.c.id)
    )


def _now() -> datetime:
    return datetime.now(UTC)


def _article_values(article: Article) -> dict[str, Any]:
    return {name: getattr(article, name) for name in _ARTICLE_FIELDS}


def _article(row: sa.Row[Any]) -> Article:
    return Article(**{name: row._mapping[name] for name in _ARTICLE_FIELDS})


def _stored_article(row: sa.Row[Any]) -> StoredArticle:
    return StoredArticle(
        id=row.id,
        article=_article(row),
        updated_at=row.updated_at,
        syndicated_from=row.syndicated_from,
        story_id=row.story_id,
        processed_at=row.processed_at,
    )


def _source(row: sa.Row[Any]) -> Source:
    values = {name: row._mapping[name] for name in _SOURCE_FIELDS}
    return Source(**{**values, "kind": SourceKind(values["kind"])})


def _source_state(row: sa.Row[Any]) -> dict[str, Any]:
    """What the audit log keeps of a source before and after a change."""
    return {
        "url": row.url,
        "kind": row.kind,
        "disabled": row.disabled,
        "disabled_reason": row.disabled_reason,
        "next_poll_at": row.next_poll_at.isoformat() if row.next_poll_at else None,
    }
