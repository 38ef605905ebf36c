"""Screenshots for the README: the home page, the busiest story page, its claims and a search, on a desktop
(1280×900) and a phone (390×844), in headless Chromium.

The bundled demo corpus, dated from now as `livedesk demo` dates it, is served on loopback and polled through the
real pipeline into a temporary SQLite database; the web app then serves it on loopback for the browser.
docs/make_desk_screenshots.py shares all of that.

    python docs/make_screenshots.py [--chromium /usr/bin/chromium] [--out docs]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
import tempfile
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from playwright.async_api import async_playwright

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from livedesk import worker  # noqa: E402
from livedesk.config import Settings  # noqa: E402
from livedesk.demo import DemoServer, shift_to  # noqa: E402
from livedesk.models import SourceKind  # noqa: E402
from livedesk.store import Store  # noqa: E402
from livedesk.web.app import create_app  # noqa: E402

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
SEARCH = "/search?q=ceasefire"


async def ingest_demo(settings: Settings, demo: DemoServer) -> None:
    with Store.open(settings.database_url) as store:
        for url in demo.feed_urls:
            store.add_source(url, SourceKind.FEED)
        await worker.poll_once(store, None, settings)


@contextmanager
def demo_database() -> Iterator[Settings]:
    """A temporary database holding the demo corpus, dated from now (its stories live), ingested as `livedesk
    demo` does; the settings that open it."""
    with tempfile.TemporaryDirectory() as tmp, DemoServer(hostnames=True, shift=shift_to(datetime.now(UTC))) as demo:
        settings = Settings(
            database_url=f"sqlite:///{Path(tmp) / 'demo.db'}",
            allowed_networks="127.0.0.0/8",
            resolve=demo.resolve,
            per_host_delay=0.0,
        )
        asyncio.run(ingest_demo(settings, demo))
        yield settings


@asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[str]:
    """`app` on a loopback uvicorn (lifespan included) until the block ends; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await serving
        sock.close()


async def capture(page: Any, url: str, path: Path, anchor: str | None = None) -> None:
    """The page at `url` as the reader first sees it (or scrolled to `anchor`, a CSS selector) into `path`."""
    await page.goto(url)
    await page.wait_for_load_state("networkidle")
    if anchor is not None:
        await page.evaluate("(selector) => document.querySelector(selector).scrollIntoView()", anchor)
    await page.screenshot(path=path)
    print(f"{path}: {url}")


async def shoot(settings: Settings, chromium: Path, out: Path) -> None:
    app = create_app(settings)
    async with served(app) as base:
        store: Store = app.state.store
        story = max(store.list_stories(), key=lambda s: s.article_count)
        shots = [
            ("/", "home", None),
            (f"/stories/{story.id}", "story", None),
            (f"/stories/{story.id}", "claims", ".claims"),
            (SEARCH, "search", None),
        ]
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
            for viewport, suffix in ((DESKTOP, ""), (PHONE, "-phone")):
                page = await browser.new_page(viewport=viewport)  # type: ignore[arg-type]
                for path, name, anchor in shots:
                    await capture(page, base + path, out / f"{name}{suffix}.png", anchor)
                await page.close()
            await browser.close()


def main(
    shoot: Callable[[Settings, Path, Path], Coroutine[Any, Any, None]] = shoot, about: str | None = __doc__
) -> None:
    """`shoot` the pages of the demo database into --out, with the Chromium at --chromium."""
    parser = argparse.ArgumentParser(description=(about or "").splitlines()[0])
    parser.add_argument("--chromium", type=Path, default=Path("/usr/bin/chromium"))
    parser.add_argument("--out", type=Path, default=REPO / "docs")
    args = parser.parse_args()
    with demo_database() as settings:
        asyncio.run(shoot(settings, args.chromium, args.out))


if __name__ == "__main__":
    main()
