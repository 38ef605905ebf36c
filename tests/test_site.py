"""The site around the live pages: the home page and its live stream, the site-wide feeds, the icon, feed
discovery on every page, entity pages; on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from html.parser import HTMLParser

import feedparser
import httpx

from livedesk.desk import posts
from livedesk.desk.posts import PostDraft
from livedesk.desk.stories import merge_stories
from livedesk.models import Actor, Role, TopicQuery
from livedesk.publish import Update
from livedesk.store import Store
from livedesk.web import home
from tests.web_fixtures import NOW, Desk, one_story, put, running_app, served, subscribed

EDITOR = Actor(user_id=None, name="Ada Desk", role=Role.EDITOR)


class _Head(HTMLParser):
    """The <link> elements of a page, as (rel, type, href)."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "link":
            self.links.append((found.get("rel") or "", found.get("type") or "", found.get("href") or ""))


def links(html: str) -> list[tuple[str, str, str]]:
    head = _Head()
    head.feed(html)
    return head.links


def story_ids(html: str) -> list[int]:
    return [int(found) for found in re.findall(r'<li class="story" data-story-id="(\d+)"', html)]


# the home page


async def test_home_pages_through_every_story_without_javascript(desk: Desk) -> None:
    titles = [f"Lock gate number {n} jammed" for n in range(home.HOME_STORIES + 3)]
    stored = [
        put(desk.store, f"gate-{n}", title=title, text=f"Gate {n} jammed at the {n}th lock. Crews came. Unrelated {n}.")
        for n, title in enumerate(titles)
    ]
    expected = [s.id for s in desk.store.list_stories()]
    assert len(expected) == len({s.story_id for s in stored}) and len(expected) > home.HOME_STORIES
    first = (await desk.client.get("/")).text
    assert story_ids(first) == expected[: home.HOME_STORIES]
    assert "data-home-events-url=" in first
    more = re.search(r'<a rel="next" href="([^"]+)">More stories</a>', first)
    assert more is not None
    second = (await desk.client.get(more.group(1).replace("&amp;", "&"))).text
    assert story_ids(second) == expected[home.HOME_STORIES :]
    assert 'rel="next"' not in second and "data-home-events-url" not in second  # the end; only page one follows


async def test_home_entry_shows_outlets_updates_and_last_update(desk: Desk) -> None:
    first = put(desk.store, "first", site="harbor.example", published=NOW - timedelta(minutes=5))
    second = put(desk.store, "second", site="quay.example", published=NOW - timedelta(minutes=2))
    story_id = one_story(desk.store, [first, second])
    html = (await desk.client.get("/")).text
    entry = html[html.index(f'data-story-id="{story_id}"') :]
    assert "2 outlets" in entry and "2 updates" in entry and "Live" in entry


async def _events(response: httpx.Response) -> AsyncIterator[tuple[int | None, dict]]:
    event_id, data = None, None
    async for line in response.aiter_lines():
        if line.startswith("id:"):
            event_id = int(line[3:].strip())
        elif line.startswith("data:"):
            data = json.loads(line[5:].strip())
        elif not line and data is not None:
            yield event_id, data
            event_id, data = None, None


async def _take(events: AsyncIterator[tuple[int | None, dict]], count: int) -> list[tuple[int | None, dict]]:
    return [await asyncio.wait_for(anext(events), timeout=10) for _ in range(count)]


async def test_home_events_bring_new_stories_and_changed_counts_then_resume(database_url: str) -> None:
    async with running_app(database_url) as app, served(app) as base:
        store, bus = app.state.store, app.state.bus
        first = put(store, "first", title="Lock gates jammed", published=NOW - timedelta(minutes=9))
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            page = (await client.get("/")).text
            events_url = re.search(r'data-home-events-url="([^"]+)"', page).group(1).replace("&amp;", "&")
            async with client.stream("GET", events_url) as response:
                assert response.headers["content-type"].startswith("text/event-stream")
                events = _events(response)
                await subscribed(bus)
                # A new story appears.
                other = put(store, "ferry", title="Ferry timetable changes", text="The ferry leaves at nine. Late.")
                await bus.publish(Update(other.id, other.story_id))
                [(new_id, new)] = await _take(events, 1)
                assert new["story_id"] == other.story_id and "Ferry timetable changes" in new["html"]
                assert new_id == store.revision_of(other.id)
                # A second report joins the first story: its entry comes with the new counts.
                second = put(store, "second", site="quay.example", published=NOW - timedelta(minutes=1))
                one_story(store, [first, second])
                await bus.publish(Update(second.id, first.story_id))
                [(changed_id, changed)] = await _take(events, 1)
                assert changed["story_id"] == first.story_id and changed_id == store.revision_of(second.id)
                assert "2 outlets" in changed["html"] and "2 updates" in changed["html"]
                assert f'data-story-id="{first.story_id}"' in changed["html"]

            # Offline meanwhile: three reports on two stories. The reconnect gets each story's entry once, as it
            # is now, in the order they changed; then live events follow.
            late = [
                put(store, "late-1", published=NOW),
                put(store, "late-ferry", title="Ferry cancelled", text="The ferry leaves at nine. Cancelled today."),
                put(store, "late-2", published=NOW),
            ]
            one_story(store, [first, late[0], late[2]])
            ferry = store.article_story(late[1].id)
            async with client.stream("GET", "/events", headers={"Last-Event-ID": str(changed_id)}) as response:
                events = _events(response)
                replayed = await _take(events, 2)
                assert [data["story_id"] for _, data in replayed] == [ferry, first.story_id]
                newest = [store.revision_of(late[1].id), store.revision_of(late[2].id)]
                assert [event_id for event_id, _ in replayed] == newest
                assert "3 updates" not in replayed[1][1]["html"] and "4 updates" in replayed[1][1]["html"]
                await bus.publish(Update(late[2].id, first.story_id))  # replayed already: not sent again
                live = put(store, "live", published=NOW)
                one_story(store, [first, live])
                await bus.publish(Update(live.id, first.story_id))
                [(live_id, _)] = await _take(events, 1)
                assert live_id == store.revision_of(live.id)


