"""Queries of the claim ledger: claims per story, the outlets carrying them, editors' status decisions.

A ledger entry is one claim within one story, however many articles carry it; `key` (its sorted topic terms)
finds it again when the same claim arrives from another outlet. `claim_carriers` lists every article carrying an
entry with the time it was first seen, so the outlets and the first to report are read, not stored twice.
`claim_status_history` keeps every editor's decision (who, when, why); an entry set by an editor keeps that
status whatever later extractions say.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

import sqlalchemy as sa

from livedesk.models import (
    COMMAND_LINE,
    Actor,
    Carrier,
    ClaimStatus,
    Drift,
    LedgerEntry,
    NewClaim,
    StatusChange,
    TimeBasis,
)
from livedesk.store import audit
from livedesk.store.schema import UTCDateTime, articles, metadata

claims = sa.Table(
    "claims",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("story_id", sa.Integer, sa.ForeignKey("stories.id", ondelete="CASCADE"), nullable=False),
    sa.Column("key", sa.Text, nullable=False),  # sorted topic terms: "the same claim" within the story
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("attributed_to", sa.Text, nullable=False),
    sa.Column("cue", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("editor_set", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("story_id", "key", "attributed_to", "cue", name="uq_claims_story_claim"),
)

claim_carriers = sa.Table(
    "claim_carriers",
    metadata,
    sa.Column("claim_id", sa.Integer, sa.ForeignKey("claims.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True, index=True),
    sa.Column("outlet", sa.Text, nullable=False),
    sa.Column("first_seen", UTCDateTime, nullable=False),  # the article's publication time, else first seen
    # What `first_seen` is: "published" (the page's own time) or "first_seen" (the page gave none).
    sa.Column("time_basis", sa.String(16), nullable=False, server_default="published"),
    # The carrier's syndication group (its original's id; null for an original): copies count as one source.
    sa.Column("original_id", sa.Integer),
    # How the carrier's wording departs from the claim's: Drift values, comma-separated ("" for none).
    sa.Column("drift", sa.Text, nullable=False, server_default=""),
)

claim_status_history = sa.Table(
    "claim_status_history",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("claim_id", sa.Integer, sa.ForeignKey("claims.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("previous", sa.String(16), nullable=False),
    sa.Column("editor", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
)


class ClaimIndex(Protocol):
    """A story's ledger entries, indexed to find the entry a claim is another report of (None: a new entry)."""

    def find(self, claim: NewClaim) -> int | None: ...

    def add(self, entry_id: int, claim: NewClaim) -> None: ...


# Builds a ClaimIndex over a story's (entry id, claim) pairs, oldest first.
ClaimMatcher = Callable[[Iterable[tuple[int, NewClaim]]], ClaimIndex]


class ClaimNotFoundError(LookupError):
    pass


