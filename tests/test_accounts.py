"""Accounts and API tokens: the command line and the store, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from livedesk.desk import accounts
from livedesk.models import Role
from livedesk.store import Store
from tests.test_cli import livedesk

PASSWORD = "correct horse battery staple"


def add(database_url: str, name: str = "ana", role: str = "editor", password: str = PASSWORD) -> None:
    result = livedesk("users", "add", name, "--role", role, "--password-stdin", db=database_url, input=password + "\n")
    assert result.returncode == 0, result.stderr


def new_token(database_url: str, name: str = "ana", *options: str) -> str:
    result = livedesk("tokens", "create", name, *options, db=database_url)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()[-1]


def test_password_stdin_creates_an_editor_whose_password_is_kept_only_as_argon2id(database_url: str) -> None:
    add(database_url)
    with Store.open(database_url) as store:
        user = store.get_user("ana")
        stored = store.password_hash("ana")
    assert user is not None and user.role is Role.EDITOR and not user.disabled
    assert stored is not None and stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert accounts.verify_password(stored, PASSWORD) == (True, None)
    assert accounts.verify_password(stored, PASSWORD + "!") == (False, None)
    listed = livedesk("users", "list", db=database_url)
    assert "ana" in listed.stdout and "editor" in listed.stdout and "active" in listed.stdout
    assert "argon2" not in listed.stdout


def test_the_password_prompt_asks_twice(database_url: str) -> None:
    result = livedesk("users", "add", "root", "--role", "admin", db=database_url, input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.returncode == 0, result.stderr
    with Store.open(database_url) as store:
        user = store.get_user("root")
    assert user is not None and user.role is Role.ADMIN


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short", "password too short: at least 12 characters"),
        ("x" * (accounts.MAX_PASSWORD + 1), "password too long: at most 1024 characters"),
        ("", "password too short"),
    ],
)
def test_unacceptable_passwords_are_refused_in_one_line(database_url: str, password: str, reason: str) -> None:
    result = livedesk(
        "users", "add", "ana", "--role", "editor", "--password-stdin", db=database_url, input=password + "\n"
    )
    assert result.returncode == 1
    assert reason in result.stderr and len(result.stderr.strip().splitlines()) == 1
    with Store.open(database_url) as store:
        assert store.list_users() == []


def test_a_password_of_the_maximum_length_is_accepted_whole(database_url: str) -> None:
    longest = "y" * accounts.MAX_PASSWORD
    add(database_url, password=longest)
    with Store.open(database_url) as store:
        stored = store.password_hash("ana")
    assert stored is not None
    assert accounts.verify_password(stored, longest)[0]
    assert not accounts.verify_password(stored, longest[:-1])[0]


def test_mismatched_prompted_passwords_are_refused(database_url: str) -> None:
    result = livedesk(
        "users", "add", "ana", "--role", "editor", db=database_url, input=f"{PASSWORD}\n{PASSWORD}x\n" * 3
    )
    assert result.returncode != 0
    with Store.open(database_url) as store:
        assert store.get_user("ana") is None


def test_duplicate_names_bad_names_and_bad_roles_are_refused(database_url: str) -> None:
    add(database_url)
    again = livedesk(
        "users", "add", "ana", "--role", "admin", "--password-stdin", db=database_url, input=PASSWORD + "\n"
    )
    assert again.returncode == 1 and "user 'ana' exists already" in again.stderr
    for name in ("bad\x1bname", "two words", "x" * 65):
        refused = livedesk(
            "users", "add", name, "--role", "editor", "--password-stdin", db=database_url, input=PASSWORD + "\n"
        )
        assert refused.returncode == 1 and "user name:" in refused.stderr, name
    assert livedesk("users", "add", "bo", "--role", "owner", db=database_url).returncode == 2
    with Store.open(database_url) as store:
        assert [(u.name, u.role) for u in store.list_users()] == [("ana", Role.EDITOR)]


def test_passwd_replaces_the_password(database_url: str) -> None:
    add(database_url)
    changed = livedesk("users", "passwd", "ana", "--password-stdin", db=database_url, input="a new long passphrase\n")
    assert changed.returncode == 0, changed.stderr
    with Store.open(database_url) as store:
        stored = store.password_hash("ana")
    assert stored is not None
    assert accounts.verify_password(stored, "a new long passphrase")[0]
    assert not accounts.verify_password(stored, PASSWORD)[0]
    missing = livedesk("users", "passwd", "nobody", "--password-stdin", db=database_url, input=PASSWORD + "\n")
    assert missing.returncode == 1 and "no user 'nobody'" in missing.stderr


def test_a_created_token_resolves_to_its_user_until_revoked(database_url: str) -> None:
    add(database_url)
    secret = new_token(database_url, "ana", "--label", "newsroom script")
    assert len(secret) >= 43
    with Store.open(database_url) as store:
        user = store.user_for_token(secret)
        assert user is not None and user.name == "ana"
        assert store.user_for_token(secret + "x") is None
        [token] = store.list_tokens("ana")
    assert token.label == "newsroom script" and token.last_used_at is not None and not token.revoked

    listed = livedesk("tokens", "list", db=database_url)
    assert "newsroom script" in listed.stdout and secret not in listed.stdout
    assert secret not in livedesk("tokens", "list", "ana", db=database_url).stdout

    revoked = livedesk("tokens", "revoke", str(token.id), db=database_url)
    assert revoked.returncode == 0, revoked.stderr
    with Store.open(database_url) as store:
        assert store.user_for_token(secret) is None
        assert store.list_tokens()[0].revoked
    assert "revoked" in livedesk("tokens", "list", db=database_url).stdout
    unknown = livedesk("tokens", "revoke", "999", db=database_url)
    assert unknown.returncode == 1 and "no token 999" in unknown.stderr


def test_tokens_stop_working_while_their_user_is_disabled(database_url: str) -> None:
    add(database_url)
    secret = new_token(database_url)
    assert livedesk("users", "disable", "ana", db=database_url).returncode == 0
    with Store.open(database_url) as store:
        assert store.user_for_token(secret) is None
        user = store.get_user("ana")
        assert user is not None and user.disabled
    assert "disabled" in livedesk("users", "list", db=database_url).stdout
    assert livedesk("users", "enable", "ana", db=database_url).returncode == 0
    with Store.open(database_url) as store:
        user = store.user_for_token(secret)
    assert user is not None and not user.disabled


def test_removing_a_user_removes_their_tokens(database_url: str) -> None:
    add(database_url)
    add(database_url, "bo")
    secret = new_token(database_url, "ana")
    kept = new_token(database_url, "bo")
    assert livedesk("users", "remove", "ana", db=database_url).returncode == 0
    with Store.open(database_url) as store:
        assert store.user_for_token(secret) is None
        assert store.get_user("ana") is None
        assert [t.user_name for t in store.list_tokens()] == ["bo"]
        assert store.user_for_token(kept) is not None
    missing = livedesk("users", "remove", "ana", db=database_url)
    assert missing.returncode == 1 and "no user 'ana'" in missing.stderr
    no_user = livedesk("tokens", "create", "ana", db=database_url)
    assert no_user.returncode == 1 and "no user 'ana'" in no_user.stderr


def test_a_hash_with_outdated_parameters_is_renewed_on_a_correct_password() -> None:
    outdated = PasswordHasher(time_cost=1, memory_cost=8192).hash(PASSWORD)
    matches, renewed = accounts.verify_password(outdated, PASSWORD)
    assert matches and renewed is not None and renewed != outdated
    assert accounts.verify_password(renewed, PASSWORD) == (True, None)
    assert accounts.verify_password(outdated, "wrong password!") == (False, None)
    assert accounts.verify_password("not a hash", PASSWORD) == (False, None)


def test_token_labels_are_bounded_and_free_of_control_characters(database_url: str) -> None:
    add(database_url)
    for label in ("x" * 201, "line\nbreak", "bell\x07"):
        refused = livedesk("tokens", "create", "ana", "--label", label, db=database_url)
        assert refused.returncode == 1 and "label: at most 200 characters" in refused.stderr
    with Store.open(database_url) as store:
        assert store.list_tokens() == []
