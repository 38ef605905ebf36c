"""Accounts and API tokens: add and manage the people who work the desk, and the tokens the API accepts.

Passwords are hashed with argon2id (argon2-cffi's PasswordHasher: memory-hard, so a stolen database is slow to
attack); API tokens are random secrets shown once and kept only as their sha256 (livedesk.store.accounts).
There is no default account: the first admin is created on the command line.
"""

from __future__ import annotations

import secrets
import unicodedata
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from livedesk.models import ApiToken, Role, User
from livedesk.store import Store
from livedesk.store.accounts import TokenNotFoundError, UserExistsError, UserNotFoundError

__all__ = [
    "MAX_PASSWORD",
    "MIN_PASSWORD",
    "CreatedToken",
    "TokenNotFoundError",
    "UserExistsError",
    "UserNotFoundError",
    "add_user",
    "check_name",
    "check_password",
    "create_token",
    "hash_password",
    "remove_user",
    "revoke_token",
    "set_password",
    "set_role",
    "set_user_disabled",
    "verify_password",
]

MIN_PASSWORD = 12  # long enough that guessing through the sign-in's rate limit is hopeless
# Hashing cost grows with the input: a bound keeps a sign-in with a megabyte "password" from being a cheap way to
# burn the server's CPU, far above any passphrase a person types or a password manager generates.
MAX_PASSWORD = 1024
MAX_NAME = 64
MAX_LABEL = 200

_hasher = PasswordHasher()


@dataclass(frozen=True)
class CreatedToken:
    """A new token: `secret` is shown to its holder this once and kept nowhere."""

    token: ApiToken
    secret: str


def check_password(password: str) -> str:
    """`password` if acceptable, else ValueError with the reason."""
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"password too short: at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise ValueError(f"password too long: at most {MAX_PASSWORD} characters")
    return password


def check_name(name: str) -> str:
    """`name` if it can name an account (1 to 64 characters, no spaces or control characters), else ValueError."""
    if not name or len(name) > MAX_NAME:
        raise ValueError(f"user name: 1 to {MAX_NAME} characters")
    if any(ch.isspace() or unicodedata.category(ch).startswith("C") for ch in name):
        raise ValueError("user name: no spaces or control characters")
    return name


def hash_password(password: str) -> str:
    """The argon2id hash of an acceptable password (ValueError otherwise)."""
    return _hasher.hash(check_password(password))


def verify_password(stored_hash: str, password: str) -> tuple[bool, str | None]:
    """Whether `password` matches `stored_hash`, and a new hash to store when the hash's parameters are outdated
    (None when it is current or the password is wrong)."""
    if len(password) > MAX_PASSWORD:
        return False, None
    try:
        _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False, None
    return True, _hasher.hash(password) if _hasher.check_needs_rehash(stored_hash) else None


def add_user(store: Store, name: str, role: Role | str, password: str) -> User:
    """A new account; ValueError for a bad name, role or password, UserExistsError for a name in use."""
    return store.add_user(check_name(name), _role(role), hash_password(password))


def set_password(store: Store, name: str, password: str) -> User:
    """A new password; every session signed in with the old one ends."""
    user = store.set_password_hash(name, hash_password(password))
    store.delete_user_sessions(user.id)
    return user


def set_user_disabled(store: Store, name: str, disabled: bool) -> User:
    """Disable (or enable) an account; disabling ends its sessions (the session lookup refuses disabled users too,
    so nothing slips in between)."""
    user = store.set_user_disabled(name, disabled)
    if disabled:
        store.delete_user_sessions(user.id)
    return user


def set_role(store: Store, name: str, role: Role | str) -> User:
    """A new role; sessions stay, since every request reads the role afresh."""
    return store.set_user_role(name, _role(role))


def remove_user(store: Store, name: str) -> None:
    """Delete an account; its tokens and sessions go with it (foreign keys, ON DELETE CASCADE)."""
    store.remove_user(name)


def _role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise ValueError(f"role: one of {', '.join(Role)}") from None


def create_token(store: Store, name: str, label: str = "") -> CreatedToken:
    """A new API token for user `name`; its secret is returned this once."""
    if len(label) > MAX_LABEL or any(unicodedata.category(ch) == "Cc" for ch in label):
        raise ValueError(f"label: at most {MAX_LABEL} characters, no control characters")
    secret = secrets.token_urlsafe(32)
    return CreatedToken(store.create_token(name, label, secret), secret)


def revoke_token(store: Store, token_id: int) -> ApiToken:
    return store.revoke_token(token_id)
