"""Sign-in through an OpenID Connect provider (optional: LIVEDESK_OIDC_ISSUER and the client's id and secret).

The authorization code flow with PKCE (S256), a `state` and a `nonce`, all three kept in a short-lived HttpOnly
cookie of the browser that started the sign-in. The code exchange is one form POST (client_secret_basic); the ID
token's signature and claims are checked with joserfc (Authlib's JOSE library, which Authlib itself now defers
to) against the provider's JWKS: issuer, audience, nonce, expiry, asymmetric algorithms only. The provider only says
who someone is: the desk account of that name (the `LIVEDESK_OIDC_USERNAME_CLAIM` claim) must exist and be enabled,
and keeps its own role. A provider's discovery document and keys come from the configured issuer, never from
anything a browser sends.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from base64 import urlsafe_b64encode
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlencode

import httpx
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from starlette.concurrency import run_in_threadpool

from livedesk.config import Settings
from livedesk.desk.signin import SignInRefused, desk_account, open_session
from livedesk.web.auth import DEFAULT_NEXT, is_https, local_path, signed_in_response

router = APIRouter(include_in_schema=False)

FLOW_COOKIE = "livedesk_oidc"
CALLBACK_PATH = "/desk/login/oidc/callback"
FLOW_SECONDS = 600  # a sign-in at the provider must finish within ten minutes
METADATA_SECONDS = 3600.0  # discovery document and keys are read again after an hour (keys rotate)
TIMEOUT = httpx.Timeout(10.0)
MAX_CODE = 2048
# Asymmetric signatures only: with HS256 allowed, the client secret would sign tokens, and "none" would sign nothing.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
CLOCK_LEEWAY = 60


class ProviderError(Exception):
    """The provider could not be reached or answered something unusable."""


@dataclass(frozen=True)
class _Provider:
    authorization_endpoint: str
    token_endpoint: str
    keys: KeySet
    read_at: float


class OpenIDProvider:
    """The configured provider: its discovery document and keys, read when first needed and cached."""

    def __init__(self, settings: Settings) -> None:
        self.issuer = settings.oidc_issuer.rstrip("/")
        self.client_id = settings.oidc_client_id
        self.client_secret = settings.oidc_client_secret
        self.username_claim = settings.oidc_username_claim
        self._provider: _Provider | None = None
        self._lock = asyncio.Lock()

    @classmethod
    def configured(cls, settings: Settings) -> OpenIDProvider | None:
        if not settings.oidc_issuer:
            return None
        if not settings.oidc_client_id:
            raise ValueError("LIVEDESK_OIDC_ISSUER is set but LIVEDESK_OIDC_CLIENT_ID is not")
        return cls(settings)

    async def metadata(self, *, refresh: bool = False) -> _Provider:
        async with self._lock:
            stale = self._provider is None or time.monotonic() - self._provider.read_at > METADATA_SECONDS
            if refresh or stale:
                self._provider = await self._discover()
            assert self._provider is not None
            return self._provider

    async def _discover(self) -> _Provider:
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False) as client:
                document = _json_object(await client.get(f"{self.issuer}/.well-known/openid-configuration"))
                if str(document.get("issuer", "")).rstrip("/") != self.issuer:
                    raise ProviderError("the provider's discovery document names another issuer")
                keys = KeySet.import_key_set(_json_object(await client.get(str(document["jwks_uri"]))))  # type: ignore[arg-type]
            return _Provider(
                str(document["authorization_endpoint"]), str(document["token_endpoint"]), keys, time.monotonic()
            )
        except (httpx.HTTPError, KeyError, ValueError, JoseError) as error:
            raise ProviderError(f"cannot read the OpenID Connect provider's configuration: {error}") from error

    async def identity(self, code: str, verifier: str, nonce: str, redirect_uri: str) -> str:
        """Exchange the code for tokens and return the account name the verified ID token names."""
        provider = await self.metadata()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": verifier,
            "redirect_uri": redirect_uri,
        }
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False) as client:
                token = _json_object(
                    await client.post(
                        provider.token_endpoint,
                        data=form,
                        auth=(self.client_id, self.client_secret),
                        headers={"Accept": "application/json"},
                    )
                )
        except (httpx.HTTPError, ValueError) as error:
            raise ProviderError(f"the provider refused the sign-in: {error}") from error
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise ProviderError("the provider sent no ID token")
        claims = self._verified(id_token, provider.keys, nonce)
        if claims is None:  # maybe signed with a key that came after ours were read
            claims = self._verified(id_token, (await self.metadata(refresh=True)).keys, nonce)
        if claims is None:
            raise ProviderError("the ID token's signature does not verify")
        name = claims.get(self.username_claim)
        if not isinstance(name, str) or not name:
            raise ProviderError(f"the ID token has no {self.username_claim!r} claim")
        return name

    def _verified(self, id_token: str, keys: KeySet, nonce: str) -> dict[str, Any] | None:
        try:
            token = jwt.decode(id_token, keys, algorithms=ALGORITHMS)
        except JoseError:
            return None  # a bad signature, or no key for it
        registry = jwt.JWTClaimsRegistry(
            leeway=CLOCK_LEEWAY,
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.client_id},
            nonce={"essential": True, "value": nonce},
            exp={"essential": True},
            sub={"essential": True},
        )
        try:
            registry.validate(token.claims)
        except JoseError as error:
            raise ProviderError(f"the ID token is not valid here: {error}") from error
        return dict(token.claims)


def _json_object(response: httpx.Response) -> dict[str, Any]:
    response.raise_for_status()
    data = response.json()
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return data


def _provider(request: Request) -> OpenIDProvider:
    provider: OpenIDProvider | None = request.app.state.oidc
    if provider is None:
        raise HTTPException(404, "Sign-in through an identity provider is not set up here.")
    return provider


def _redirect_uri(request: Request) -> str:
    # The Host header names an allowed host (AllowedHosts): the provider checks this against its registration.
    return str(request.base_url.replace(path=CALLBACK_PATH, query=""))


@router.get("/desk/login/oidc")
async def oidc_start(request: Request, next: str = DEFAULT_NEXT) -> Response:
    provider = _provider(request)
    try:
        metadata = await provider.metadata()
    except ProviderError as error:
        raise HTTPException(503, str(error)) from error
    state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
    challenge = urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    query = {
        "response_type": "code",
        "client_id": provider.client_id,
        "redirect_uri": _redirect_uri(request),
        "scope": "openid profile email",
        "state": state,
        "nonce": nonce,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    separator = "&" if "?" in metadata.authorization_endpoint else "?"
    response = RedirectResponse(metadata.authorization_endpoint + separator + urlencode(query), status_code=303)
    flow = " ".join((state, nonce, verifier, quote(local_path(next), safe="")))
    # Lax: the provider sends the browser back with a top-level GET, which carries Lax cookies.
    response.set_cookie(
        FLOW_COOKIE, flow, max_age=FLOW_SECONDS, path="/desk/login/oidc", secure=is_https(request), httponly=True,
        samesite="lax",
    )  # fmt: skip
    return response


@router.get(CALLBACK_PATH)
async def oidc_callback(request: Request, code: str = "", state: str = "", error: str = "") -> Response:
    provider = _provider(request)
    parts = request.cookies.get(FLOW_COOKIE, "").split(" ")
    if len(parts) != 4 or not state or not hmac.compare_digest(parts[0].encode(), state.encode()):
        raise HTTPException(400, "This sign-in did not start here, or took too long; start again.")
    _, nonce, verifier, next_path = parts
    if error or not code or len(code) > MAX_CODE:
        raise HTTPException(403, f"The identity provider did not sign you in ({error[:100] or 'no code'}).")
    try:
        name = await provider.identity(code, verifier, nonce, _redirect_uri(request))
        store = request.app.state.store
        user = await run_in_threadpool(desk_account, store, name)
        signed = await run_in_threadpool(open_session, store, user, policy=request.app.state.session_policy)
    except ProviderError as refused:
        raise HTTPException(403, f"Sign-in failed: {refused}") from refused
    except SignInRefused as refused:
        raise HTTPException(403, str(refused)) from refused
    response = await signed_in_response(request, signed, unquote(next_path))
    response.delete_cookie(FLOW_COOKIE, path="/desk/login/oidc", secure=is_https(request), httponly=True)
    return response
