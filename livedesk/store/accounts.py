"""Queries of accounts and API tokens.

A token's secret is never stored: `api_tokens.token_hash` is its sha256, computed here and nowhere else. Tokens are
32 random bytes, so a fast hash is enough (nothing to guess); passwords are chosen by people and arrive already
hashed with a memory-hard KDF (livedesk.desk.accounts).
"""

from __future__ import annotations

import hashlib
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from livedesk.models import ApiToken, Role, User
from livedesk.store.schema import UTCDateTime, metadata

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.Text, nullable=False, unique=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("password_changed_at", UTCDateTime, nullable=False),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("label", sa.Text, nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("last_used_at", UTCDateTime),
    sa.Column("revoked_at", UTCDateTime),
)


class UserNotFoundError(LookupError):
    pass


class UserExistsError(ValueError):
    pass


class TokenNotFoundError(LookupError):
    pass


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class AccountStore:
    """Mixed into Store; uses its _read()/_write() connections."""

    if TYPE_CHECKING:
        _insert: Any

        def _write(self) -> AbstractContextManager[sa.Connection]: ...
        def _read(self) -> sa.Connection: ...

    # users

    def add_user(self, name: str, role: Role, password_hash: str) -> User:
        """A new account; UserExistsError if the name is taken."""
        now = _now()
        insert = (
            self._insert(users)
            .values(name=name, role=str(role), password_hash=password_hash, created_at=now, password_changed_at=now)
            .on_conflict_do_nothing(index_elements=[users.c.name])
            .returning(*users.c)
        )
        with self._write() as connection:
            row = connection.execute(insert).first()
        if row is None:
            raise UserExistsError(name)
        return user_from_row(row)

    def list_users(self) -> list[User]:
        with self._read() as connection:
            return [user_from_row(row) for row in connection.execute(sa.select(users).order_by(users.c.name))]

    def get_user(self, name: str) -> User | None:
        with self._read() as connection:
            row = connection.execute(sa.select(users).where(users.c.name == name)).first()
        return None if row is None else user_from_row(row)

    def password_hash(self, name: str) -> str | None:
        """The stored password hash of `name`, for signing in; None for no such user."""
        with self._read() as connection:
            return connection.execute(sa.select(users.c.password_hash).where(users.c.name == name)).scalar()

    def set_password_hash(self, name: str, password_hash: str) -> User:
        return self._update_user(name, password_hash=password_hash, password_changed_at=_now())

    def rehash_password(self, name: str, old_hash: str, new_hash: str) -> None:
        """Store `new_hash`, the same password under current hashing parameters, unless the hash changed meanwhile
        (a new password set since): not a password change, so password_changed_at stays."""
        update = sa.update(users).where(users.c.name == name, users.c.password_hash == old_hash)
        with self._write() as connection:
            connection.execute(update.values(password_hash=new_hash))

    def set_user_role(self, name: str, role: Role) -> User:
        return self._update_user(name, role=str(role))

    def set_user_disabled(self, name: str, disabled: bool) -> User:
        """Disable (or enable again) an account: a disabled user's tokens stop working, and come back with it."""
        return self._update_user(name, disabled=disabled)

    def remove_user(self, name: str) -> None:
        """Delete an account and its tokens; UserNotFoundError if there is none."""
        with self._write() as connection:
            if connection.execute(sa.delete(users).where(users.c.name == name)).rowcount == 0:
                raise UserNotFoundError(name)

    def _update_user(self, name: str, **values: Any) -> User:
        update = sa.update(users).where(users.c.name == name).values(**values).returning(*users.c)
        with self._write() as connection:
            row = connection.execute(update).first()
        if row is None:
            raise UserNotFoundError(name)
        return user_from_row(row)

    # tokens

    def create_token(self, user_name: str, label: str, secret: str) -> ApiToken:
        """Keep the hash of a new token `secret` for `user_name`; UserNotFoundError if there is no such user."""
        with self._write() as connection:
            user_id = connection.execute(sa.select(users.c.id).where(users.c.name == user_name)).scalar()
            if user_id is None:
                raise UserNotFoundError(user_name)
            insert = (
                sa.insert(api_tokens)
                .values(user_id=user_id, label=label, token_hash=token_hash(secret), created_at=_now())
                .returning(api_tokens.c.id)
            )
            token_id = connection.execute(insert).scalar_one()
            return _tokens(connection, api_tokens.c.id == token_id)[0]

    def list_tokens(self, user_name: str | None = None) -> list[ApiToken]:
        """Every token (or `user_name`'s), revoked ones included, oldest first."""
        with self._read() as connection:
            return _tokens(connection, sa.true() if user_name is None else users.c.name == user_name)

    def revoke_token(self, token_id: int) -> ApiToken:
        """Revoke a token for good (revoking it again keeps the first time); TokenNotFoundError for an unknown id."""
        revoke = (
            sa.update(api_tokens)
            .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
            .values(revoked_at=_now())
        )
        with self._write() as connection:
            connection.execute(revoke)
            found = _tokens(connection, api_tokens.c.id == token_id)
        if not found:
            raise TokenNotFoundError(token_id)
        return found[0]

    def user_for_token(self, secret: str) -> User | None:
        """The enabled user holding the unrevoked token `secret` (its use recorded), else None."""
        found = (
            sa.update(api_tokens)
            .where(
                api_tokens.c.token_hash == token_hash(secret),
                api_tokens.c.revoked_at.is_(None),
                api_tokens.c.user_id.in_(sa.select(users.c.id).where(users.c.disabled.is_(False))),
            )
            .values(last_used_at=_now())
            .returning(api_tokens.c.user_id)
        )
        with self._write() as connection:
            user_id = connection.execute(found).scalar()
            if user_id is None:
                return None
            return user_from_row(connection.execute(sa.select(users).where(users.c.id == user_id)).one())


def _tokens(connection: sa.Connection, where: sa.ColumnElement[bool]) -> list[ApiToken]:
    query = (
        sa.select(*api_tokens.c, users.c.name.label("user_name"))
        .join(users, users.c.id == api_tokens.c.user_id)
        .where(where)
        .order_by(api_tokens.c.id)
    )
    return [
        ApiToken(
            id=row.id,
            user_id=row.user_id,
            user_name=row.user_name,
            label=row.label,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            revoked_at=row.revoked_at,
        )
        for row in connection.execute(query)
    ]


def user_from_row(row: sa.Row[Any]) -> User:
    return User(
        id=row.id,
        name=row.name,
        role=Role(row.role),
        disabled=row.disabled,
        created_at=row.created_at,
        password_changed_at=row.password_changed_at,
    )


def _now() -> datetime:
    return datetime.now(UTC)
