"""Signing in (livedesk.desk.signin) and the sessions and attempts it keeps, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from livedesk.desk import accounts, signin
from livedesk.desk.signin import (
    ACCOUNT_FAILURES,
    ADDRESS_FAILURES,
    FAILURE_WINDOW,
    SessionPolicy,
    SignInLimited,
    SignInRefused,
    sign_in,
    signed_in,
)
from livedesk.models import Role
from livedesk.store import Store
from livedesk.store.schema import desk_sessions
from tests.desk_fixtures import PASSWORD, add_user

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ADDRESS = "192.0.2.10"
POLICY = SessionPolicy(idle=timedelta(hours=12), lifetime=timedelta(days=7))


def refusal(store: Store, name: str, password: str, *, address: str = ADDRESS, now: datetime = NOW) -> Exception:
    with pytest.raises((SignInRefused, SignInLimited)) as refused:
        sign_in(store, name, password, address, now=now)
    return refused.value


def test_signing_in_opens_a_session_kept_only_as_the_secrets_hash(store: Store) -> None:
    user = add_user(store, Role.EDITOR, "ana")
    signed = sign_in(store, "ana", PASSWORD, ADDRESS, now=NOW, policy=POLICY)
    assert signed.user == user and signed.session_secret != signed.csrf_token
    session = signed_in(store, signed.session_secret, now=NOW, policy=POLICY)
    assert session is not None and session.user == user and session.csrf_token == signed.csrf_token
    assert session.expires_at == NOW + POLICY.idle
    with store._read() as connection:
        ids = connection.execute(sa.select(desk_sessions.c.id)).scalars().all()
    assert ids == [hashlib.sha256(signed.session_secret.encode()).hexdigest()]
    assert signed_in(store, signed.session_secret + "x", now=NOW) is None
    signin.sign_out(store, signed.session_secret)
    assert signed_in(store, signed.session_secret, now=NOW) is None


def test_a_wrong_password_and_an_unknown_name_are_refused_alike(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    add_user(store, Role.EDITOR, "ana")
    verified: list[str] = []
    real = signin.verify_password

    def counting(stored_hash: str, password: str) -> tuple[bool, str | None]:
        verified.append(stored_hash)
        return real(stored_hash, password)

    monkeypatch.setattr(signin, "verify_password", counting)
    wrong = refusal(store, "ana", PASSWORD + "!")
    unknown = refusal(store, "nobody", PASSWORD)
    invalid = refusal(store, "no body\x00", PASSWORD)
    assert (
        isinstance(wrong, SignInRefused) and isinstance(unknown, SignInRefused) and isinstance(invalid, SignInRefused)
    )
    assert str(wrong) == str(unknown) == str(invalid) == "Wrong user name or password."
    # An unknown name costs an argon2 verification as a known one does, so timing does not tell them apart.
    assert len(verified) == 3 and all(h.startswith("$argon2id$") for h in verified)


def test_a_disabled_user_cannot_sign_in_even_with_the_right_password(store: Store) -> None:
    add_user(store, Role.ADMIN, "ana")
    accounts.set_user_disabled(store, "ana", True)
    assert isinstance(refusal(store, "ana", PASSWORD), SignInRefused)


def test_failures_on_one_account_are_limited_whatever_the_address_or_the_names_case(store: Store) -> None:
    add_user(store, Role.EDITOR, "ana")
    for n in range(ACCOUNT_FAILURES):
        name = "ana" if n % 2 else "ANA"
        assert isinstance(refusal(store, name, "wrong password!", address=f"192.0.2.{n}", now=NOW), SignInRefused)
    later = NOW + timedelta(minutes=5)
    limited = refusal(store, "ana", PASSWORD, address="198.51.100.1", now=later)
    assert isinstance(limited, SignInLimited) and limited.scope == "account"
    # The first failure (at NOW) leaves the window 10 minutes from `later`; only then is there room again.
    assert limited.retry_after_seconds == (FAILURE_WINDOW - timedelta(minutes=5)).total_seconds()
    assert str(limited) == "Too many sign-in attempts for this account; try again in 10 minutes."
    # Refused unheard: being limited does not push the end of the limit further away.
    for _ in range(3):
        refusal(store, "ana", PASSWORD, now=later)
    assert sign_in(store, "ana", PASSWORD, ADDRESS, now=NOW + FAILURE_WINDOW).user.name == "ana"


def test_failures_from_one_address_are_limited_across_accounts(store: Store) -> None:
    for n in range(ADDRESS_FAILURES):
        assert isinstance(refusal(store, f"user{n}", "wrong password!"), SignInRefused)
    add_user(store, Role.EDITOR, "ana")
    limited = refusal(store, "ana", PASSWORD)
    assert isinstance(limited, SignInLimited) and limited.scope == "address"
    assert "from this address" in str(limited)
    assert sign_in(store, "ana", PASSWORD, "198.51.100.7", now=NOW).user.name == "ana"


def test_successes_do_not_count_as_failures(store: Store) -> None:
    add_user(store, Role.EDITOR, "ana")
    for n in range(ACCOUNT_FAILURES + 2):
        sign_in(store, "ana", PASSWORD, ADDRESS, now=NOW + timedelta(seconds=n))


def test_parallel_guesses_get_no_more_than_the_limit(store: Store) -> None:
    add_user(store, Role.EDITOR, "ana")

    def guess(n: int) -> Exception:
        return refusal(store, "ana", f"wrong password {n}", address=f"192.0.2.{n}")

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(guess, range(3 * ACCOUNT_FAILURES)))
    assert sum(isinstance(o, SignInRefused) for o in outcomes) <= ACCOUNT_FAILURES
    assert sum(isinstance(o, SignInLimited) for o in outcomes) >= 2 * ACCOUNT_FAILURES


def test_sessions_expire_when_idle_and_at_the_end_of_their_lifetime(store: Store) -> None:
    add_user(store, Role.EDITOR, "ana")
    idle = sign_in(store, "ana", PASSWORD, ADDRESS, now=NOW, policy=POLICY).session_secret
    assert signed_in(store, idle, now=NOW + POLICY.idle - timedelta(seconds=1), policy=POLICY) is not None
    assert signed_in(store, idle, now=NOW + POLICY.idle - timedelta(seconds=1) + POLICY.idle, policy=POLICY) is None

    used = sign_in(store, "ana", PASSWORD, ADDRESS, now=NOW, policy=POLICY).session_secret
    at = NOW
    while at + timedelta(hours=11) < NOW + POLICY.lifetime:
        at += timedelta(hours=11)
        assert signed_in(store, used, now=at, policy=POLICY) is not None, at
    assert signed_in(store, used, now=NOW + POLICY.lifetime, policy=POLICY) is None


def test_a_session_records_its_use_at_most_once_a_minute(store: Store) -> None:
    add_user(store, Role.EDITOR, "ana")
    secret = sign_in(store, "ana", PASSWORD, ADDRESS, now=NOW, policy=POLICY).session_secret
    signed_in(store, secret, now=NOW + timedelta(seconds=59), policy=POLICY)
    session = store.session(secret, NOW + timedelta(seconds=59))
    assert session is not None and session.last_seen_at == NOW
    signed_in(store, secret, now=NOW + timedelta(seconds=60), policy=POLICY)
    session = store.session(secret, NOW + timedelta(seconds=60))
    assert session is not None and session.last_seen_at == NOW + timedelta(seconds=60)
    assert session.expires_at == NOW + timedelta(seconds=60) + POLICY.idle


def test_disabling_changing_the_password_or_removing_a_user_ends_their_sessions(store: Store) -> None:
    add_user(store, Role.EDITOR, "ana")
    add_user(store, Role.EDITOR, "bo")
    other = sign_in(store, "bo", PASSWORD, ADDRESS).session_secret

    first = sign_in(store, "ana", PASSWORD, ADDRESS).session_secret
    accounts.set_user_disabled(store, "ana", True)
    accounts.set_user_disabled(store, "ana", False)
    assert signed_in(store, first) is None

    second = sign_in(store, "ana", PASSWORD, ADDRESS).session_secret
    accounts.set_password(store, "ana", PASSWORD + " 2")
    assert signed_in(store, second) is None

    third = sign_in(store, "ana", PASSWORD + " 2", ADDRESS).session_secret
    accounts.remove_user(store, "ana")
    assert signed_in(store, third) is None
    assert signed_in(store, other) is not None  # nobody else's


def test_a_disabled_users_session_is_refused_even_if_still_stored(store: Store) -> None:
    add_user(store, Role.EDITOR, "ana")
    secret = sign_in(store, "ana", PASSWORD, ADDRESS).session_secret
    store.set_user_disabled("ana", True)  # the store alone: the session row stays
    assert signed_in(store, secret) is None


def test_an_outdated_hash_is_replaced_on_sign_in_without_ending_sessions(store: Store) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    user = store.add_user("ana", Role.EDITOR, weak)
    first = sign_in(store, "ana", PASSWORD, ADDRESS).session_secret
    stored = store.password_hash("ana")
    assert stored is not None and stored != weak and accounts.verify_password(stored, PASSWORD) == (True, None)
    refreshed = store.get_user("ana")
    assert refreshed is not None and refreshed.password_changed_at == user.password_changed_at
    assert signed_in(store, first) is not None


def test_expired_sessions_and_old_attempts_are_pruned_at_sign_in(store: Store) -> None:
    add_user(store, Role.EDITOR, "ana")
    sign_in(store, "ana", PASSWORD, ADDRESS, now=NOW, policy=POLICY)
    refusal(store, "ana", "wrong password!", now=NOW)
    sign_in(store, "ana", PASSWORD, ADDRESS, now=NOW + POLICY.lifetime, policy=POLICY)
    with store._read() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(desk_sessions)).scalar_one() == 1
    assert store.sign_in_failures(NOW - FAILURE_WINDOW, account="ana", limit=10) == []
