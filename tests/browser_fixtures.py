"""A real browser (Debian's Chromium driven by Playwright) against the app on a real loopback uvicorn.

The server runs its own event loop in a background thread, so the tests drive the browser with the sync
Playwright API from the main thread; whatever must happen on the server's loop (publishing on its bus) goes
through `LiveServer.call`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest
from fastapi import FastAPI

from livedesk.models import StoredArticle, User
from livedesk.publish import Update
from livedesk.store import Store
from tests.desk_fixtures import PASSWORD
from tests.web_fixtures import running_app, served

if TYPE_CHECKING:
    from playwright.sync_api import Page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

_T = TypeVar("_T")


@dataclass
class LiveServer:
    app: FastAPI
    base_url: str
    loop: asyncio.AbstractEventLoop

    @property
    def store(self) -> Store:
        return self.app.state.store

    def call(self, coroutine: Coroutine[Any, Any, _T], timeout: float = 10) -> _T:
        """Run `coroutine` on the server's event loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def publish(self, stored: StoredArticle) -> None:
        """Announce a stored article on the app's bus, as the ingest loop does."""
        self.call(self.app.state.bus.publish(Update(article_id=stored.id, story_id=stored.story_id)))


@contextmanager
def live_server(database_url: str) -> Iterator[LiveServer]:
    """The app (lifespan included) on a loopback uvicorn in a background thread; stopped on exit."""
    started: Future[LiveServer] = Future()
    stop = threading.Event()

    async def serve() -> None:
        async with running_app(database_url) as app, served(app) as base_url:
            started.set_result(LiveServer(app, base_url, asyncio.get_running_loop()))
            while not stop.is_set():
                await asyncio.sleep(0.05)

    def run() -> None:
        try:
            asyncio.run(serve())
        except BaseException as error:  # surface a failed start in the test, not in a thread traceback
            if not started.done():
                started.set_exception(error)
            else:
                raise

    thread = threading.Thread(target=run, name="livedesk-test-server", daemon=True)
    thread.start()
    try:
        yield started.result(timeout=30)
    finally:
        stop.set()
        thread.join(timeout=30)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    with live_server(f"sqlite:///{tmp_path / 'livedesk.db'}") as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium for the module; the tests skip only when Chromium is not installed."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (Debian package `chromium`)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def sign_in_through_the_form(server: LiveServer, browser: Any, user: User, password: str = PASSWORD) -> Page:
    """A page in a new browser context of its own, signed in as `user` the way a person does it: /desk sends them
    to the sign-in form, they type their name and password and press the button, and land on the desk."""
    from playwright.sync_api import expect

    page = browser.new_context().new_page()
    page.goto(f"{server.base_url}/desk")
    expect(page).to_have_url(f"{server.base_url}/desk/login?next=%2Fdesk")
    page.get_by_label("User name").press_sequentially(user.name)
    page.get_by_label("Password").press_sequentially(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{server.base_url}/desk")
    expect(page.locator(".desk-nav .who")).to_have_text(f"{user.name} ({user.role})")
    return page
