"""Desk sign-in through an OpenID Connect provider: a small provider of our own on loopback (discovery, authorize,
token with PKCE and client authentication, JWKS), the app on a real uvicorn, and a browser-like client following
the redirects between them."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse
from joserfc import jwt
from joserfc.jwk import RSAKey

from livedesk.desk import accounts
from livedesk.models import Role
from tests.desk_fixtures import add_user
from tests.web_fixtures import running_app, served

CLIENT_ID, CLIENT_SECRET = "livedesk-desk", "provider-issued-secret"


@dataclass
class Provider:
    """What the provider signs in as, and how it misbehaves when a test asks it to."""

    subject: str = "ana"
    key: Any = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "k1"}))
    signing_key: Any = None  # another key: a forged token
    audience: str = CLIENT_ID
    nonce: str | None = None  # another nonce: a replayed token
    expires_in: int = 300
    issued: dict[str, dict[str, str]] = field(default_factory=dict)  # code → the authorize request
    base_url: str = ""

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/.well-known/openid-configuration")
        def discovery() -> dict[str, str]:
            return {
                "issuer": self.base_url,
                "authorization_endpoint": f"{self.base_url}/authorize",
                "token_endpoint": f"{self.base_url}/token",
                "jwks_uri": f"{self.base_url}/jwks",
            }

        @app.get("/jwks")
        def jwks() -> dict[str, Any]:
            return {"keys": [self.key.as_dict(private=False)]}

        @app.get("/authorize")
        def authorize(request: Request) -> RedirectResponse:
            params = dict(request.query_params)
            assert params["client_id"] == CLIENT_ID and params["code_challenge_method"] == "S256"
            code = secrets.token_urlsafe(16)
            self.issued[code] = params  # the person signs in at the provider: here at once
            return RedirectResponse(params["redirect_uri"] + "?" + urlencode({"code": code, "state": params["state"]}))

        @app.post("/token")
        async def token(request: Request) -> JSONResponse:
            expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
            if request.headers.get("authorization") != f"Basic {expected}":
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            form = dict(parse_qs((await request.body()).decode()))
            asked = self.issued.pop(form["code"][0], None)  # a code works once
            verifier = form.get("code_verifier", [""])[0]
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
            if (
                asked is None
                or challenge != asked["code_challenge"]
                or form["redirect_uri"][0] != asked["redirect_uri"]
            ):
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            now = int(time.time())
            claims = {
                "iss": self.base_url,
                "sub": "user-1",
                "aud": self.audience,
                "iat": now,
                "exp": now + self.expires_in,
                "nonce": self.nonce or asked["nonce"],
                "preferred_username": self.subject,
            }
            key = self.signing_key or self.key
            id_token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, key)
            return JSONResponse({"access_token": "a", "token_type": "Bearer", "expires_in": 300, "id_token": id_token})

        return app


@asynccontextmanager
async def desk_with_provider(database_url: str, provider: Provider) -> AsyncIterator[tuple[FastAPI, str]]:
    async with served(provider.app()) as provider_url:
        provider.base_url = provider_url
        settings = {"oidc_issuer": provider_url, "oidc_client_id": CLIENT_ID, "oidc_client_secret": CLIENT_SECRET}
        async with running_app(database_url, **settings) as app, served(app) as base:
            yield app, base


async def _sign_in(client: httpx.AsyncClient, base: str, next_path: str = "/desk/users") -> httpx.Response:
    """Start at the desk, follow the provider's redirect back; the desk's last answer."""
    started = await client.get(f"{base}/desk/login/oidc", params={"next": next_path})
    assert started.status_code == 303
    at_provider = await client.get(started.headers["location"])
    assert at_provider.status_code in (302, 307)
    return await client.get(at_provider.headers["location"])


async def test_an_existing_account_signs_in_through_the_provider(database_url: str) -> None:
    provider = Provider()
    async with desk_with_provider(database_url, provider) as (app, base), httpx.AsyncClient(timeout=20) as client:
        add_user(app.state.store, Role.ADMIN, name="ana")
        done = await _sign_in(client, base)
        assert done.status_code == 303 and done.headers["location"] == "/desk/users"
        cookie = done.headers["set-cookie"]
        assert "livedesk_session=" in cookie and "HttpOnly" in cookie
        assert (await client.get(f"{base}/desk/users")).status_code == 200  # signed in, with the admin's role


@pytest.mark.parametrize(
    "misbehaviour",
    ["forged", "other-audience", "replayed-nonce", "expired", "unknown-account", "disabled-account"],
)
async def test_a_sign_in_the_desk_cannot_trust_is_refused(database_url: str, misbehaviour: str) -> None:
    provider = Provider()
    if misbehaviour == "forged":
        provider.signing_key = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    elif misbehaviour == "other-audience":
        provider.audience = "another-client"
    elif misbehaviour == "replayed-nonce":
        provider.nonce = "a-nonce-from-another-sign-in"
    elif misbehaviour == "expired":
        provider.expires_in = -3600
    elif misbehaviour == "unknown-account":
        provider.subject = "mallory"
    async with desk_with_provider(database_url, provider) as (app, base), httpx.AsyncClient(timeout=20) as client:
        add_user(app.state.store, Role.ADMIN, name="ana")
        if misbehaviour == "disabled-account":
            accounts.set_user_disabled(app.state.store, "ana", True)
        done = await _sign_in(client, base)
        assert done.status_code == 403
        assert "livedesk_session" not in done.headers.get("set-cookie", "")
        assert (await client.get(f"{base}/desk/users")).status_code == 303  # still sent to sign in


async def test_a_callback_the_browser_did_not_start_is_refused(database_url: str) -> None:
    provider = Provider()
    async with desk_with_provider(database_url, provider) as (app, base), httpx.AsyncClient(timeout=20) as client:
        add_user(app.state.store, Role.ADMIN, name="ana")
        # An attacker's own code and state, pushed into a victim's browser (login CSRF): no flow cookie here.
        started = await client.get(f"{base}/desk/login/oidc")
        at_provider = await client.get(started.headers["location"])
        callback = at_provider.headers["location"]
        async with httpx.AsyncClient(timeout=20) as victim:
            assert (await victim.get(callback)).status_code == 400
        # The right browser with a state changed on the way.
        query = parse_qs(urlsplit(callback).query)
        wrong = f"{base}/desk/login/oidc/callback?" + urlencode({"code": query["code"][0], "state": "x" * 43})
        assert (await client.get(wrong)).status_code == 400


async def test_without_a_provider_there_is_no_provider_sign_in(database_url: str) -> None:
    async with running_app(database_url) as app, served(app) as base, httpx.AsyncClient() as client:
        assert (await client.get(f"{base}/desk/login/oidc")).status_code == 404


async def test_the_sign_in_page_offers_the_provider_only_when_there_is_one(database_url: str) -> None:
    async with desk_with_provider(database_url, Provider()) as (_, base), httpx.AsyncClient() as client:
        assert 'href="/desk/login/oidc?next=' in (await client.get(f"{base}/desk/login")).text
    async with running_app(database_url) as app, served(app) as base, httpx.AsyncClient() as client:
        assert "/desk/login/oidc" not in (await client.get(f"{base}/desk/login")).text