class ClaimStore:
    """Mixed into Store; uses its _read()/_write() connections."""

    if TYPE_CHECKING:
        _insert: Any

        def _write(self) -> AbstractContextManager[sa.Connection]: ...
        def _read(self) -> sa.Connection: ...

    # reads

    def story_claims(self, story_id: int) -> list[LedgerEntry]:
        """The story's ledger, in the order its claims were first reported."""
        with self._read() as connection:
            return story_entries(connection, story_id)

    def article_claims(self, article_id: int) -> list[LedgerEntry]:
        """The ledger entries an article carries (an original's own claims, or its original's for a copy)."""
        carried = sa.select(claim_carriers.c.claim_id).where(claim_carriers.c.article_id == article_id)
        with self._read() as connection:
            rows = connection.execute(sa.select(claims).where(claims.c.id.in_(carried)).order_by(claims.c.id)).all()
            return _entries(connection, rows)

    def get_claim(self, claim_id: int) -> LedgerEntry | None:
        with self._read() as connection:
            rows = connection.execute(sa.select(claims).where(claims.c.id == claim_id)).all()
            entries = _entries(connection, rows)
        return entries[0] if entries else None

    def claim_history(self, claim_id: int) -> list[StatusChange]:
        """Editors' decisions on a claim, oldest first."""
        query = (
            sa.select(claim_status_history)
            .where(claim_status_history.c.claim_id == claim_id)
            .order_by(claim_status_history.c.at, claim_status_history.c.id)
        )
        with self._read() as connection:
            return [_change(row) for row in connection.execute(query)]

    # writes

    def merge_claims(
        self, story_id: int, article_id: int, found: Sequence[NewClaim], *, match: ClaimMatcher
    ) -> list[int]:
        """Make `found` the claims `article_id` carries in the story's ledger, in one transaction.

        Each claim joins the entry `match`'s index finds among the story's entries (or a new one); the article stops
        carrying entries it no longer states, and entries nobody carries and no editor touched are removed.
        Returns the entry ids, one per claim. Idempotent. `found` is already extracted: nothing slow runs while
        the transaction holds the write lock.
        """
        with self._write() as connection:
            carrier = _carrier_of(connection, article_id)
            connection.execute(sa.delete(claim_carriers).where(claim_carriers.c.article_id == article_id))
            index = match(_new_claim(row) for row in connection.execute(_story_rows(story_id)))
            ids: list[int] = []
            for claim in found:
                entry_id = index.find(claim)
                if entry_id is None:
                    entry_id = _insert_entry(connection, self._insert, story_id, claim)
                    index.add(entry_id, claim)
                ids.append(entry_id)
            _carry(connection, self._insert, dict.fromkeys(ids), carrier)
            _prune(connection, story_id)
            return ids

    def carry_claims(
        self, original_id: int, article_id: int, drift: Mapping[int, Collection[Drift]] | None = None
    ) -> list[int]:
        """Let a copy carry every entry its original carries, with how its wording drifts from each (`drift`, by
        entry id). Returns those entry ids. Idempotent."""
        with self._write() as connection:
            carrier = _carrier_of(connection, article_id)
            query = sa.select(claim_carriers.c.claim_id).where(claim_carriers.c.article_id == original_id)
            ids = list(connection.execute(query).scalars())
            _carry(connection, self._insert, ids, carrier, drift or {})
            return ids

    def move_claims(
        self, source: int, target: int, *, match: ClaimMatcher, article_ids: Collection[int] | None = None
    ) -> dict[int, int]:
        """`move_entries` in a transaction of its own."""
        with self._write() as connection:
            return move_entries(connection, self._insert, source, target, match=match, article_ids=article_ids)

    def update_claim_statuses(self, statuses: Mapping[int, ClaimStatus]) -> None:
        """Set extracted statuses (e.g. disputed); entries an editor decided on keep the editor's status."""
        with self._write() as connection:
            update_statuses(connection, statuses)

    def set_claim_status(
        self, claim_id: int, status: ClaimStatus, *, editor: str, reason: str, actor: Actor = COMMAND_LINE
    ) -> StatusChange:
        """An editor's decision: the new status, kept with who, when and why (and in the audit log, as `actor`'s)."""
        now = datetime.now(UTC)
        with self._write() as connection:
            previous = connection.execute(
                sa.select(claims.c.status).where(claims.c.id == claim_id).with_for_update()
            ).scalar_one_or_none()
            if previous is None:
                raise ClaimNotFoundError(claim_id)
            connection.execute(sa.update(claims).where(claims.c.id == claim_id).values(status=status, editor_set=True))
            change = StatusChange(claim_id, status, ClaimStatus(previous), editor, reason, now)
            connection.execute(sa.insert(claim_status_history).values(**change.__dict__))
            audit.record(
                connection,
                actor,
                "claim.status",
                f"claim:{claim_id}",
                {"status": str(change.previous)},
                {"status": str(status), "editor": editor, "reason": reason},
            )
            return change


def story_entries(connection: sa.Connection, story_id: int) -> list[LedgerEntry]:
    """The story's ledger, in the order its claims were first reported."""
    rows = connection.execute(sa.select(claims).where(claims.c.story_id == story_id)).all()
    return sorted(_entries(connection, rows), key=_first_reported_order)


def update_statuses(connection: sa.Connection, statuses: Mapping[int, ClaimStatus]) -> None:
    """Set extracted statuses; entries an editor decided on keep the editor's status."""
    for claim_id, status in statuses.items():
        connection.execute(
            sa.update(claims).where(claims.c.id == claim_id, sa.not_(claims.c.editor_set)).values(status=status)
        )


