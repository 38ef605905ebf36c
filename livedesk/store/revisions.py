"""Live revisions: every change a reader must see gives the changed items new, increasing revision numbers, and
a live page resumes after the last revision it saw (its SSE Last-Event-ID).

Writes mark the articles they changed (`touch`); `Store._write` numbers them as the transaction's last statements
(`assign`). The numbers come from the one row of `revision_counter`: on PostgreSQL that row stays locked until the
transaction commits, so revisions become visible in the order they were handed out — whoever has read revision N
can never later find a committed revision below N. (A sequence would hand out numbers in statement order and let
them commit in any order: a reconnecting page would skip the late ones.) Taking the lock last keeps the wait
short and leaves no other lock to wait for while holding it, so it cannot deadlock.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from livedesk.store.schema import articles, revision_counter

_PENDING = "livedesk_revise"  # connection.info key: article ids to number before commit, in order


def touch(connection: sa.Connection, article_ids: Iterable[int]) -> None:
    """Give these articles new revisions when the current transaction commits."""
    pending: dict[int, None] = connection.info.setdefault(_PENDING, {})
    for article_id in article_ids:
        pending.pop(article_id, None)
        pending[article_id] = None


def discard(connection: sa.Connection) -> None:
    """Forget what was touched (the transaction rolled back; `info` outlives it with the pooled connection)."""
    connection.info.pop(_PENDING, None)


def assign(connection: sa.Connection) -> list[int]:
    """Number the touched articles, in the order they were touched; returns the revisions given."""
    pending: dict[int, None] = connection.info.pop(_PENDING, {})
    if not pending:
        return []
    taken = connection.execute(
        sa.update(revision_counter)
        .where(revision_counter.c.id == 1)
        .values(value=revision_counter.c.value + len(pending))
        .returning(revision_counter.c.value)
    ).scalar_one()
    first = taken - len(pending) + 1
    numbered = [{"article": article_id, "given": first + n} for n, article_id in enumerate(pending)]
    connection.execute(
        sa.update(articles).where(articles.c.id == sa.bindparam("article")).values(revision=sa.bindparam("given")),
        numbered,
    )
    return [row["given"] for row in numbered]


def last_revision(connection: sa.Connection) -> int:
    """The highest revision handed out and committed (0 before any)."""
    return connection.execute(sa.select(revision_counter.c.value).where(revision_counter.c.id == 1)).scalar() or 0
