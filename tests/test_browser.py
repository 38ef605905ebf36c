"""The pages in a real browser: live updates arrive without a reload, infinite scroll loads everything exactly
once and ends cleanly, and a view counts once per visitor."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import httpx
from playwright.sync_api import Page, Request, expect

from tests.browser_fixtures import LiveServer
from tests.web_fixtures import NOW, one_story, put, series

UPDATE_IDS = "[data-updates] [data-update-id]"


def update_ids(page: Page) -> list[int]:
    return [int(value) for value in page.locator(UPDATE_IDS).evaluate_all("els => els.map(e => e.dataset.updateId)")]


def wait_for(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_new_update_appears_behind_a_banner_without_reload(server: LiveServer, browser: Any) -> None:
    first = put(server.store, "first", published=NOW - timedelta(minutes=5))
    second = put(server.store, "second", published=NOW - timedelta(minutes=3))
    story_id = one_story(server.store, [first, second])
    page = browser.new_page()
    loads: list[str] = []
    page.on("load", lambda _: loads.append(page.url))
    page.goto(f"{server.base_url}/stories/{story_id}")
    assert update_ids(page) == [second.id, first.id]
    wait_for(lambda: server.app.state.bus.subscribers == 1)  # the page's EventSource is listening

    fresh = put(server.store, "fresh", title="Crane arrives at the lock", published=NOW)
    one_story(server.store, [first, fresh])
    server.publish(server.store.get_article(fresh.article.url_hash) or fresh)

    banner = page.locator(".banner")
    expect(banner).to_have_text("1 new update", timeout=10_000)
    assert update_ids(page) == [second.id, first.id]  # nothing moves under the reader until they ask
    banner.click()
    expect(banner).to_have_count(0)
    assert update_ids(page) == [fresh.id, second.id, first.id]
    expect(page.locator(UPDATE_IDS).first).to_contain_text("Crane arrives at the lock")
    assert loads == [f"{server.base_url}/stories/{story_id}"]  # never reloaded
    page.close()


def test_infinite_scroll_loads_every_update_once_then_ends(server: LiveServer, browser: Any) -> None:
    articles = series(server.store, 45)
    story_id = one_story(server.store, articles)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    fragments: list[str] = []

    def on_request(request: Request) -> None:
        if "fragment=1" in request.url:
            fragments.append(request.url)

    page.on("request", on_request)
    page.goto(f"{server.base_url}/stories/{story_id}")
    caught_up = page.locator(".caught-up")
    for _ in range(20):
        if caught_up.count():
            break
        page.mouse.wheel(0, 20_000)
        page.wait_for_timeout(200)
    expect(caught_up).to_have_text("You're all caught up")
    assert page.locator("a[rel=next]").count() == 0

    ids = update_ids(page)
    assert len(ids) == len(set(ids)) == 45
    assert ids == [a.id for a in reversed(articles)]
    assert len(fragments) == 2  # pages 2 and 3 of 20

    for _ in range(3):  # nothing more is asked for after the end
        page.mouse.wheel(0, 20_000)
        page.wait_for_timeout(200)
    assert len(fragments) == 2
    assert update_ids(page) == ids
    page.close()


def _count(server: LiveServer, article_id: int) -> int:
    response = httpx.get(f"{server.base_url}/api/views", params={"ids": str(article_id)})
    response.raise_for_status()
    return response.json()[str(article_id)]


def _open_and_beacon(context: Any, url: str) -> int:
    """Open the permalink and wait for its view beacon's answer (sent after a second in view)."""
    page = context.new_page()
    with page.expect_response(lambda r: "/api/views/" in r.url and r.request.method == "POST") as beacon:
        page.goto(url)
    status = beacon.value.status
    page.close()
    return status


def test_a_view_counts_once_per_visitor(server: LiveServer, browser: Any) -> None:
    stored = put(server.store, "viewed", title="Lock gates reopen")
    url = f"{server.base_url}/articles/{stored.id}"
    assert _count(server, stored.id) == 0

    reader = browser.new_context()
    assert _open_and_beacon(reader, url) == 202
    assert _count(server, stored.id) == 1
    assert _open_and_beacon(reader, url) == 202  # accepted, but the same visitor within the window
    assert _count(server, stored.id) == 1
    page = reader.new_page()
    page.goto(url)
    expect(page.locator(f'[data-views-for="{stored.id}"]')).to_have_text("1 view")
    page.close()
    reader.close()

    other = browser.new_context(user_agent="Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0")
    assert _open_and_beacon(other, url) == 202
    assert _count(server, stored.id) == 2
    other.close()
