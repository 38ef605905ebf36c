"""Queries of view counting: exact, durable, never-negative counts and the per-visitor window.

A view counts when its visitor has no counted view of the same article in the 30 minutes before it (a sliding
window: two views a minute apart never both count, whatever the clock says). `view_windows` holds, per
(article, visitor), when the current window started and when it expires; an upsert that moves the window only
if it has expired decides atomically whether a view counts, and the rows it returns are exactly the counted
views. Counts then grow by `count = count + n`, so concurrent writers on any number of processes never lose
an increment. Counts live in their own narrow table: bumping them does not rewrite the (large) article rows.
"""

from __future__ import annotations

import secrets
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa

from livedesk.store.schema import UTCDateTime, articles, metadata

VIEW_WINDOW = timedelta(minutes=30)
# Ids per IN list: well under SQLite's and PostgreSQL's limits on bound parameters.
_CHUNK = 500

article_views = sa.Table(
    "article_views",
    metadata,
    sa.Column(
        "article_id",
        sa.Integer,
        sa.ForeignKey("articles.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column("count", sa.BigInteger, nullable=False),
    # The database itself refuses a negative count, whatever code runs against it.
    sa.CheckConstraint("count >= 0", name="count_non_negative"),
)

view_windows = sa.Table(
    "view_windows",
    metadata,
    # Primary key led by article_id: it also serves the cascade when an article is deleted.
    sa.Column(
        "article_id",
        sa.Integer,
        sa.ForeignKey("articles.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column("visitor_hash", sa.String(64), primary_key=True),  # HMAC of IP + user agent: never the IP itself
    sa.Column("window_start", UTCDateTime, nullable=False),  # the counted view that opened the window
    sa.Column("expires_at", UTCDateTime, nullable=False, index=True),  # indexed: pruning is a range delete
)

view_salts = sa.Table(
    "view_salts",
    metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("salt", sa.LargeBinary, nullable=False),
)

View = tuple[int, str, datetime]  # (article id, visitor hash, seen at)
_T = TypeVar("_T")


class ViewStore:
    """Mixed into Store; uses its _read()/_write() connections."""

    if TYPE_CHECKING:
        _insert: Any

        def _write(self) -> AbstractContextManager[sa.Connection]: ...
        def _read(self) -> sa.Connection: ...

    def record_views(self, views: Iterable[View]) -> int:
        """Count each view unless its visitor's window on that article is still open; how many counted.

        One transaction: all the views count, or (on error) none. Views of unknown articles are ignored.
        """
        rounds = _rounds(views)
        if not rounds:
            return 0
        counted: Counter[int] = Counter()
        with self._write() as connection:
            known = _existing_articles(connection, {article_id for (article_id, _), _ in rounds[0]})
            for views_of_round in rounds:
                rows = [
                    {"article_id": a, "visitor_hash": v, "window_start": seen, "expires_at": seen + VIEW_WINDOW}
                    for (a, v), seen in views_of_round
                    if a in known
                ]
                if rows:
                    counted.update(connection.execute(self._open_windows(), rows).scalars())
            # In article order, like the windows above: concurrent PostgreSQL writers lock rows in the same
            # order and cannot deadlock.
            increments = [{"article_id": a, "count": n} for a, n in sorted(counted.items())]
            if increments:
                connection.execute(self._add_counts(), increments)
        return counted.total()

    def _open_windows(self) -> Any:
        """Opens (or moves) a visitor's window unless it is still open; returns the article ids of counted views.

        Executed with many rows, SQLAlchemy sends it as multi-row INSERTs, compiled once."""
        insert = self._insert(view_windows)
        return insert.on_conflict_do_update(
            index_elements=[view_windows.c.article_id, view_windows.c.visitor_hash],
            set_={"window_start": insert.excluded.window_start, "expires_at": insert.excluded.expires_at},
            where=view_windows.c.expires_at <= insert.excluded.window_start,
        ).returning(view_windows.c.article_id)

    def _add_counts(self) -> Any:
        insert = self._insert(article_views)
        return insert.on_conflict_do_update(
            index_elements=[article_views.c.article_id],
            set_={"count": article_views.c.count + insert.excluded.count},
        )

    def view_counts(self, article_ids: Iterable[int]) -> dict[int, int]:
        """Views of each of `article_ids` that exists (0 if never viewed); unknown ids are left out."""
        counts: dict[int, int] = {}
        with self._read() as connection:
            for chunk in _chunks(sorted(set(article_ids))):
                query = (
                    sa.select(articles.c.id, sa.func.coalesce(article_views.c.count, 0))
                    .select_from(articles.outerjoin(article_views))
                    .where(articles.c.id.in_(chunk))
                )
                counts.update((article_id, count) for article_id, count in connection.execute(query))
        return counts

    def prune_view_windows(self, now: datetime) -> int:
        """Forget windows that have expired (a new view counts either way); how many were deleted."""
        with self._write() as connection:
            return connection.execute(sa.delete(view_windows).where(view_windows.c.expires_at <= now)).rowcount

    def view_salt(self, day: date) -> bytes:
        """The secret that visitor hashes of `day` are keyed with, created on first use, the same for every process.

        Salts older than the day before are deleted: from then on nobody, not even the database's owner, can
        tell which address a hash came from by trying addresses. (Yesterday's is kept so a process whose
        clock is a little behind does not create a second one.)
        """
        create = (
            self._insert(view_salts)
            .values(day=day, salt=secrets.token_bytes(32))
            .on_conflict_do_nothing(index_elements=[view_salts.c.day])
        )
        with self._write() as connection:
            connection.execute(create)
            connection.execute(sa.delete(view_salts).where(view_salts.c.day < day - timedelta(days=1)))
            return connection.execute(sa.select(view_salts.c.salt).where(view_salts.c.day == day)).scalar_one()


def _rounds(views: Iterable[View]) -> list[list[tuple[tuple[int, str], datetime]]]:
    """The views split into rounds applied one after the other, each holding at most one view per
    (article, visitor) — one upsert cannot touch a row twice — with a visitor's views in time order.

    Whether a later view counts depends on whether an earlier one did, so they cannot be settled in advance.
    Keys are sorted so that every writer locks rows in the same order.
    """
    seen_by_key: defaultdict[tuple[int, str], list[datetime]] = defaultdict(list)
    for article_id, visitor_hash, seen_at in views:
        seen_by_key[article_id, visitor_hash].append(seen_at)
    rounds: list[list[tuple[tuple[int, str], datetime]]] = []
    for key in sorted(seen_by_key):
        for i, seen_at in enumerate(sorted(seen_by_key[key])):
            if i == len(rounds):
                rounds.append([])
            rounds[i].append((key, seen_at))
    return rounds


def _existing_articles(connection: sa.Connection, article_ids: set[int]) -> set[int]:
    found: set[int] = set()
    for chunk in _chunks(sorted(article_ids)):
        found.update(connection.execute(sa.select(articles.c.id).where(articles.c.id.in_(chunk))).scalars())
    return found


def _chunks(items: Sequence[_T]) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]
