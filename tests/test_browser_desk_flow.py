"""The desk as its people use it, in Chromium: editors and contributors sign in through the form, write, pin, mark,
correct, retract, hide and approve with the desk's own pages, and a reader's page open in another browser context
(no cookies shared) follows every change live, without a reload."""

from __future__ import annotations

import re
from datetime import UTC, timedelta
from typing import Any

from playwright.sync_api import Locator, Page, expect

from livedesk.models import Role
from livedesk.web.auth import SESSION_COOKIE
from livedesk.web.desk import DONE
from tests.browser_fixtures import LiveServer, sign_in_through_the_form
from tests.desk_fixtures import add_user
from tests.test_browser_desk import open_live
from tests.web_fixtures import NOW, put

TITLE = "North gate reopens"
BODY = (
    "Crews reopened the [north gate](https://harbor.example/north-gate) at noon.\n\n"
    "> The water is falling, said the harbour master."
)
CORRECTED = "Crews reopened the north gate at one."
NOTE = "It reopened at one, not at noon."
REASON = "The gate did not reopen after all."


def _done(page: Page, code: str) -> None:
    """The desk said the action `code` was done (after its redirect)."""
    expect(page.locator(".notice[role=status]")).to_have_text(DONE[code])


def _post_id(page: Page) -> int:
    """The id of the post whose desk page `page` shows, having just written it."""
    expect(page).to_have_url(re.compile(r"/desk/posts/\d+\?done="))
    found = re.search(r"/desk/posts/(\d+)", page.url)
    assert found is not None
    return int(found[1])


def _write(desk: Page, story_id: int, title: str, body: str, button: str) -> None:
    """From the desk overview: open the story's desk page, type a post into its form, and send it with `button`."""
    desk.locator(f'tr[data-story="{story_id}"] a').click()
    expect(desk).to_have_url(re.compile(rf"/desk/stories/{story_id}$"))
    desk.locator("#post-title").press_sequentially(title)
    desk.locator("#post-body").fill(body)
    desk.get_by_role("button", name=button, exact=True).click()


def _item(desk: Page, item_id: int) -> Locator:
    """An item's row on the story's desk page, with its tools."""
    return desk.locator(f'li[data-item="{item_id}"]')


def test_an_editor_runs_a_story_from_the_desk_and_the_reader_sees_each_change_live(
    server: LiveServer, browser: Any
) -> None:
    store = server.store
    article = put(store, "gates", title="Gates jammed", published=NOW - timedelta(minutes=10))
    assert article.story_id is not None
    story_id = article.story_id
    editor = add_user(store, Role.EDITOR, "ada")
    reader, loads = open_live(server, browser, f"/stories/{story_id}")
    desk = sign_in_through_the_form(server, browser, editor)

    _write(desk, story_id, TITLE, BODY, "Publish")
    post_id = _post_id(desk)
    _done(desk, "posted")
    [placed] = store.post_placements(post_id)
    item = placed.article_id
    expect(reader.locator(".banner")).to_have_text("1 new update")
    reader.locator(".banner").click()
    card = reader.locator(f"[data-updates] #update-{item}")
    expect(card.locator("h3")).to_have_text(TITLE)
    expect(card.locator(".post-body a[href='https://harbor.example/north-gate']")).to_have_text("north gate")
    expect(card.locator(".post-body blockquote")).to_have_text("The water is falling, said the harbour master.")

    desk.get_by_role("link", name=f"story {story_id}").click()
    _item(desk, item).get_by_role("button", name="Pin", exact=True).click()
    _done(desk, "pinned")
    expect(reader.locator("[data-pinned-block]")).to_be_visible()
    expect(reader.locator(f"[data-pinned] #pinned-{item} h3")).to_have_text(TITLE)

    _item(desk, item).get_by_role("button", name="Key event", exact=True).click()
    _done(desk, "key_event")
    expect(reader.locator(f'[data-key-events] [data-key-event-id="{item}"] a')).to_have_text(TITLE)

    _item(desk, item).get_by_role("link", name="Edit / correct / retract").click()
    desk.locator("#edit-body").fill(CORRECTED)
    desk.locator("#edit-note").fill(NOTE)
    desk.get_by_role("button", name="Correct", exact=True).click()
    _done(desk, "corrected")
    corrected = store.get_post(post_id)
    assert corrected is not None and corrected.corrected_at is not None and corrected.version == 2
    expect(card.locator(".post-body")).to_have_text(CORRECTED)
    expect(card.locator(".corrected")).to_have_text(f"Updated {corrected.corrected_at.astimezone(UTC):%H:%M}")
    expect(card.locator(".correction")).to_have_text(f"Correction: {NOTE}")
    expect(reader.locator(f"[data-pinned] #pinned-{item} .post-body")).to_have_text(CORRECTED)

    desk.locator("#retract-reason").fill(REASON)
    desk.get_by_role("button", name="Retract", exact=True).click()
    _done(desk, "retracted")
    expect(card.locator("h3")).to_have_text("This update was removed")
    expect(card.locator(".reason")).to_have_text(REASON)
    expect(reader.locator("[data-pinned-block]")).to_be_hidden()
    expect(reader.locator(f'[data-key-event-id="{item}"]')).to_have_count(0)
    for old in (TITLE, "north gate", "harbour master", CORRECTED, NOTE):
        expect(reader.locator("main")).not_to_contain_text(old)

    # An outlet's article: hidden with a reason, gone from the reader's page; shown again, back in its place.
    desk.get_by_role("link", name=f"story {story_id}").click()
    _item(desk, article.id).get_by_label(f"Why hide item {article.id}").fill("Wrong harbour.")
    _item(desk, article.id).get_by_role("button", name="Hide", exact=True).click()
    _done(desk, "hidden")
    expect(_item(desk, article.id).locator(".badge.bad")).to_have_text("hidden: Wrong harbour.")
    expect(reader.locator(f"#update-{article.id}")).to_have_count(0)
    _item(desk, article.id).get_by_role("button", name="Unhide", exact=True).click()
    _done(desk, "unhidden")
    expect(reader.locator(f"[data-updates] #update-{article.id} h3")).to_have_text("Gates jammed")

    assert loads == [f"{server.base_url}/stories/{story_id}"]  # the reader never reloaded
    desk.context.close()
    reader.close()


