"""Who is asking: desk sign-in (a session cookie) and API tokens, checked server-side on every desk route.

For other routes, by these names:

- `await current_user(request) -> User | None`: the user signed in with this request's session cookie (looked up
  once per request, then cached on `request.state`).
- `Depends(desk_user(Role.EDITOR))` for HTML desk routes gives the signed-in User. Anonymous GET/HEAD: 303 to
  `/desk/login?next=<this page>`; anonymous, any other method: 401; a lower role: 403 (the error page). Every
  method but GET/HEAD/OPTIONS must also come from this site (an `Origin` header, when sent, naming this host; a
  `Sec-Fetch-Site`, when sent, `same-origin` or `none`) and carry the session's CSRF token, in the form field
  `csrf_token` or the `X-CSRF-Token` header: 403 otherwise.
- `Depends(api_user(Role.EDITOR))` for JSON API routes gives the User holding `Authorization: Bearer TOKEN`
  (`livedesk tokens create`): 401 with `WWW-Authenticate: Bearer` when the token is missing, unknown, revoked or
  its user disabled; 403 for a lower role; both as `{"error": {"code", "message"}}`. No cookie is read, so no CSRF.
- `csrf_token(request)`: the signed-in session's CSRF token ("" before `current_user`/`desk_user` ran, or when
  nobody is signed in). Templates rendered with `pages.render` have it as `csrf_token`:
  `<input type="hidden" name="csrf_token" value="{{ csrf_token }}">`.
- Forms are read with `livedesk.web.inputs.read_form(request)` (bounded, read once, shared with the CSRF check).

Roles: admin ≥ editor ≥ contributor (`Role.at_least`). Responses under /desk are never cached (app.NoStore).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from typing import Annotated
from urllib.parse import quote, urlencode, urlsplit

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from livedesk.desk.accounts import MAX_NAME
from livedesk.desk.signin import SessionPolicy, SignInLimited, SignInRefused, sign_in, sign_out, signed_in
from livedesk.models import DeskSession, Role, User
from livedesk.store import Store
from livedesk.web.inputs import read_form
from livedesk.web.pages import render
from livedesk.web.views import client_address, is_same_origin, is_trusted_proxy

__all__ = [
    "CSRF_COOKIE",
    "SESSION_COOKIE",
    "ApiAuthError",
    "SignInRequired",
    "api_auth_error",
    "api_user",
    "csrf_token",
    "current_user",
    "desk_user",
    "local_path",
    "router",
    "sign_in_required",
]

SESSION_COOKIE = "livedesk_session"
CSRF_COOKIE = "livedesk_csrf"  # the sign-in form's, before there is a session: a double-submit cookie
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
DEFAULT_NEXT = "/desk"
# Our secrets are 43 characters; anything much longer is not one, and is not looked up.
MAX_SECRET = 128
MAX_NEXT = 2000

router = APIRouter(include_in_schema=False)


class SignInRequired(Exception):
    """An anonymous visitor opened a desk page: they are sent to sign in, and back to `next` afterwards."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


class ApiAuthError(HTTPException):
    """401/403 for an API route: always the JSON error shape, whatever the path."""

    def __init__(self, status_code: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(status_code, message, headers)
        self.code = code


async def sign_in_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    return RedirectResponse("/desk/login?" + urlencode({"next": exc.next_path}), status_code=303)


async def api_auth_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiAuthError)
    return JSONResponse(
        {"error": {"code": exc.code, "message": exc.detail}}, status_code=exc.status_code, headers=exc.headers
    )


# the signed-in user


async def current_user(request: Request) -> User | None:
    session = await _session(request)
    return None if session is None else session.user


def csrf_token(request: Request) -> str:
    token: str = getattr(request.state, "csrf_token", "")
    return token


def desk_user(role: Role) -> Callable[[Request], Awaitable[User]]:
    """A dependency for HTML desk routes: the signed-in user, if their role is at least `role` (see the module)."""

    async def signed_in_user(request: Request) -> User:
        session = await _session(request)
        safe = request.method in SAFE_METHODS
        if session is None:
            if safe:
                raise SignInRequired(_this_page(request))
            raise HTTPException(401, "Sign in to the desk first.")
        if not safe:
            await _check_csrf(request, session.csrf_token)
        if not session.user.role.at_least(role):
            raise HTTPException(403, f"This needs the {role} role or above; you are signed in as {session.user.role}.")
        return session.user

    return signed_in_user