def move_entries(
    connection: sa.Connection,
    insert: Any,
    source: int,
    target: int,
    *,
    match: ClaimMatcher,
    article_ids: Collection[int] | None = None,
) -> dict[int, int]:
    """Move story `source`'s ledger into story `target` (stories merged or split), inside `connection`'s
    transaction.

    Without `article_ids` (a merge) every entry moves; with them (a split) the carriers of those articles
    move: an entry they all carry goes whole, an entry also carried by articles that stay is copied for them.
    An entry that `match` finds in the target's ledger joins it: carriers and editors' history come along,
    the latest editor's decision sets the status, and first reported stays the earliest carrier.
    Returns each touched entry's id → the target entry's id.
    """
    moving = None if article_ids is None else set(article_ids)
    existing = [_new_claim(row) for row in connection.execute(_story_rows(target))]
    index = match(existing)
    in_target = {entry_id for entry_id, _ in existing}
    moved: dict[int, int] = {}
    for row in connection.execute(_story_rows(source)).all():
        carried = set(
            connection.execute(
                sa.select(claim_carriers.c.article_id).where(claim_carriers.c.claim_id == row.id)
            ).scalars()
        )
        leaving = carried if moving is None else carried & moving
        whole = moving is None or (bool(carried) and leaving == carried)
        if not whole and not leaving:
            continue
        claim = _new_claim(row)[1]
        into = index.find(claim)
        if into is None and whole:
            connection.execute(sa.update(claims).where(claims.c.id == row.id).values(story_id=target))
            into = row.id
        elif into is None:
            into = _copy_entry(connection, row, target)
        if into != row.id:
            _join_entry(connection, insert, row, into, leaving, whole=whole)
        if into not in in_target:
            in_target.add(into)
            index.add(into, claim)
        moved[row.id] = into
    return moved


def _story_rows(story_id: int) -> sa.Select[Any]:
    return sa.select(claims).where(claims.c.story_id == story_id).order_by(claims.c.id)


def _new_claim(row: sa.Row[Any]) -> tuple[int, NewClaim]:
    return row.id, NewClaim(row.key, row.text, row.attributed_to, row.cue, ClaimStatus(row.status))


def _carrier_of(connection: sa.Connection, article_id: int) -> Carrier:
    query = sa.select(
        articles.c.site, articles.c.published_at, articles.c.first_seen_at, articles.c.original_id, articles.c.url
    ).where(articles.c.id == article_id)
    row = connection.execute(query).one()
    published = row.published_at is not None
    return Carrier(
        article_id,
        row.site,
        row.published_at if published else row.first_seen_at,
        original_id=row.original_id if row.original_id != article_id else None,
        time_basis=TimeBasis.PUBLISHED if published else TimeBasis.FIRST_SEEN,
        url=row.url,
    )


def _insert_entry(connection: sa.Connection, insert: Any, story_id: int, claim: NewClaim) -> int:
    values = {**claim.__dict__, "story_id": story_id, "created_at": datetime.now(UTC)}
    # The unique key makes a concurrent insert of the same claim land on one row.
    statement = insert(claims).values(**values).on_conflict_do_nothing().returning(claims.c.id)
    entry_id = connection.execute(statement).scalar_one_or_none()
    if entry_id is not None:
        return int(entry_id)
    same = sa.select(claims.c.id).where(
        claims.c.story_id == story_id,
        claims.c.key == claim.key,
        claims.c.attributed_to == claim.attributed_to,
        claims.c.cue == claim.cue,
    )
    return int(connection.execute(same).scalar_one())


def _carry(
    connection: sa.Connection,
    insert: Any,
    entry_ids: Iterable[int],
    carrier: Carrier,
    drift: Mapping[int, Collection[Drift]] | None = None,
) -> None:
    """`carrier` carries the entries; a carrier already there gets its drift refreshed (the copy was re-read)."""
    values = {
        "article_id": carrier.article_id,
        "outlet": carrier.outlet,
        "first_seen": carrier.first_seen,
        "time_basis": carrier.time_basis,
        "original_id": carrier.original_id,
    }
    rows = [{"claim_id": e, **values, "drift": _drift_text((drift or {}).get(e, ()))} for e in entry_ids]
    if not rows:
        return
    connection.execute(insert(claim_carriers).on_conflict_do_nothing(), rows)
    for row in rows:
        if row["drift"]:
            connection.execute(
                sa.update(claim_carriers)
                .where(claim_carriers.c.claim_id == row["claim_id"], claim_carriers.c.article_id == carrier.article_id)
                .values(drift=row["drift"])
            )