def test_a_contributors_post_reaches_readers_only_once_an_editor_approves_it(server: LiveServer, browser: Any) -> None:
    store = server.store
    article = put(store, "gates", title="Gates jammed", published=NOW - timedelta(minutes=10))
    assert article.story_id is not None
    story_id = article.story_id
    reader, _ = open_live(server, browser, f"/stories/{story_id}")
    writer = sign_in_through_the_form(server, browser, add_user(store, Role.CONTRIBUTOR, "cyd"))
    desk = sign_in_through_the_form(server, browser, add_user(store, Role.EDITOR, "ada"))

    _write(writer, story_id, TITLE, BODY, "Submit for approval")
    post_id = _post_id(writer)
    _done(writer, "submitted")

    # The editor marks the article a key event: once the reader's page shows that, it has heard everything the
    # desk announced before it, so a draft that had reached it would be on it by now.
    desk.locator(f'tr[data-story="{story_id}"] a').click()
    _item(desk, article.id).get_by_role("button", name="Key event", exact=True).click()
    expect(reader.locator(f'[data-key-events] [data-key-event-id="{article.id}"]')).to_have_count(1)
    expect(reader.locator(".banner")).to_have_count(0)
    expect(reader.locator("main")).not_to_contain_text(TITLE)
    expect(reader.locator("main")).not_to_contain_text("north gate")
    reader.reload()
    expect(reader.locator(f'[data-key-events] [data-key-event-id="{article.id}"]')).to_have_count(1)
    expect(reader.locator("main")).not_to_contain_text(TITLE)
    # The same again for the reloaded page: it follows the stream before the approval comes.
    _item(desk, article.id).get_by_role("button", name="Not a key event", exact=True).click()
    expect(reader.locator("[data-key-events-block]")).to_be_hidden()

    desk.get_by_role("link", name="Overview").click()
    queued = desk.locator(f'li[data-post="{post_id}"]')
    expect(queued.locator("a").first).to_have_text(TITLE)
    expect(queued.locator(".badge")).to_have_text("draft")
    queued.get_by_role("button", name="Approve now").click()
    _done(desk, "approved")

    expect(reader.locator(".banner")).to_have_text("1 new update")
    reader.locator(".banner").click()
    [placed] = store.post_placements(post_id)
    card = reader.locator(f"[data-updates] #update-{placed.article_id}")
    expect(card.locator("h3")).to_have_text(TITLE)
    expect(card.locator(".post-body blockquote")).to_have_text("The water is falling, said the harbour master.")
    desk.get_by_role("link", name="Overview").click()
    expect(desk.locator(f'li[data-post="{post_id}"]')).to_have_count(0)
    for page in (writer, desk):
        page.context.close()
    reader.close()


def test_signing_out_ends_the_session(server: LiveServer, browser: Any) -> None:
    desk = sign_in_through_the_form(server, browser, add_user(server.store, Role.EDITOR, "ada"))
    [session] = [c for c in desk.context.cookies() if c["name"] == SESSION_COOKIE]
    desk.get_by_role("button", name="Sign out").click()
    expect(desk).to_have_url(f"{server.base_url}/desk/login")
    desk.goto(f"{server.base_url}/desk")
    expect(desk).to_have_url(f"{server.base_url}/desk/login?next=%2Fdesk")
    expect(desk.get_by_role("button", name="Sign in")).to_be_visible()

    # Not only the cookie is gone: the session it held has ended on the server, so a copy of it opens nothing.
    copied = browser.new_context()
    copied.add_cookies([session])
    page = copied.new_page()
    page.goto(f"{server.base_url}/desk")
    expect(page).to_have_url(f"{server.base_url}/desk/login?next=%2Fdesk")
    copied.close()
    desk.context.close()
