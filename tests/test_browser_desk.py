"""The desk's changes on a reader's page in a real browser: edits, pins, key events, removals and retractions show
live without a reload, nothing moves under the reader, infinite scroll stays exact while items change, and
hostile posts run nothing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from playwright.sync_api import Page, expect

from livedesk.desk import posts
from livedesk.desk.posts import PostDraft
from livedesk.desk.stories import merge_stories
from livedesk.models import Actor, Role, Selection, StoryStream
from livedesk.publish import Update
from livedesk.store import Store
from livedesk.store.posts import Placement
from tests import xss
from tests.browser_fixtures import LiveServer, sign_in_through_the_form
from tests.desk_fixtures import add_user
from tests.test_browser import update_ids, wait_for
from tests.web_fixtures import NOW, one_story, put, series

EDITOR = Actor(user_id=None, name="Ada Desk", role=Role.EDITOR)


def _announce(server: LiveServer, placements: Sequence[Placement]) -> None:
    server.call(posts.announce(server.store, server.app.state.bus, placements))


def open_live(server: LiveServer, browser: Any, path: str, **options: Any) -> tuple[Page, list[str]]:
    """The page (in a browser context of its own: no cookies shared), open and listening to its stream; and the list
    of its loads (one: never reloaded)."""
    page = browser.new_page(**options)
    loads: list[str] = []
    page.on("load", lambda _: loads.append(page.url))
    subscribers = server.app.state.bus.subscribers
    page.goto(f"{server.base_url}{path}")
    wait_for(lambda: server.app.state.bus.subscribers == subscribers + 1)
    return page, loads


# Every element with an event handler or a javascript: URL, and every element of a kind none of our pages has.
_INJECTED = """() => [...document.querySelectorAll('*')].flatMap(e => [...e.attributes]
    .filter(a => a.name.startsWith('on') || /^\\s*javascript:/i.test(a.value))
    .map(a => e.tagName + ' ' + a.name)).concat(
  [...document.querySelectorAll('svg, iframe, math, object, embed')].map(e => e.tagName))"""


def watch_dialogs(page: Page) -> list[str]:
    """The messages of every dialog the page opens from now on (each dismissed)."""
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    return dialogs


def assert_nothing_ran(page: Page, where: str) -> None:
    """No payload of tests/xss.py ran on the page, and none left an element or a handler in its DOM."""
    assert page.evaluate("window.__xss") is None, where
    assert page.evaluate(_INJECTED) == [], where


def test_desk_changes_show_live_on_an_open_page(server: LiveServer, browser: Any) -> None:
    store = server.store
    article = put(store, "gates", title="Gates jammed", published=NOW - timedelta(minutes=10))
    assert article.story_id is not None
    story_id = article.story_id
    post, [placed] = posts.create_post(store, EDITOR, PostDraft("Two boats.", [story_id], title="Boats"))
    item = placed.article_id
    page, loads = open_live(server, browser, f"/stories/{story_id}")
    assert update_ids(page) == [item, article.id]

    _, placements = posts.correct_post(
        store, EDITOR, post.id, PostDraft("Three boats.", title="Boats"), note="Recount."
    )
    _announce(server, placements)
    card = page.locator(f"[data-updates] #update-{item}")
    expect(card.locator(".post-body")).to_have_text("Three boats.")
    expect(card.locator(".correction")).to_have_text("Correction: Recount.")
    expect(card.locator(".corrected")).to_contain_text("Updated")

    _announce(server, [posts.set_pinned(store, EDITOR, item, True)])
    expect(page.locator(f"[data-pinned] #pinned-{item}")).to_contain_text("Three boats.")
    expect(page.locator(f"[data-pinned] #pinned-{item} .pinned-flag")).to_have_text("Pinned")
    expect(page.locator("[data-pinned-block]")).to_be_visible()

    _announce(server, [posts.set_key_event(store, EDITOR, article.id, True)])
    key_event = page.locator(f'[data-key-events] [data-key-event-id="{article.id}"] a')
    expect(key_event).to_have_text("Gates jammed")
    key_event.click()  # the item is on the page: its anchor, not its permalink
    assert page.url.endswith(f"#update-{article.id}")

    _announce(server, [posts.hide_item(store, EDITOR, article.id, "Off topic.")])
    expect(page.locator(f"#update-{article.id}")).to_have_count(0)
    expect(page.locator("[data-key-events-block]")).to_be_hidden()

    _, placements = posts.retract_post(store, EDITOR, post.id, "Wrong harbour.")
    _announce(server, placements)
    expect(card).to_contain_text("This update was removed")
    expect(card).to_contain_text("Wrong harbour.")
    expect(card).not_to_contain_text("boats")
    expect(page.locator("[data-pinned-block]")).to_be_hidden()

    _announce(server, [posts.hide_item(store, EDITOR, article.id, None)])  # shown again: back in its place
    expect(page.locator(f"[data-updates] #update-{article.id}")).to_have_count(1)
    assert update_ids(page) == [item, article.id]

    _, placements = posts.create_post(store, EDITOR, PostDraft("Lock reopens.", [story_id]))
    _announce(server, placements)
    expect(page.locator(".banner")).to_have_text("1 new update")
    page.locator(".banner").click()
    assert update_ids(page) == [placements[0].article_id, item, article.id]

    merged = put(store, "ferry", site="other.example", title="Ferry", text="Ferries run late. Odd.")
    assert merged.story_id is not None and merged.story_id != story_id
    merge_stories(store, story_id, merged.story_id)
    server.call(server.app.state.bus.publish(Update.story_changed(story_id)))
    story = store.get_story(story_id)
    assert story is not None and story.outlet_count > 1
    expect(page.locator("[data-stream-header] .stream-meta")).to_contain_text(f"{story.outlet_count} outlets")
    assert loads == [f"{server.base_url}/stories/{story_id}"]  # never reloaded
    page.close()


def test_an_edit_above_the_viewport_does_not_move_what_the_reader_reads(server: LiveServer, browser: Any) -> None:
    store = server.store
    articles = series(store, 15)
    story_id = one_story(store, articles)
    post, _ = posts.create_post(store, EDITOR, PostDraft("Short.", [story_id], title="Note"))
    page, _ = open_live(server, browser, f"/stories/{story_id}", viewport={"width": 800, "height": 600})
    reading = page.locator(f"#update-{articles[5].id}")
    reading.evaluate("card => card.scrollIntoView()")
    page.mouse.wheel(0, 40)  # part of the card above the top edge, as when reading
    wait_for(lambda: page.evaluate("window.scrollY") > 0)
    top = reading.evaluate("card => card.getBoundingClientRect().top")

    long_text = "\n\n".join(f"Paragraph {n} of a much longer correction." for n in range(30))
    _, placements = posts.correct_post(store, EDITOR, post.id, PostDraft(long_text, title="Note"), note="Longer.")
    _announce(server, placements)
    expect(page.locator(f"[data-updates] [data-update-id='{placements[0].article_id}'] .correction")).to_have_count(1)
    assert abs(reading.evaluate("card => card.getBoundingClientRect().top") - top) <= 1

    _announce(server, [posts.set_pinned(store, EDITOR, articles[14].id, True)])  # the Pinned block grows above
    expect(page.locator(f"#pinned-{articles[14].id}")).to_have_count(1)
    assert abs(reading.evaluate("card => card.getBoundingClientRect().top") - top) <= 1

    _announce(server, [posts.hide_item(store, EDITOR, articles[13].id, "Duplicate.")])  # one above goes away
    expect(page.locator(f"#update-{articles[13].id}")).to_have_count(0)
    assert abs(reading.evaluate("card => card.getBoundingClientRect().top") - top) <= 1
    page.close()


def _walk(store: Store, selection: Selection) -> list[int]:
    """Every item of the stream in order, page by page, as the store serves them."""
    ids: list[int] = []
    page = store.page(selection)
    ids.extend(item.id for item in page.items)
    while page.next is not None:
        page = store.page(selection, before=page.next)
        ids.extend(item.id for item in page.items)
    return ids


def test_infinite_scroll_stays_exact_while_items_are_edited_and_removed(server: LiveServer, browser: Any) -> None:
    """Automattic Liveblog's #477: pagination broke on update and delete. Items change on every page (loaded and
    not yet loaded) while the reader scrolls; the page ends up with exactly the store's own walk, each item in its
    newest state."""
    store = server.store
    articles = series(store, 50, start=NOW - timedelta(hours=2))
    story_id = one_story(store, articles)
    written = [
        posts.create_post(store, EDITOR, PostDraft(f"Desk note {n}.", [story_id], title=f"Note {n}")) for n in range(4)
    ]
    page, _ = open_live(server, browser, f"/stories/{story_id}", viewport={"width": 1000, "height": 700})
    newest_first = list(reversed(articles))
    changes: list[Any] = [
        lambda: [posts.hide_item(store, EDITOR, newest_first[3].id, "Off topic.")],  # loaded
        lambda: [posts.hide_item(store, EDITOR, newest_first[30].id, "Off topic.")],  # not loaded yet
        lambda: posts.correct_post(store, EDITOR, written[0][0].id, PostDraft("Corrected 0.", title="N0"))[1],
        lambda: [posts.hide_item(store, EDITOR, newest_first[21].id, "Off topic.")],  # on the page boundary
        lambda: posts.retract_post(store, EDITOR, written[1][0].id, "Wrong.")[1],
        lambda: [posts.set_pinned(store, EDITOR, newest_first[44].id, True)],
        lambda: [posts.hide_item(store, EDITOR, newest_first[3].id, None)],  # shown again, in its place
        lambda: [posts.hide_item(store, EDITOR, newest_first[47].id, "Off topic.")],
        lambda: posts.correct_post(store, EDITOR, written[2][0].id, PostDraft("Corrected 2.", title="N2"))[1],
        lambda: [posts.set_key_event(store, EDITOR, newest_first[40].id, True)],
    ]
    caught_up = page.locator(".caught-up")
    for change in changes:
        _announce(server, change())
        page.mouse.wheel(0, 900)
        page.wait_for_timeout(100)
    for _ in range(30):
        if caught_up.count():
            break
        page.mouse.wheel(0, 5000)
        page.wait_for_timeout(100)
    expect(caught_up).to_have_text("You're all caught up")
    # The last change is shown: every earlier one was applied before it (one stream, in order).
    expect(page.locator(f'[data-key-events] [data-key-event-id="{newest_first[40].id}"]')).to_have_count(1)

    ids = update_ids(page)
    assert len(ids) == len(set(ids))
    assert ids == _walk(store, StoryStream(story_id))
    revisions = page.locator("[data-updates] [data-update-id]").evaluate_all(
        "cards => cards.map(c => [Number(c.dataset.updateId), Number(c.dataset.revision)])"
    )
    assert {i: r for i, r in revisions} == {i: store.revision_of(i) for i in ids}
    page.close()


def test_hostile_posts_run_nothing_in_the_browser(server: LiveServer, browser: Any) -> None:
    paths = xss.hostile_desk(server.store)
    page = browser.new_page()
    dialogs = watch_dialogs(page)
    for path in paths:
        page.goto(f"{server.base_url}{path}")
        page.wait_for_load_state("load")
        assert_nothing_ran(page, path)
    # Live: a hostile post arriving and being corrected on an open page.
    page.close()
    story_path = paths[0]
    page, _ = open_live(server, browser, story_path)
    dialogs_live = watch_dialogs(page)
    story_id = int(story_path.rsplit("/", 1)[1])
    author = Actor(user_id=None, name=xss.AUTHOR, role=Role.EDITOR)
    post, placements = posts.create_post(
        server.store, author, PostDraft(xss.BODY, [story_id], title=xss.TITLE, key_event=True, pinned=True)
    )
    _announce(server, placements)
    page.locator(".banner").click()
    _, placements = posts.correct_post(
        server.store, author, post.id, PostDraft(xss.BODY, title=xss.TITLE), note=xss.NOTE
    )
    _announce(server, placements)
    expect(page.locator(f"[data-updates] #update-{placements[0].article_id} .correction")).to_have_count(1)
    expect(page.locator(f'[data-key-event-id="{placements[0].article_id}"] a')).to_have_text(xss.TITLE)
    assert_nothing_ran(page, story_path)
    assert dialogs == dialogs_live == []
    page.close()


def test_hostile_input_runs_nothing_on_the_desk_pages(server: LiveServer, browser: Any) -> None:
    """Editors read what other editors, contributors, outlets and sources wrote: notes, reasons, titles, names. An
    admin opens every desk page (and the reader pages again, now with a hostile story title and claim) in Chromium;
    each page's HTML is inert and nothing ran in it."""
    reader_paths, desk_paths = xss.hostile_newsroom(server.store)
    desk = sign_in_through_the_form(server, browser, add_user(server.store, Role.ADMIN, "root"))
    dialogs = watch_dialogs(desk)
    for path in [*desk_paths, *reader_paths]:
        response = desk.goto(f"{server.base_url}{path}")
        assert response is not None and response.status in (200, 410), (path, response and response.status)
        xss.assert_inert(response.text(), path)
        assert_nothing_ran(desk, path)
    # The payloads are shown as the text they are, not dropped.
    desk.goto(f"{server.base_url}/desk{reader_paths[0]}")  # the story's desk page
    expect(desk.locator("h1")).to_have_text(xss.TITLE)
    for payload in (xss.REASON, xss.HIDE_REASON, xss.USER_NAME):
        expect(desk.locator("main")).to_contain_text(payload)
    desk.goto(f"{server.base_url}/desk/audit")
    expect(desk.locator("tr[data-audit] td:nth-child(2)").first).to_have_text(xss.USER_NAME)

    # Pages showing back what was just typed: a post's preview, a refused source address.
    desk.goto(f"{server.base_url}/desk/posts/new")
    desk.locator("#post-title").fill(xss.TITLE)
    desk.locator("#post-body").fill(xss.BODY)
    with desk.expect_response(lambda response: response.request.method == "POST") as preview:
        desk.get_by_role("button", name="Preview").click()
    expect(desk.locator(".preview h3")).to_have_text(xss.TITLE)
    xss.assert_inert(preview.value.text(), "preview")
    assert_nothing_ran(desk, "preview")
    desk.goto(f"{server.base_url}/desk/sources")
    desk.locator("#source-url").fill(f"javascript:{xss.HIDE_REASON}")
    with desk.expect_response(lambda response: response.request.method == "POST") as refused:
        desk.get_by_role("button", name="Add source").click()
    expect(desk.locator(".notice.failed")).to_contain_text("not an http(s) URL")
    assert refused.value.status == 400
    xss.assert_inert(refused.value.text(), "refused source")
    assert_nothing_ran(desk, "refused source")
    assert dialogs == []
    desk.context.close()


