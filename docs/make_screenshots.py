"""Screenshots for the README: the home page and the busiest story page, at 1280×900, in headless Chromium.

The bundled demo corpus is served on loopback and polled through the real pipeline into a temporary SQLite
database, exactly as `livedesk demo` does; the web app then serves it on loopback for the browser.

    python docs/make_screenshots.py [--chromium /usr/bin/chromium] [--out docs]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
import tempfile
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from playwright.async_api import async_playwright

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from livedesk import worker  # noqa: E402
from livedesk.config import Settings  # noqa: E402
from livedesk.demo import DemoServer  # noqa: E402
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
VIEWPORT = {"width": 1280, "height": 900}


async def ingest_demo(settings: Settings, demo: DemoServer) -> None:
    with Store.open(settings.database_url) as store:
        for url in demo.feed_urls:
            store.add_source(url, SourceKind.FEED)
        await worker.poll_once(store, None, settings)


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """`app` on uvicorn at a free loopback port, its lifespan running; yields the base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


async def shoot(settings: Settings, chromium: Path, out: Path) -> None:
    app = create_app(settings)
    async with serving(app) as base:
        story = max(app.state.store.list_stories(), key=lambda s: s.article_count)
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
            page = await browser.new_page(viewport=VIEWPORT)
            for path, name in (("/", "home.png"), (f"/stories/{story.id}", "story.png")):
                await page.goto(base + path)
                await page.wait_for_load_state("networkidle")
                await page.screenshot(path=out / name)
                print(f"{out / name}: {base + path}")
            await browser.close()


def main(shoot: Callable[[Settings, Path, Path], Coroutine[Any, Any, None]] = shoot) -> None:
    """Ingest the demo into a temporary database, then `shoot` its pages (the arguments say where to)."""
    parser = argparse.ArgumentParser(description=(sys.modules[shoot.__module__].__doc__ or "").splitlines()[0])
    parser.add_argument("--chromium", type=Path, default=Path("/usr/bin/chromium"))
    parser.add_argument("--out", type=Path, default=REPO / "docs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, DemoServer(hostnames=True) as demo:
        settings = Settings(
            database_url=f"sqlite:///{Path(tmp) / 'demo.db'}",
            allowed_networks="127.0.0.0/8",
            resolve=demo.resolve,
            per_host_delay=0.0,
        )
        asyncio.run(ingest_demo(settings, demo))
        asyncio.run(shoot(settings, args.chromium, args.out))


if __name__ == "__main__":
    main()
