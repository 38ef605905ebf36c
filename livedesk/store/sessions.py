"""Queries of desk sessions (signed-in browsers) and sign-in attempts (what the sign-in rate limits count).

A session's secret lives only in its cookie: `desk_sessions.id` is its sha256 (32 random bytes: nothing to guess,
so a fast hash is enough). Lifetimes are the caller's policy (livedesk.desk.signin): the store keeps the instant a
session expires and refuses it from then on.
"""

from __future__ import annotations

import hashlib
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from livedesk.models import DeskSession
from livedesk.store.accounts import user_from_row, users
from livedesk.store.schema import desk_sessions, sign_in_attempts


def session_id(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class SessionStore:
    """Mixed into Store; uses its _read()/_write() connections."""

    if TYPE_CHECKING:

        def _write(self) -> AbstractContextManager[sa.Connection]: ...
        def _read(self) -> sa.Connection: ...

    # sessions

    def create_session(
        self, user_id: int, secret: str, csrf_token: str, *, now: datetime, expires_at: datetime
    ) -> None:
        insert = sa.insert(desk_sessions).values(
            id=session_id(secret),
            user_id=user_id,
            csrf_token=csrf_token,
            created_at=now,
            last_seen_at=now,
            expires_at=expires_at,
        )
        with self._write() as connection:
            connection.execute(insert)

    def session(self, secret: str, now: datetime) -> DeskSession | None:
        """The live session of `secret` with its user, in one query; None when unknown, expired or the user is
        disabled."""
        query = (
            sa.select(
                users,
                desk_sessions.c.csrf_token,
                desk_sessions.c.created_at.label("session_created_at"),
                desk_sessions.c.last_seen_at,
                desk_sessions.c.expires_at,
            )
            .join(users, users.c.id == desk_sessions.c.user_id)
            .where(desk_sessions.c.id == session_id(secret), desk_sessions.c.expires_at > now, ~users.c.disabled)
        )
        with self._read() as connection:
            row = connection.execute(query).first()
        if row is None:
            return None
        return DeskSession(
            user=user_from_row(row),
            csrf_token=row.csrf_token,
            created_at=row.session_created_at,
            last_seen_at=row.last_seen_at,
            expires_at=row.expires_at,
        )

    def touch_session(self, secret: str, now: datetime, expires_at: datetime) -> None:
        """The session was used at `now`; it now expires at `expires_at`."""
        update = sa.update(desk_sessions).where(desk_sessions.c.id == session_id(secret))
        with self._write() as connection:
            connection.execute(update.values(last_seen_at=now, expires_at=expires_at))

    def delete_session(self, secret: str) -> None:
        with self._write() as connection:
            connection.execute(sa.delete(desk_sessions).where(desk_sessions.c.id == session_id(secret)))

    def delete_user_sessions(self, user_id: int) -> int:
        """End every session of a user; how many there were."""
        with self._write() as connection:
            return connection.execute(sa.delete(desk_sessions).where(desk_sessions.c.user_id == user_id)).rowcount

    def prune_sessions(self, now: datetime) -> None:
        with self._write() as connection:
            connection.execute(sa.delete(desk_sessions).where(desk_sessions.c.expires_at <= now))

    # sign-in attempts

    def record_sign_in_attempt(self, account: str, address: str, at: datetime) -> int:
        """A sign-in attempt, counted as a failure until `sign_in_succeeded`; its id."""
        insert = (
            sa.insert(sign_in_attempts)
            .values(account=account, address=address, at=at, succeeded=False)
            .returning(sign_in_attempts.c.id)
        )
        with self._write() as connection:
            return connection.execute(insert).scalar_one()

    def sign_in_succeeded(self, attempt_id: int) -> None:
        update = sa.update(sign_in_attempts).where(sign_in_attempts.c.id == attempt_id).values(succeeded=True)
        with self._write() as connection:
            connection.execute(update)

    def forget_sign_in_attempt(self, attempt_id: int) -> None:
        """Remove an attempt that was refused before its password was checked: it counts for nothing."""
        with self._write() as connection:
            connection.execute(sa.delete(sign_in_attempts).where(sign_in_attempts.c.id == attempt_id))

    def sign_in_failures(
        self, since: datetime, *, account: str | None = None, address: str | None = None, limit: int
    ) -> list[datetime]:
        """When the latest failed attempts (at most `limit`) on `account`, or from `address`, after `since` were
        made, newest first."""
        if (account is None) == (address is None):
            raise ValueError("give either an account or an address")
        key = sign_in_attempts.c.account == account if address is None else sign_in_attempts.c.address == address
        query = (
            sa.select(sign_in_attempts.c.at)
            .where(key, sign_in_attempts.c.at > since, ~sign_in_attempts.c.succeeded)
            .order_by(sign_in_attempts.c.at.desc())
            .limit(limit)
        )
        with self._read() as connection:
            return list(connection.execute(query).scalars())

    def prune_sign_in_attempts(self, before: datetime) -> None:
        with self._write() as connection:
            connection.execute(sa.delete(sign_in_attempts).where(sign_in_attempts.c.at <= before))