def test_a_page_loaded_by_scrolling_never_brings_back_an_older_state(server: LiveServer, browser: Any) -> None:
    """The next page is read by the server, then an item on it is hidden and another marked a key event, and only
    then does the page arrive: the reader sees the newer state the stream already told, not the page's."""
    store = server.store
    articles = series(store, 30)
    story_id = one_story(store, articles)
    page, _ = open_live(server, browser, f"/stories/{story_id}", viewport={"width": 1000, "height": 700})
    held: list[Any] = []
    page.route("**/*fragment=1*", lambda route: held.append((route, route.fetch())))
    for _ in range(30):
        if held:
            break
        page.mouse.wheel(0, 5000)
        page.wait_for_timeout(100)
    assert held, "the next page was never asked for"
    newest_first = list(reversed(articles))
    hidden, marked = newest_first[22], newest_first[25]  # both on the page being loaded
    _announce(server, [posts.hide_item(store, EDITOR, hidden.id, "Off topic.")])
    _announce(server, [posts.set_key_event(store, EDITOR, marked.id, True)])
    expect(page.locator(f'[data-key-events] [data-key-event-id="{marked.id}"]')).to_have_count(1)
    route, stale = held[0]
    route.fulfill(response=stale)
    expect(page.locator(".caught-up")).to_have_text("You're all caught up")
    assert update_ids(page) == _walk(store, StoryStream(story_id))
    expect(page.locator(f"[data-updates] #update-{marked.id} .key-flag")).to_have_text("Key event")
    page.close()
