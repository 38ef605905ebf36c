"""Signed-in desk users for tests of desk pages and the desk API.

    async with signed_in_client(desk.app, Role.EDITOR) as editor:
        page = await editor.client.get("/desk")
        await editor.client.post("/desk/posts", data={"csrf_token": editor.csrf_token, ...})

    token = api_token(desk.store, Role.EDITOR)
    await desk.client.post("/api/desk/posts", headers={"Authorization": f"Bearer {token}"}, json=...)

Users are real accounts in the app's store with PASSWORD; sessions are real ones (livedesk.desk.signin.sign_in),
so sign-out, disabling and expiry behave as in production.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from fastapi import FastAPI

from livedesk.desk import accounts
from livedesk.desk.signin import sign_in
from livedesk.models import Role, User
from livedesk.store import Store
from livedesk.web.auth import SESSION_COOKIE

PASSWORD = "correct horse battery staple"


@dataclass
class SignedInClient:
    """An httpx client carrying `user`'s session cookie; `csrf_token` is the session's, for forms and the
    X-CSRF-Token header."""

    client: httpx.AsyncClient
    user: User
    session_secret: str
    csrf_token: str


def add_user(store: Store, role: Role = Role.EDITOR, name: str | None = None, password: str = PASSWORD) -> User:
    """A new enabled account with `role` (named after the role and a random suffix unless `name` is given)."""
    return accounts.add_user(store, name or f"{role}-{secrets.token_hex(3)}", role, password)


def api_token(store: Store, role: Role = Role.EDITOR, name: str | None = None) -> str:
    """The secret of a new API token held by a new user with `role` (or by the existing user `name`)."""
    if name is None or store.get_user(name) is None:
        name = add_user(store, role, name).name
    return accounts.create_token(store, name, "tests").secret


@asynccontextmanager
async def signed_in_client(
    app: FastAPI,
    role: Role = Role.EDITOR,
    *,
    name: str | None = None,
    base_url: str = "http://testserver",
    address: str = "127.0.0.1",
) -> AsyncIterator[SignedInClient]:
    """A client of the running `app` (in process), signed in as a new user with `role` (or the existing `name`)."""
    store: Store = app.state.store
    if name is None or store.get_user(name) is None:
        name = add_user(store, role, name).name
    signed = sign_in(store, name, PASSWORD, address, policy=app.state.session_policy)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=base_url, cookies={SESSION_COOKIE: signed.session_secret}
    ) as client:
        yield SignedInClient(client, signed.user, signed.session_secret, signed.csrf_token)
