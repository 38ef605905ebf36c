"""Signing in to the desk: passwords, the sign-in rate limits, and the sessions that follow.

`sign_in(store, name, password, address)` checks a password and opens a session; `signed_in(store, secret)` is
the session a browser's cookie names (None when there is none any more); `sign_out` ends it. The session secret
and its CSRF token are made here and handed to the caller once; the store keeps only the secret's sha256.

Rate limits are counted in the database, so every web process (and every worker of `serve --workers N`) agrees on
them. An attempt is recorded as a failure *before* its password is checked: parallel guesses count against the
limit even while their argon2 verifications are still running.
"""

from __future__ import annotations

import math
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import NamedTuple

from livedesk.config import Settings
from livedesk.desk.accounts import MAX_NAME, check_name, hash_password, verify_password
from livedesk.models import DeskSession, User
from livedesk.store import Store

__all__ = [
    "ACCOUNT_FAILURES",
    "ADDRESS_FAILURES",
    "FAILURE_WINDOW",
    "SessionPolicy",
    "SignInLimited",
    "SignInRefused",
    "SignedIn",
    "account_key",
    "sign_in",
    "sign_out",
    "signed_in",
]

# Passwords are at least 12 characters and hashed with argon2id, so online guessing is the attack to slow down.
# Per account: 5 failures in 15 minutes is far more than a person mistyping makes, and caps a guesser at 480 tries
# a day on one account whatever number of addresses it uses. The price is that a guesser can keep one account
# locked out while it keeps guessing; an admin then sees the attempts in the database. Per address: 20 in 15
# minutes lets a newsroom behind one NAT mistype several accounts' passwords, while one address spraying a common
# password across every account gets 20 tries per quarter hour.
ACCOUNT_FAILURES = 5
ADDRESS_FAILURES = 20
FAILURE_WINDOW = timedelta(minutes=15)
# Recording every request's use of a session would make each desk page a database write; once a minute keeps the
# idle timeout accurate to a minute.
TOUCH_EVERY = timedelta(minutes=1)


class SignInRefused(Exception):
    """Wrong name or password: one message for both, so it never tells which names exist."""

    def __init__(self) -> None:
        super().__init__("Wrong user name or password.")


class SignInLimited(Exception):
    """Too many failed attempts on the account (`scope` "account") or from the address ("address")."""

    def __init__(self, scope: str, retry_after_seconds: int) -> None:
        self.scope = scope
        self.retry_after_seconds = retry_after_seconds
        minutes = math.ceil(retry_after_seconds / 60)
        where = "for this account" if scope == "account" else "from this address"
        super().__init__(
            f"Too many sign-in attempts {where}; try again in {minutes} minute{'s' if minutes != 1 else ''}."
        )


@dataclass(frozen=True)
class SessionPolicy:
    """How long a session lasts: `idle` after its last use, and at most `lifetime` after sign-in."""

    idle: timedelta = timedelta(hours=12)
    lifetime: timedelta = timedelta(days=7)

    @classmethod
    def from_settings(cls, settings: Settings) -> SessionPolicy:
        return cls(idle=timedelta(seconds=settings.session_idle), lifetime=timedelta(seconds=settings.session_lifetime))

    def expires_at(self, created_at: datetime, now: datetime) -> datetime:
        """When a session signed in at `created_at` and used at `now` expires unless used again."""
        return min(created_at + self.lifetime, now + self.idle)


class SignedIn(NamedTuple):
    """A new session: `session_secret` goes into the browser's cookie and is kept nowhere else."""

    user: User
    session_secret: str
    csrf_token: str


def account_key(name: str) -> str:
    """The account an attempt counts against: "Ana" and "ana" are one (a guesser cannot multiply its tries by
    varying case or Unicode forms); a name no account can have counts against the empty name."""
    try:
        check_name(name)
    except ValueError:
        return ""
    return unicodedata.normalize("NFKC", name).casefold()[:MAX_NAME]


def sign_in(
    store: Store,
    name: str,
    password: str,
    address: str,
    *,
    policy: SessionPolicy = SessionPolicy(),  # frozen: one shared default is safe
    now: datetime | None = None,
) -> SignedIn:
    """Check `name`'s password and open a new session; SignInRefused or SignInLimited otherwise."""
    now = now or datetime.now(UTC)
    account = account_key(name)
    attempt = store.record_sign_in_attempt(account, address, now)
    try:
        _check_limits(store, account, address, now)
    except SignInLimited:
        store.forget_sign_in_attempt(attempt)  # refused unheard: the limit lifts on time whatever a guesser does
        raise
    user = _check_password(store, name, password)
    store.sign_in_succeeded(attempt)
    secret, csrf_token = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    store.create_session(user.id, secret, csrf_token, now=now, expires_at=policy.expires_at(now, now))
    # Sign-ins are rare and cheap to piggyback on: expired rows go here rather than in a background job.
    store.prune_sessions(now)
    store.prune_sign_in_attempts(now - FAILURE_WINDOW)
    return SignedIn(user, secret, csrf_token)


def signed_in(
    store: Store,
    secret: str,
    *,
    policy: SessionPolicy = SessionPolicy(),  # frozen: one shared default is safe
    now: datetime | None = None,
) -> DeskSession | None:
    """The live session whose cookie holds `secret`, its use recorded; None when unknown, expired, or its user is
    disabled."""
    now = now or datetime.now(UTC)
    session = store.session(secret, now)
    if session is not None and now - session.last_seen_at >= TOUCH_EVERY:
        store.touch_session(secret, now, policy.expires_at(session.created_at, now))
    return session


def sign_out(store: Store, secret: str) -> None:
    store.delete_session(secret)


def _check_limits(store: Store, account: str, address: str, now: datetime) -> None:
    since = now - FAILURE_WINDOW
    by_account = store.sign_in_failures(since, account=account, limit=ACCOUNT_FAILURES + 1)
    by_address = store.sign_in_failures(since, address=address, limit=ADDRESS_FAILURES + 1)
    limited: list[SignInLimited] = []
    for scope, limit, failures in (
        ("account", ACCOUNT_FAILURES, by_account),
        ("address", ADDRESS_FAILURES, by_address),
    ):
        # Newest first, this attempt among them: one more than the limit means this one is over it.
        if len(failures) > limit:
            # Without this attempt, `limit` failures remain; the limit lifts when the oldest of them leaves the window.
            lifts_at = failures[limit] + FAILURE_WINDOW
            limited.append(SignInLimited(scope, max(1, math.ceil((lifts_at - now).total_seconds()))))
    if limited:
        raise max(limited, key=lambda refusal: refusal.retry_after_seconds)


def _check_password(store: Store, name: str, password: str) -> User:
    try:
        stored = store.password_hash(check_name(name))
    except ValueError:
        stored = None
    # An unknown name costs the same argon2 verification as a known one: timing does not tell which names exist.
    matches, rehashed = verify_password(stored or _dummy_hash(), password)
    if stored is None or not matches:
        raise SignInRefused()
    if rehashed is not None:
        store.rehash_password(name, stored, rehashed)
    user = store.get_user(name)
    if user is None or user.disabled:
        raise SignInRefused()
    return user


@cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))