def api_user(role: Role) -> Callable[[Request], Awaitable[User]]:
    """A dependency for JSON API routes: the holder of the request's bearer token, if their role is at least
    `role` (see the module)."""

    async def token_holder(request: Request) -> User:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise ApiAuthError(
                401, "unauthorized", "Send an API token: Authorization: Bearer TOKEN.", {"WWW-Authenticate": "Bearer"}
            )
        user = None if len(token) > MAX_SECRET else await run_in_threadpool(_store(request).user_for_token, token)
        if user is None:
            raise ApiAuthError(
                401,
                "unauthorized",
                "The API token is not valid: unknown, revoked, or its user is disabled.",
                {"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        if not user.role.at_least(role):
            message = f"This needs the {role} role or above; the token's user is {user.role}."
            raise ApiAuthError(403, "forbidden", message)
        return user

    return token_holder


# sign-in and sign-out


@router.get("/desk/login")
async def login_form(
    request: Request, next_path: Annotated[str, Query(alias="next", max_length=MAX_NEXT)] = DEFAULT_NEXT
) -> Response:
    # One token per browser, kept while it is there: sign-in forms open in several tabs all stay valid.
    token = request.cookies.get(CSRF_COOKIE, "")
    if not 32 <= len(token) <= MAX_SECRET:
        token = secrets.token_urlsafe(32)
    return _login_page(request, token, local_path(next_path))


@router.post("/desk/login")
async def login(request: Request) -> Response:
    _check_same_site(request)
    fields = await read_form(request)
    token = request.cookies.get(CSRF_COOKIE, "")
    if not token or not _equal(fields.get("csrf_token", ""), token):
        raise HTTPException(403, "The sign-in form has expired or did not come from this site; reload it, try again.")
    name, next_path = fields.get("name", ""), local_path(fields.get("next"))
    state = request.app.state
    address = client_address(
        request.client.host if request.client else "", request.headers.getlist("x-forwarded-for"), state.trusted_proxies
    )
    policy: SessionPolicy = state.session_policy
    try:
        signed = await run_in_threadpool(
            sign_in, _store(request), name, fields.get("password", ""), address, policy=policy
        )
    except SignInRefused as refused:
        return _login_page(request, token, next_path, name=name, message=str(refused), status_code=401)
    except SignInLimited as limited:
        response = _login_page(request, token, next_path, name=name, message=str(limited), status_code=429)
        response.headers["Retry-After"] = str(limited.retry_after_seconds)
        return response
    # A session id a browser arrived with is never kept: the new one is fresh, and the old one ends.
    old = request.cookies.get(SESSION_COOKIE, "")
    if old and len(old) <= MAX_SECRET:
        await run_in_threadpool(sign_out, _store(request), old)
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        signed.session_secret,
        max_age=int(policy.lifetime.total_seconds()),
        path="/",
        secure=_https(request),
        httponly=True,
        samesite="lax",  # sent when following a link to the desk, never with another site's form or script
    )
    return response


@router.post("/desk/logout")
async def logout(request: Request) -> Response:
    session = await _session(request)
    if session is not None:
        await _check_csrf(request, session.csrf_token)
        await run_in_threadpool(sign_out, _store(request), request.cookies[SESSION_COOKIE])
    response = RedirectResponse("/desk/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", secure=_https(request), httponly=True, samesite="lax")
    return response


def local_path(next_path: str | None) -> str:
    """`next_path` when it is a path on this site, else /desk: never another site (`//host`, `/\\host`,
    `https://host`), which browsers would follow after signing in."""
    if (
        not next_path
        or len(next_path) > MAX_NEXT
        or not next_path.startswith("/")
        or next_path.startswith("//")
        # Browsers read a backslash as a slash and drop tabs and newlines: "/\\host" and "/\t/host" are "//host".
        or any(ch == "\\" or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in next_path)
    ):
        return DEFAULT_NEXT
    parts = urlsplit(next_path)
    return DEFAULT_NEXT if parts.scheme or parts.netloc else next_path


def _login_page(
    request: Request, token: str, next_path: str, *, name: str = "", message: str | None = None, status_code: int = 200
) -> Response:
    # The name is shown again after a failure, never the password.
    response = render(
        request,
        "login.html",
        status_code=status_code,
        login_csrf=token,
        next_path=next_path,
        name=name if len(name) <= MAX_NAME else "",
        message=message,
    )
    response.set_cookie(CSRF_COOKIE, token, path="/desk", secure=_https(request), httponly=True, samesite="strict")
    return response


# helpers


def _store(request: Request) -> Store:
    return request.app.state.store


async def _session(request: Request) -> DeskSession | None:
    state = request.state
    if not hasattr(state, "desk_session"):
        secret = request.cookies.get(SESSION_COOKIE, "")
        session = None
        if secret and len(secret) <= MAX_SECRET:
            policy: SessionPolicy = request.app.state.session_policy
            session = await run_in_threadpool(signed_in, _store(request), secret, policy=policy)
        state.desk_session = session
        state.csrf_token = "" if session is None else session.csrf_token
    desk_session: DeskSession | None = state.desk_session
    return desk_session


def _check_same_site(request: Request) -> None:
    """403 for a request a browser says another site's page made. A header left out proves nothing either way
    (older browsers, scripts): the CSRF token is what stops those."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site.strip().lower() not in ("same-origin", "none"):
        raise HTTPException(403, "This form was sent from another site.")
    if not is_same_origin(request.headers.get("host"), request.headers.get("origin"), None):
        raise HTTPException(403, "This form was sent from another site.")


async def _check_csrf(request: Request, expected: str) -> None:
    _check_same_site(request)
    given = request.headers.get("x-csrf-token")
    if given is None:
        given = (await read_form(request)).get("csrf_token", "")
    if not _equal(given, expected):
        raise HTTPException(403, "The form has expired or did not come from the desk; reload the page and try again.")


def _equal(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _this_page(request: Request) -> str:
    query = request.url.query
    return quote(request.url.path) + (f"?{query}" if query else "")


def _https(request: Request) -> bool:
    """Whether the browser reached the site over https: here, or at a trusted proxy that says so (the cookies are
    then Secure: never sent over plain http)."""
    if request.url.scheme == "https":
        return True
    peer = request.client.host if request.client else ""
    proto = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return proto == "https" and is_trusted_proxy(peer, request.app.state.trusted_proxies)
