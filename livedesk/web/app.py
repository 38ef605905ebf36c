"""The ASGI app: pages, SSE, feeds, the JSON API (OpenAPI at /openapi.json), view beacons, static files.

`create_app(settings)` builds it; its lifespan opens the store, the bus and the view counter, puts them on
`app.state`, and runs the given background tasks beside the server (in the embedded setup, the poll loop: the web
package itself never imports the pipeline).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import re
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from livedesk.config import Settings
from livedesk.desk import posts
from livedesk.desk.signin import SessionPolicy
from livedesk.metrics import mark_process_dead, registry
from livedesk.publish import Bus, open_bus
from livedesk.store import Store
from livedesk.urls import parse_networks
from livedesk.web import api, auth, desk, desk_api, feeds, home, oidc, ops, pages, users, views
from livedesk.web.edits import StoryEdits
from livedesk.web.live import LiveItems
from livedesk.web.render import environment

logger = logging.getLogger(__name__)

SECURITY_HEADERS = [
    (
        b"content-security-policy",
        # Desk posts may show images by URL (https only, or inline data): images alone are loosened.
        b"default-src 'self'; img-src 'self' https: data:; base-uri 'none'; object-src 'none'; form-action 'self'; "
        b"frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"x-frame-options", b"DENY"),
]

_ERROR_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    410: "gone",
    413: "too_large",
    422: "invalid_request",
    429: "rate_limited",
    503: "unavailable",
}


class SecurityHeaders:
    """Adds SECURITY_HEADERS to every HTTP response (a plain ASGI wrapper: streaming responses stay streaming)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)


