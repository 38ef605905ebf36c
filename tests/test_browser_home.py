"""The home page in a real browser: new stories and changed counts arrive without a reload."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from playwright.sync_api import expect

from tests.browser_fixtures import LiveServer
from tests.test_browser import wait_for
from tests.web_fixtures import NOW, one_story, put


def test_home_shows_new_stories_and_new_counts_without_reload(server: LiveServer, browser: Any) -> None:
    gates = put(server.store, "gates", title="Lock gates jammed", published=NOW - timedelta(minutes=30))
    page = browser.new_page()
    loads: list[str] = []
    page.on("load", lambda _: loads.append(page.url))
    page.goto(f"{server.base_url}/")
    entries = page.locator("[data-home-stories] > li")
    expect(entries).to_have_count(1)
    wait_for(lambda: server.app.state.bus.subscribers == 1)  # the page's EventSource is listening

    text = "The ferry leaves at nine. Late."
    ferry = put(server.store, "ferry", title="Ferry timetable changes", text=text, published=NOW - timedelta(minutes=9))
    server.publish(ferry)
    expect(entries).to_have_count(2)
    expect(entries.first).to_contain_text("Ferry timetable changes")  # the newest activity first

    second = put(server.store, "second", site="quay.example", published=NOW)
    one_story(server.store, [gates, second])
    server.publish(server.store.get_article(second.article.url_hash) or second)
    gates_entry = page.locator(f'[data-story-id="{gates.story_id}"]')
    expect(gates_entry).to_contain_text("2 outlets")
    expect(gates_entry).to_contain_text("2 updates")
    expect(entries.first).to_have_attribute("data-story-id", str(gates.story_id))  # moved up: newest again
    expect(entries).to_have_count(2)
    expect(page.locator("[data-home-status]")).to_have_text("Updated: Lock gates jammed")
    assert loads == [f"{server.base_url}/"]  # never reloaded
    page.close()