async def test_home_events_remove_a_story_merged_away(database_url: str) -> None:
    async with running_app(database_url) as app, served(app) as base:
        store, bus = app.state.store, app.state.bus
        keep = put(store, "gates", title="Lock gates jammed")
        gone = put(store, "ferry", title="Ferry timetable changes", text="The ferry leaves at nine. Late.")
        async with httpx.AsyncClient(base_url=base, timeout=10) as client, client.stream("GET", "/events") as response:
            await subscribed(bus)
            merge_stories(store, keep.story_id, gone.story_id)
            for story_id in (gone.story_id, keep.story_id):
                await bus.publish(Update.story_changed(story_id))
            (removed_id, removed), (kept_id, kept) = await _take(_events(response), 2)
        assert removed == {"story_id": gone.story_id, "removed": True} and removed_id is None
        assert kept["story_id"] == keep.story_id and kept_id is None and "2 updates" in kept["html"]


def test_stories_changed_since_gives_each_story_once_with_its_newest_revision(store: Store) -> None:
    first = put(store, "first", title="Lock gates jammed")
    floor = store.last_revision()
    other = put(store, "ferry", title="Ferry timetable changes", text="The ferry leaves at nine. Late.")
    second = put(store, "second", published=NOW)
    one_story(store, [first, second])
    changed = store.stories_changed_since(floor)
    assert [(story.id, revision) for story, revision in changed] == [
        (other.story_id, store.revision_of(other.id)),
        (first.story_id, store.revision_of(second.id)),
    ]
    assert store.stories_changed_since(store.last_revision()) == []
    assert [s.id for s, _ in store.stories_changed_since(floor, limit=1)] == [other.story_id]


# site-wide feeds, the icon, discovery


async def test_site_feeds_carry_every_storys_updates_newest_first(desk: Desk) -> None:
    old = put(desk.store, "gates", title="Lock gates jammed", published=NOW - timedelta(hours=2))
    new = put(desk.store, "ferry", title="Ferry timetable changes", text="The ferry leaves at nine. Late.")
    assert old.story_id != new.story_id
    atom = await desk.client.get("/feed.atom")
    assert atom.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(atom.content)
    assert not feed.bozo, feed.get("bozo_exception")
    assert [e.title for e in feed.entries] == ["Ferry timetable changes", "Lock gates jammed"]
    assert feed.feed.link == "http://testserver/"
    as_json = await desk.client.get("/feed.json")
    assert as_json.headers["content-type"].startswith("application/feed+json")
    body = as_json.json()
    assert body["version"] == "https://jsonfeed.org/version/1.1" and body["feed_url"] == "http://testserver/feed.json"
    assert [item["id"] for item in body["items"]] == [str(new.id), str(old.id)]


async def test_favicon(desk: Desk) -> None:
    response = await desk.client.get("/favicon.ico")
    assert response.status_code == 200 and response.headers["content-type"].startswith("image/svg+xml")
    assert response.content == (await desk.client.get("/static/favicon.svg")).content
    assert b"<svg" in response.content


async def test_every_page_type_links_the_site_feeds_the_icon_and_its_own_feeds(desk: Desk) -> None:
    first = put(desk.store, "gates", title="Lock gates jammed", text="Ingrid Solberg said the Kessport gates jammed.")
    story_id = first.story_id
    desk.store.create_topic("gates", "Gates", TopicQuery(keywords="gates"))
    post, _ = posts.create_post(desk.store, EDITOR, PostDraft("Crews are on their way.", [story_id], title="Crews"))
    [entity] = [e for e in desk.store.entities_of([first.id])[first.id] if e.name == "Ingrid Solberg"]
    site_feeds = {
        ("alternate", "application/atom+xml", "/feed.atom"),
        ("alternate", "application/feed+json", "/feed.json"),
        ("icon", "image/svg+xml", "/static/favicon.svg"),
    }
    own_feeds = {
        f"/stories/{story_id}": f"/stories/{story_id}",
        "/live/gates": "/live/gates",
    }
    pages = [
        "/",
        f"/stories/{story_id}",
        "/live/gates",
        f"/articles/{first.id}",
        f"/posts/{post.id}",
        f"/entities/{entity.id}",
        "/search?q=gates",
        "/search",
        "/desk/login",
        "/stories/999999",  # the error page
    ]
    for path in pages:
        found = set(links((await desk.client.get(path)).text))
        assert site_feeds <= found, path
        if path in own_feeds:
            base = own_feeds[path]
            assert ("alternate", "application/atom+xml", f"{base}/feed.atom") in found, path
            assert ("alternate", "application/feed+json", f"{base}/feed.json") in found, path


# entity pages


async def test_entity_page_is_titled_with_the_kind_in_words(desk: Desk) -> None:
    first = put(desk.store, "gates", text="Harbour master Ingrid Solberg said the Kessport gates jammed. Crews came.")
    chips = desk.store.entities_of([first.id])[first.id]
    person = next(e for e in chips if e.type == "PERSON")
    html = (await desk.client.get(f"/entities/{person.id}")).text
    assert f"<title>{person.name} (Person) · livedesk</title>" in html
    assert '<p class="kind">Person</p>' in html
    assert "PERSON" not in html
