"""The audit log: every desk action with its actor, time, and what it changed (before/after).

Operations write their entry inside their own transaction (`record`), so an action and its entry commit together
or not at all.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from livedesk.models import Actor, AuditEntry
from livedesk.store.schema import UTCDateTime, metadata

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("actor_id", sa.Integer),  # no foreign key: the entry outlives a removed user, by name
    sa.Column("actor_name", sa.Text, nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("target", sa.Text, nullable=False, index=True),
    sa.Column("before", sa.JSON),
    sa.Column("after", sa.JSON),
)


def record(
    connection: sa.Connection,
    actor: Actor,
    action: str,
    target: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    connection.execute(
        sa.insert(audit_log).values(
            at=datetime.now(UTC),
            actor_id=actor.user_id,
            actor_name=actor.name,
            action=action,
            target=target,
            before=before,
            after=after,
        )
    )


class AuditStore:
    """Mixed into Store; uses its _read()/_write() connections."""

    if TYPE_CHECKING:

        def _write(self) -> AbstractContextManager[sa.Connection]: ...
        def _read(self) -> sa.Connection: ...

    def record_audit(
        self,
        actor: Actor,
        action: str,
        target: str,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> None:
        """An entry for an action that wrote elsewhere (in its own transaction)."""
        with self._write() as connection:
            record(connection, actor, action, target, before, after)

    def audit_entries(
        self, *, before_id: int | None = None, target: str | None = None, actor: str | None = None, limit: int = 100
    ) -> list[AuditEntry]:
        """The newest entries first, older than `before_id`, optionally of one target or one actor's name."""
        query = sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
        if before_id is not None:
            query = query.where(audit_log.c.id < before_id)
        if target is not None:
            query = query.where(audit_log.c.target == target)
        if actor is not None:
            query = query.where(audit_log.c.actor_name == actor)
        with self._read() as connection:
            return [AuditEntry(**row._mapping) for row in connection.execute(query)]