class NoStore:
    """`Cache-Control: no-store` on every response under /desk, and on every response to a request carrying an
    API token: what they show depends on who asks, so no browser or proxy may keep a copy."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not (
            scope["path"] == "/desk" or scope["path"].startswith("/desk/") or "authorization" in Headers(scope=scope)
        ):
            await self.app(scope, receive, send)
            return

        async def not_stored(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"]
                message["headers"] = [*headers, (b"cache-control", b"no-store")]
            await send(message)

        await self.app(scope, receive, not_stored)


# A Host header: a name or a bracketed IPv6 address, then at most a numeric port.
_HOST_HEADER = re.compile(r"(\[[0-9a-f:.]+\]|[^:\[\]]+)(?::[0-9]{1,5})?", re.IGNORECASE)


def allowed_host_names(setting: str) -> frozenset[str]:
    """Settings.allowed_hosts ("example.org, [::1]") → the lowercased names."""
    return frozenset(name.strip().lower() for name in setting.split(",") if name.strip())


def host_name(host_header: str) -> str | None:
    """The lowercased name a Host header gives, or None when it is not a name with an optional numeric port."""
    matched = _HOST_HEADER.fullmatch(host_header)
    return matched.group(1).lower() if matched else None


class AllowedHosts:
    """Answers 400, in the app's error shape, to a request whose one Host header names no allowed host: absolute
    URLs (feeds, JSON-LD) are built from that header, so it must never be a name a client made up."""

    def __init__(self, app: ASGIApp, hosts: frozenset[str]) -> None:
        self.app = app
        self.hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            given = Headers(scope=scope).getlist("host")
            if len(given) != 1 or host_name(given[0]) not in self.hosts:
                message = "This server does not answer to that host name."
                response = _error(Request(scope), 400, "bad_request", message, "Something is not right")
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


# Work that runs as long as the server does, given the app's store and bus (e.g. the embedded poll loop).
BackgroundTask = Callable[[Store, Bus], Coroutine[object, object, None]]


class _App(FastAPI):
    def build_middleware_stack(self) -> ASGIApp:
        # Outside everything, Starlette's ServerErrorMiddleware included: its 500 responses carry the headers too.
        return SecurityHeaders(super().build_middleware_stack())


def create_app(
    settings: Settings | None = None,
    *,
    background: Sequence[BackgroundTask] = (),
    story_edits: StoryEdits | None = None,
) -> FastAPI:
    """The web app on `settings.database_url`, running `background` tasks while it serves; the desk merges and
    splits stories with `story_edits`."""
    settings = settings or Settings.from_env()
    trusted_proxies = parse_networks(settings.trusted_proxies)  # a bad CIDR fails here, before anything is opened
    outlet_names = settings.outlet_name_map()  # and so does a bad domain=name pair

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = Store.open(settings.database_url, outlet_names=outlet_names)
        bus = open_bus(settings.database_url)
        await bus.start()
        counter = views.ViewCounter(store, trusted_proxies=trusted_proxies)
        await counter.start()
        app.state.store, app.state.bus, app.state.view_counter = store, bus, counter
        app.state.live = LiveItems(store, app.state.templates)
        app.state.live_stories = home.LiveStories(store, app.state.templates)
        app.state.metrics = registry(ops.StoreFigures(store))
        # Scheduled posts go live from every web process: publishing one is idempotent, the first one wins.
        tasks: list[asyncio.Task[None]] = [
            asyncio.create_task(task(store, bus)) for task in (*background, posts.publish_due_forever)
        ]
        # What is alive now (modules, templates, the NLP models) lives as long as the process: keep it out of the
        # garbage collector's full passes, which otherwise stall every open stream for their whole duration.
        gc.freeze()
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await counter.stop()
            await bus.stop()
            store.close()
            mark_process_dead(os.getpid())

    app = _App(
        title="livedesk",
        summary="Live stories, their updates, topic pages, articles, search and outlets.",
        version="0.1.0",
        lifespan=lifespan,
        # The interactive docs load their scripts from a CDN: not here. The document is at /openapi.json.
        docs_url=None,
        redoc_url=None,
    )
    app.state.templates = environment()
    app.state.story_edits = story_edits
    app.state.session_policy = SessionPolicy.from_settings(settings)
    app.state.oidc = oidc.OpenIDProvider.configured(settings)
    app.state.trusted_proxies = trusted_proxies
    app.state.metrics_token = settings.metrics_token
    app.include_router(ops.router)
    app.include_router(api.router)
    app.include_router(desk_api.router)
    app.include_router(views.router)
    app.include_router(feeds.router)
    app.include_router(home.router)
    app.include_router(pages.router)
    app.include_router(auth.router)
    app.include_router(oidc.router)
    app.include_router(users.router)
    app.include_router(desk.router)
    app.mount("/static", StaticFiles(directory=str(files("livedesk.web") / "static")), name="static")
    app.add_exception_handler(auth.SignInRequired, auth.sign_in_required)
    app.add_exception_handler(auth.ApiAuthError, auth.api_auth_error)
    app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _server_error)
    app.add_middleware(NoStore)
    app.add_middleware(AllowedHosts, hosts=allowed_host_names(settings.allowed_hosts))
    app.add_middleware(ops.RequestMetrics)  # outermost: requests refused for their Host header count too
    return app


def _wants_json(request: Request) -> bool:
    return request.url.path == "/api" or request.url.path.startswith("/api/")


def _error(request: Request, status: int, code: str, message: str, heading: str) -> Response:
    if _wants_json(request):
        return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)
    return pages.render(request, "error.html", status_code=status, status=status, heading=heading, message=message)


async def _http_error(request: Request, exc: HTTPException) -> Response:
    code = _ERROR_CODES.get(exc.status_code, "error")
    heading = {404: "Not found", 410: "Removed"}.get(exc.status_code, "Something is not right")
    response = _error(request, exc.status_code, code, str(exc.detail), heading)
    response.headers.update(exc.headers or {})
    return response


async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
    problems = "; ".join(f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in exc.errors())
    return _error(request, 422, "invalid_request", problems, "Something is not right")


async def _server_error(request: Request, exc: Exception) -> Response:
    logger.error("unhandled error on %s", request.url.path, exc_info=exc)
    return _error(request, 500, "internal_error", "The server failed; try again later.", "Server error")
