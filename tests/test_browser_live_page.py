"""Story and topic live pages in Chromium as readers use them: the first update on the first screen despite a
long claim ledger, no sideways scrolling on a phone, a "new updates" notice that follows the reader and inserts
without moving what they read, the count in the tab's title, and a copy arriving live on its original's card."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from playwright.sync_api import Page, expect

from livedesk.models import TopicQuery
from livedesk.store import Store
from tests.browser_fixtures import LiveServer
from tests.test_browser import UPDATE_IDS, update_ids, wait_for
from tests.test_live_page import GATES, claim, ledger
from tests.web_fixtures import NOW, one_story, put, series

DESKTOP = {"width": 1280, "height": 900}
PHONE_WIDTHS = (360, 390)


def story_with_a_long_ledger(store: Store) -> int:
    """A story of 30 updates whose 25 claims were first reported by several of them (so 5 key events too)."""
    articles = series(store, 30)
    story_id = one_story(store, articles)
    carriers = {articles[n].id: [claim(5 * n + k) for k in range(5)] for n in range(5)}
    ledger(store, story_id, carriers)
    return story_id


def horizontal_overflow(page: Page) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth"))


def test_the_first_update_is_on_the_first_screen_despite_25_claims(server: LiveServer, browser: Any) -> None:
    story_id = story_with_a_long_ledger(server.store)
    assert len(server.store.story_claims(story_id)) >= 25
    page = browser.new_page(viewport=DESKTOP)
    page.goto(f"{server.base_url}/stories/{story_id}")
    expect(page.locator("[data-key-events] li")).to_have_count(5)
    first = page.locator(UPDATE_IDS).first.bounding_box()
    assert first is not None and first["y"] + 40 < DESKTOP["height"], first  # its title is on screen
    # The rest of the ledger opens without JavaScript's help: a <details> element.
    page.get_by_text("Show all", exact=False).click()
    expect(page.locator(".claims .claim")).to_have_count(len(server.store.story_claims(story_id)))
    page.close()


def test_no_sideways_scrolling_on_a_phone(server: LiveServer, browser: Any) -> None:
    story_id = story_with_a_long_ledger(server.store)
    long_word = put(
        server.store,
        "long",
        title="Gates " + "x" * 120,
        text="Engineers quoted " + "https://example.org/" + "a" * 150 + " in their notice. Crews wait.",
        published=NOW,
    )
    one_story(server.store, [long_word, put(server.store, "gates", text=GATES, published=NOW)])
    server.store.create_topic("gates", "The gates", TopicQuery(keywords="gates"))
    for width in PHONE_WIDTHS:
        page = browser.new_page(viewport={"width": width, "height": 800})
        for path in (f"/stories/{story_id}", f"/stories/{long_word.story_id}", "/live/gates"):
            page.goto(f"{server.base_url}{path}")
            for details in page.locator("details").all():
                details.locator("summary").click()  # the whole ledger open
            assert horizontal_overflow(page) == 0, (width, path)
        page.close()


def test_the_notice_follows_the_reader_and_inserting_keeps_the_reading_position(
    server: LiveServer, browser: Any
) -> None:
    articles = series(server.store, 20)
    story_id = one_story(server.store, articles)
    page = browser.new_page(viewport={"width": 1000, "height": 700})
    page.goto(f"{server.base_url}/stories/{story_id}")
    title = page.title()
    wait_for(lambda: server.app.state.bus.subscribers == 1)
    reading = page.locator(f'[data-update-id="{articles[8].id}"]')
    reading.scroll_into_view_if_needed()
    page.mouse.wheel(0, 150)
    page.wait_for_function("window.scrollY > 1000")
    before = reading.bounding_box()
    assert before is not None

    fresh = [put(server.store, f"fresh-{n}", title=f"Fresh {n}", published=NOW + timedelta(seconds=n)) for n in (1, 2)]
    one_story(server.store, [articles[0], *fresh])
    for stored in fresh:
        server.publish(server.store.get_article(stored.article.url_hash) or stored)  # in its story now
    banner = page.locator(".banner")
    expect(banner).to_have_text("2 new updates", timeout=10_000)
    expect(page).to_have_title(f"(2) {title}")
    box = banner.bounding_box()
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 700  # in view, far down the page
    assert reading.bounding_box() == before  # nothing moved yet

    banner.click()
    expect(banner).to_have_count(0)
    expect(page).to_have_title(title)
    assert update_ids(page)[:2] == [fresh[1].id, fresh[0].id]
    after = reading.bounding_box()
    assert after is not None and abs(after["y"] - before["y"]) <= 1, (before, after)
    page.close()


def test_a_copy_arriving_live_joins_its_originals_card(server: LiveServer, browser: Any) -> None:
    original = put(server.store, "gates", site="tollan-post.example", text=GATES, published=NOW - timedelta(minutes=9))
    page = browser.new_page(viewport=DESKTOP)
    page.goto(f"{server.base_url}/stories/{original.story_id}")
    wait_for(lambda: server.app.state.bus.subscribers == 1)
    copy = put(
        server.store,
        "gates-copy",
        site="aggregator.example",
        text=GATES,
        title=original.article.title,
        attributed_to="tollan-post.example",
        published=NOW - timedelta(minutes=2),
    )
    one_story(server.store, [original, copy])
    server.publish(server.store.get_article(copy.article.url_hash) or copy)
    card = page.locator(f'[data-update-id="{original.id}"]')
    expect(card.locator(".credit a")).to_have_attribute("href", "https://aggregator.example/news/gates-copy")
    assert update_ids(page) == [original.id]
    expect(page.locator(".banner")).to_have_count(0)
    page.close()