def _drift_text(drift: Collection[Drift]) -> str:
    return ",".join(sorted(str(d) for d in drift))


def _copy_entry(connection: sa.Connection, row: sa.Row[Any], story_id: int) -> int:
    """A copy of an entry in another story, with its editors' history (their decisions were about this claim)."""
    values = {**row._mapping, "story_id": story_id}
    del values["id"]
    entry_id = int(connection.execute(sa.insert(claims).values(values).returning(claims.c.id)).scalar_one())
    history = connection.execute(sa.select(claim_status_history).where(claim_status_history.c.claim_id == row.id))
    copies = [{**h._mapping, "claim_id": entry_id} for h in history]
    for copy in copies:
        del copy["id"]
    if copies:
        connection.execute(sa.insert(claim_status_history), copies)
    return entry_id


def _join_entry(
    connection: sa.Connection, insert: Any, row: sa.Row[Any], into: int, articles_moving: set[int], *, whole: bool
) -> None:
    """Entry `row`'s carriers `articles_moving` (and, when it goes `whole`, its history) join entry `into`; the
    latest editor's decision among both sets the status. A whole entry is then deleted."""
    carriers = connection.execute(
        sa.select(claim_carriers).where(
            claim_carriers.c.claim_id == row.id, claim_carriers.c.article_id.in_(articles_moving)
        )
    ).all()
    rows = [{**c._mapping, "claim_id": into} for c in carriers]
    if rows:
        connection.execute(insert(claim_carriers).on_conflict_do_nothing(), rows)
    connection.execute(
        sa.delete(claim_carriers).where(
            claim_carriers.c.claim_id == row.id, claim_carriers.c.article_id.in_(articles_moving)
        )
    )
    if whole:
        connection.execute(
            sa.update(claim_status_history).where(claim_status_history.c.claim_id == row.id).values(claim_id=into)
        )
        connection.execute(
            sa.update(claims)
            .where(claims.c.id == into, claims.c.created_at > row.created_at)
            .values(created_at=row.created_at)
        )
        connection.execute(sa.delete(claims).where(claims.c.id == row.id))
    latest = connection.execute(
        sa.select(claim_status_history.c.status)
        .where(claim_status_history.c.claim_id == into)
        .order_by(claim_status_history.c.at.desc(), claim_status_history.c.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if latest is not None:
        connection.execute(sa.update(claims).where(claims.c.id == into).values(status=latest, editor_set=True))


def _prune(connection: sa.Connection, story_id: int) -> None:
    carried = sa.select(claim_carriers.c.claim_id)
    connection.execute(
        sa.delete(claims).where(
            claims.c.story_id == story_id, sa.not_(claims.c.editor_set), claims.c.id.not_in(carried)
        )
    )


def _entries(connection: sa.Connection, rows: Sequence[sa.Row[Any]]) -> list[LedgerEntry]:
    if not rows:
        return []
    query = (
        sa.select(claim_carriers, articles.c.url)
        .join(articles, articles.c.id == claim_carriers.c.article_id)
        .where(claim_carriers.c.claim_id.in_([row.id for row in rows]))
        .order_by(claim_carriers.c.first_seen, claim_carriers.c.article_id)
    )
    carriers: dict[int, list[Carrier]] = {}
    for c in connection.execute(query):
        carriers.setdefault(c.claim_id, []).append(
            Carrier(
                c.article_id,
                c.outlet,
                c.first_seen,
                original_id=c.original_id,
                time_basis=TimeBasis(c.time_basis),
                drift=tuple(Drift(d) for d in c.drift.split(",") if d),
                url=c.url,
            )
        )
    return [
        LedgerEntry(
            id=row.id,
            story_id=row.story_id,
            key=row.key,
            text=row.text,
            attributed_to=row.attributed_to,
            cue=row.cue,
            status=ClaimStatus(row.status),
            editor_set=row.editor_set,
            carriers=tuple(carriers.get(row.id, ())),
        )
        for row in rows
    ]


def _first_reported_order(entry: LedgerEntry) -> tuple[datetime, int]:
    first = entry.first_reported
    return (first.first_seen if first else datetime.max.replace(tzinfo=UTC)), entry.id


def _change(row: sa.Row[Any]) -> StatusChange:
    return StatusChange(
        row.claim_id, ClaimStatus(row.status), ClaimStatus(row.previous), row.editor, row.reason, row.at
    )
