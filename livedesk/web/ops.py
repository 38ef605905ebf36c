"""Operations: /metrics for Prometheus, /healthz and /readyz for whatever runs the server, and the request metrics.

/metrics is internal: with LIVEDESK_METRICS_TOKEN set it asks for that bearer token, from anyone; without, it
answers only clients on this machine. Request metrics are labelled by route template (`/stories/{story_id}`),
never by the path asked for, so that no client can add time series at will.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from livedesk.metrics import HTTP_REQUESTS, HTTP_SECONDS
from livedesk.publish import Bus
from livedesk.store import Store
from livedesk.web.views import client_address, is_trusted_proxy

logger = logging.getLogger(__name__)

# How long /readyz waits for the database: a probe must answer even when the database hangs.
READY_TIMEOUT_SECONDS = 2.0
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED_ROUTE = "unmatched"  # the route label of a request no route answers (a 404 for any path at all)
_NO_STORE = {"cache-control": "no-store"}

router = APIRouter(include_in_schema=False)


class StoreFigures:
    """The figures read from the database when scraped: the work waiting now."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def collect(self) -> Iterator[Metric]:
        due = self._store.count_due_sources(datetime.now(UTC))
        yield GaugeMetricFamily("livedesk_sources_due", "Enabled sources due for a poll now.", value=due)
        waiting = self._store.count_unprocessed_articles()
        yield GaugeMetricFamily(
            "livedesk_articles_unprocessed", "Stored articles with a stage of the chain still to run.", value=waiting
        )


def may_read_metrics(request: Request, token: str) -> bool:
    """With a `token`, whether the request carries it as a bearer token; without, whether it comes from this
    machine: a loopback peer relaying nobody else, or a trusted proxy relaying a loopback client."""
    if token:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())
    trusted = request.app.state.trusted_proxies
    peer = request.client.host if request.client else ""
    forwarded = request.headers.getlist("x-forwarded-for")
    if (forwarded or "forwarded" in request.headers) and not is_trusted_proxy(peer, trusted):
        return False  # a proxy in front that nobody declared: the reader may be anyone
    try:
        return ipaddress.ip_address(client_address(peer, forwarded, trusted)).is_loopback
    except ValueError:
        return False


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    """The Prometheus text exposition of this server's metrics."""
    token: str = request.app.state.metrics_token
    if not may_read_metrics(request, token):
        if token:
            raise HTTPException(401, "The metrics ask for a bearer token.", headers={"WWW-Authenticate": "Bearer"})
        raise HTTPException(403, "The metrics are served to this machine only (or with a token).")
    body = await asyncio.to_thread(generate_latest, request.app.state.metrics)
    return Response(body, media_type=CONTENT_TYPE_LATEST, headers=_NO_STORE)


@router.get("/healthz")
async def healthz() -> Response:
    """200 while the process serves; asks nothing of the database."""
    return JSONResponse({"status": "ok"}, headers=_NO_STORE)


@router.get("/readyz")
async def readyz(request: Request) -> Response:
    """200 when the database answers, its schema is current and (PostgreSQL) the bus listens; else 503 and why."""
    reason = await unready_reason(request.app.state.store, request.app.state.bus)
    if reason is None:
        return JSONResponse({"status": "ready"}, headers=_NO_STORE)
    return JSONResponse({"status": "unavailable", "reason": reason}, status_code=503, headers=_NO_STORE)


async def unready_reason(store: Store, bus: Bus, timeout: float = READY_TIMEOUT_SECONDS) -> str | None:
    """Why the server cannot serve now, or None. Details of a database error go to the log, not to the client."""
    try:
        async with asyncio.timeout(timeout):
            current = await asyncio.to_thread(store.schema_is_current)
    except TimeoutError:
        return f"the database did not answer within {timeout:g} s"
    except Exception as error:  # whatever the driver raises, the answer is the same
        logger.warning("readiness: the database cannot be reached: %s", error)
        return "the database cannot be reached"
    if not current:
        return "the database schema is not at the latest migration"
    if not bus.connected:
        return "the live-update bus is not connected to the database"
    return None


def route_template(scope: Scope) -> str:
    """The template of the route that answered (`/stories/{story_id}`, `/static`), or UNMATCHED_ROUTE."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return template if isinstance(template, str) and template else UNMATCHED_ROUTE


class RequestMetrics:
    """Counts every HTTP request by method, route template and status, and observes its duration."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # unless a response starts: the app raised

        async def noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, noting_status)
        finally:
            method = scope["method"] if scope["method"] in _METHODS else "other"
            route = route_template(scope)  # the router wrote it into this very scope
            HTTP_REQUESTS.labels(method, route, str(status)).inc()
            HTTP_SECONDS.labels(method, route).observe(time.perf_counter() - started)
