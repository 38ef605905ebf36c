"""The web app on a real database, in process (httpx ASGI transport) or on a real loopback uvicorn, and
articles put through the real chain."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from livedesk.config import Settings
from livedesk.desk import stories as desk_stories
from livedesk.desk.stories import merge_stories
from livedesk.models import StoredArticle
from livedesk.pipeline import process
from livedesk.store import Store
from livedesk.web.app import create_app
from tests.factories import make_article

DATA = Path(__file__).parent / "data" / "web"
NOW = datetime.now(UTC).replace(microsecond=0)


def lines(name: str) -> list[str]:
    return (DATA / name).read_text(encoding="utf-8").split("\n\n")


def put(
    store: Store,
    slug: str,
    *,
    site: str = "harbor.example",
    title: str | None = None,
    text: str | None = None,
    published: datetime | None = None,
    byline: str | None = None,
    attributed_to: str | None = None,
    html: str | None = None,
    site_name: str | None = None,
    date_only: bool = False,
) -> StoredArticle:
    """Run an article at https://`site`/news/`slug` through the whole chain (`process`), as the ingest does."""
    body = text or f"Report {slug} about the harbour. It has three sentences. This is the third one."
    article = make_article(
        f"https://{site}/news/{slug}",
        body,
        title=title or f"Update {slug}",
        html=html,
        first_seen_at=datetime.now(UTC),
        byline=byline,
        published_at=published,
        published_date_only=date_only,
        language="en",
        attributed_to=attributed_to,
        site_name=site_name,
    )
    return process(store, article).stored


def one_story(store: Store, articles: list[StoredArticle]) -> int:
    """Gather the articles into the first one's story (clustering is not what these tests are about)."""
    keep = store.article_story(articles[0].id)
    assert keep is not None
    for stored in articles[1:]:
        other = store.article_story(stored.id)
        if other is not None and other != keep:
            merge_stories(store, keep, other)
    return keep


def series(store: Store, count: int, *, start: datetime | None = None, prefix: str = "item") -> list[StoredArticle]:
    """`count` articles published a minute apart, the last the newest."""
    start = start or NOW - timedelta(minutes=count)
    return [put(store, f"{prefix}-{n}", published=start + timedelta(minutes=n)) for n in range(count)]


@dataclass
class Desk:
    app: FastAPI
    client: httpx.AsyncClient

    @property
    def store(self) -> Store:
        return self.app.state.store


# The names the tests reach the app by: httpx's in-process transport says `testserver`, uvicorn is on 127.0.0.1.
TEST_HOSTS = "testserver,127.0.0.1"


@asynccontextmanager
async def running_app(database_url: str, **settings: Any) -> AsyncIterator[FastAPI]:
    """The app on `database_url` with its lifespan running, answering to the test host names; other `settings` as
    given."""
    # With the desk's story edits, as `livedesk serve` starts it.
    app = create_app(
        Settings(database_url=database_url, **{"allowed_hosts": TEST_HOSTS, **settings}), story_edits=desk_stories
    )
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def desk(database_url: str) -> AsyncIterator[Desk]:
    async with (
        running_app(database_url) as app,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client,
    ):
        yield Desk(app, client)


async def subscribed(bus: Any, count: int = 1) -> None:
    """Wait until `count` live streams listen on the app's bus (a stream subscribes after its response headers are
    sent, so the headers alone do not say it will hear what is published next)."""
    async with asyncio.timeout(10):
        while bus.subscribers < count:
            await asyncio.sleep(0.01)


@asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[str]:
    """`app` on a real uvicorn at 127.0.0.1 (random port), in this event loop; yields the base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    # Without proxy headers, as `livedesk serve` runs it: the app alone decides whose X-Forwarded-For counts.
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning", proxy_headers=False))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()
