"""Accounts: the people who work the desk, their roles, and the API tokens they hold (never the secrets)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Role(StrEnum):
    """What a person may do at the desk; each role may do everything of the ones below it."""

    ADMIN = "admin"  # also manages users and tokens
    EDITOR = "editor"  # publishes, edits and moderates
    CONTRIBUTOR = "contributor"  # drafts posts an editor approves

    def at_least(self, other: Role) -> bool:
        """Whether this role may do what `other` may (admin ≥ editor ≥ contributor)."""
        return _RANKS[self] >= _RANKS[other]


_RANKS = {Role.CONTRIBUTOR: 0, Role.EDITOR: 1, Role.ADMIN: 2}


@dataclass(frozen=True)
class User:
    """An account as callers see it: the password hash stays in the store."""

    id: int
    name: str
    role: Role
    disabled: bool
    created_at: datetime
    password_changed_at: datetime


@dataclass(frozen=True)
class DeskSession:
    """A signed-in browser: whose it is and its CSRF token (the secret in its cookie is kept nowhere)."""

    user: User
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class ApiToken:
    """An API token as listed: who holds it and its state; the secret is shown once, at creation, and never kept."""

    id: int
    user_id: int
    user_name: str
    label: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None
