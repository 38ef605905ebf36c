"""The desk's posts and decisions on the reader side, on SQLite and PostgreSQL: story, topic and post pages, the
Pinned block and Key events, hidden items, feeds, JSON-LD, the API, and the live stream (each change as an event,
exact replay after Last-Event-ID, story events)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from xml.etree import ElementTree

import feedparser
import httpx

from livedesk.desk import posts
from livedesk.desk.posts import PostDraft
from livedesk.models import Actor, Role, StoryStream, TopicQuery
from livedesk.publish import Update
from livedesk.store import Store
from tests import xss
from tests.web_fixtures import NOW, Desk, put, running_app, served, subscribed

EDITOR = Actor(user_id=None, name="Ada Desk", role=Role.EDITOR)


def _json_ld(html: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.DOTALL)
    assert found is not None
    return json.loads(found.group(1))


def _story(store: Store) -> tuple[int, int]:
    """A story with one outlet's article; (story id, article id)."""
    article = put(store, "gates", title="Gates jammed", published=NOW - timedelta(hours=1))
    assert article.story_id is not None
    return article.story_id, article.id


def _post(store: Store, story_id: int, body: str, **draft: Any) -> tuple[int, int]:
    """A published post on the story; (post id, its placement's article id)."""
    post, [placement] = posts.create_post(store, EDITOR, PostDraft(body, [story_id], **draft))
    return post.id, placement.article_id


# pages


async def test_a_post_on_its_story_page_with_its_correction_and_its_own_page(desk: Desk) -> None:
    story_id, _ = _story(desk.store)
    post_id, item_id = _post(desk.store, story_id, "Crews **evacuate** the quay.", title="Evacuation")
    correction = PostDraft("Crews **evacuate** both quays.", title="Evacuation")
    posts.correct_post(desk.store, EDITOR, post_id, correction, note="Both quays.")
    page = (await desk.client.get(f"/stories/{story_id}")).text
    card = page[page.index(f'id="update-{item_id}"') :]
    card = card[: card.index("</li>")]
    assert f'href="/posts/{post_id}">Evacuation</a>' in card
    assert "by Ada Desk" in card and "<strong>evacuate</strong> both quays" in card
    corrected = desk.store.stream_item(item_id)
    assert corrected is not None and corrected.corrected_at is not None
    assert "Updated <time datetime=" in card and corrected.corrected_at.strftime("%H:%M") in card
    assert "Correction: Both quays." in card

    response = await desk.client.get(f"/posts/{post_id}")
    assert response.status_code == 200
    assert '<h1 id="post-title">Evacuation</h1>' in response.text and "both quays" in response.text
    assert "Correction: Both quays." in response.text and "1 earlier version is kept" in response.text
    assert "the quay." not in response.text  # the earlier text itself is not shown
    assert f'href="/stories/{story_id}#update-{item_id}"' in response.text
    # The placement's article permalink leads to the post.
    redirect = await desk.client.get(f"/articles/{item_id}")
    assert redirect.status_code == 301 and redirect.headers["location"] == f"/posts/{post_id}"


async def test_a_retracted_post_shows_only_that_it_was_removed_and_why(desk: Desk) -> None:
    story_id, _ = _story(desk.store)
    post_id, item_id = _post(desk.store, story_id, "Secret figure 4711.", title="Figure", pinned=True, key_event=True)
    posts.retract_post(desk.store, EDITOR, post_id, "Not confirmed.")
    for path in (f"/stories/{story_id}", f"/posts/{post_id}", f"/stories/{story_id}/feed.atom"):
        text = (await desk.client.get(path)).text
        assert "This update was removed" in text and "Not confirmed." in text, path
        assert "4711" not in text and "Figure" not in text, path
    page = (await desk.client.get(f"/stories/{story_id}")).text
    assert f'id="update-{item_id}"' in page and f'id="pinned-{item_id}"' not in page  # in its place, unpinned
    api = (await desk.client.get(f"/api/stories/{story_id}/updates")).json()["items"][0]
    assert api["retracted"] is True and api["retracted_reason"] == "Not confirmed." and api["body_html"] is None
    assert "4711" not in json.dumps(api)


async def test_hidden_items_are_gone_from_every_reader_surface(desk: Desk) -> None:
    story_id, article_id = _story(desk.store)
    kept = put(desk.store, "kept", title="Crane arrives", published=NOW)
    posts.set_pinned(desk.store, EDITOR, article_id, True)
    posts.hide_item(desk.store, EDITOR, article_id, "Wrong story.")
    page = await desk.client.get(f"/articles/{article_id}")
    assert page.status_code == 410 and "removed from this site&#39;s pages by the desk" in page.text
    assert "Wrong story." not in page.text  # the reason is the desk's note
    api = await desk.client.get(f"/api/articles/{article_id}")
    assert api.status_code == 410 and api.json()["error"]["code"] == "gone"
    for path in (f"/stories/{story_id}", f"/api/stories/{story_id}/updates", f"/stories/{story_id}/feed.json"):
        text = (await desk.client.get(path)).text
        assert "Gates jammed" not in text, path
    assert (await desk.client.get(f"/articles/{kept.id}")).status_code == 200
    # Shown again: back everywhere.
    posts.hide_item(desk.store, EDITOR, article_id, None)
    assert (await desk.client.get(f"/articles/{article_id}")).status_code == 200


async def test_pinned_block_and_key_events_on_story_and_topic_pages(desk: Desk) -> None:
    story_id, article_id = _story(desk.store)
    topic = desk.store.create_topic("harbour", "Harbour live", TopicQuery(keywords="nothing-matches-this"))
    post, placements = posts.create_post(
        desk.store, EDITOR, PostDraft("Lock closed until noon.", [story_id], [topic.id], pinned=True, key_event=True)
    )
    posts.set_key_event(desk.store, EDITOR, article_id, True)
    by_page = {p.story_id or 0: p.article_id for p in placements}
    for path, item_id in ((f"/stories/{story_id}", by_page[story_id]), ("/live/harbour", by_page[0])):
        html = (await desk.client.get(path)).text
        pinned = html[html.index("data-pinned-block") : html.index('aria-label="Updates"')]
        assert f'id="pinned-{item_id}"' in pinned and "Pinned" in pinned and "Lock closed until noon." in pinned
        key_events = html[html.index("data-key-events-block") : html.index("data-pinned-block")]
        assert f'href="/posts/{post.id}" data-anchor="update-{item_id}">Lock closed until noon.</a>' in key_events
        assert f'id="update-{item_id}"' in html[html.index("data-updates") :]  # in the stream as well
    story_page = (await desk.client.get(f"/stories/{story_id}")).text
    key_events = story_page[story_page.index("data-key-events-block") : story_page.index("data-pinned-block")]
    assert f'href="/articles/{article_id}" data-anchor="update-{article_id}">Gates jammed</a>' in key_events
    # Nothing pinned, no key events: the blocks are there for the live script, hidden.
    quiet = put(desk.store, "ferry", site="other.example", title="Ferry timetable", text="Ferries run late. Odd.")
    assert quiet.story_id != story_id
    empty = (await desk.client.get(f"/stories/{quiet.story_id}")).text
    assert "data-key-events-block hidden" in empty and "data-pinned-block hidden" in empty


async def test_feeds_json_ld_and_api_carry_posts(desk: Desk) -> None:
    story_id, article_id = _story(desk.store)
    post_id, item_id = _post(desk.store, story_id, "See ![map](https://maps.example/m.png).", title="Map")
    correction = PostDraft("See ![map](https://maps.example/m2.png).", title="Map")
    posts.correct_post(desk.store, EDITOR, post_id, correction, note="New map.")
    posts.set_key_event(desk.store, EDITOR, item_id, True)

    atom = feedparser.parse((await desk.client.get(f"/stories/{story_id}/feed.atom")).content)
    assert not atom.bozo
    entry = atom.entries[0]
    assert entry.link == f"http://testserver/posts/{post_id}" and entry.author == "Ada Desk"
    assert 'src="https://maps.example/m2.png"' in entry.content[0].value and "New map." in entry.content[0].value
    feed = (await desk.client.get(f"/stories/{story_id}/feed.json")).json()
    item = feed["items"][0]
    assert item["url"] == f"http://testserver/posts/{post_id}" and "m2.png" in item["content_html"]
    assert item["authors"] == [{"name": "Ada Desk"}] and "date_modified" in item

    ld = _json_ld((await desk.client.get(f"/stories/{story_id}")).text)
    [posting, other] = ld["liveBlogUpdate"]
    assert posting["url"] == f"http://testserver/posts/{post_id}" and posting["author"]["name"] == "Ada Desk"
    assert posting["headline"] == "Map" and "publisher" not in posting
    assert other["url"] == "https://harbor.example/news/gates"

    [api_post, api_article] = (await desk.client.get(f"/api/stories/{story_id}/updates")).json()["items"]
    assert api_post["kind"] == "post" and api_post["post_id"] == post_id and api_post["key_event"] is True
    assert api_post["version"] == 2 and api_post["correction_note"] == "New map." and api_post["corrected_at"]
    assert "m2.png" in api_post["body_html"] and api_post["permalink"] == f"/posts/{post_id}"
    assert api_post["pinned"] is False and api_post["retracted"] is False
    assert api_article["kind"] == "article" and api_article["id"] == article_id and api_article["body_html"] is None
    assert api_article["permalink"] == f"/articles/{article_id}" and api_article["version"] == 1


async def test_post_images_by_url_are_allowed_and_nothing_else_is_loosened(desk: Desk) -> None:
    policy = (await desk.client.get("/")).headers["content-security-policy"]
    assert "img-src 'self' https: data:" in policy
    assert "default-src 'self'" in policy and "script-src" not in policy  # scripts: 'self' only, via default-src


# the live stream


@dataclass
class Event:
    name: str  # "message" or a named event ("story")
    id: int | None
    data: dict[str, Any]


async def _events(response: httpx.Response) -> AsyncIterator[Event]:
    name, event_id, data = "message", None, None
    async for line in response.aiter_lines():
        if line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("id:"):
            event_id = int(line[3:].strip())
        elif line.startswith("data:"):
            data = json.loads(line[5:].strip())
        elif not line and data is not None:
            yield Event(name, event_id, data)
            name, event_id, data = "message", None, None


async def _next(events: AsyncIterator[Event]) -> Event:
    return await asyncio.wait_for(anext(events), timeout=10)


async def test_every_desk_change_reaches_an_open_stream_and_a_reconnect_replays_exactly_what_changed(
    database_url: str,
) -> None:
    async with running_app(database_url) as app, served(app) as base:
        store, bus = app.state.store, app.state.bus
        story_id, article_id = _story(store)
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            async with client.stream("GET", f"/stories/{story_id}/events?after={store.last_revision()}") as response:
                events = _events(response)
                await subscribed(bus)

                post, placed = posts.create_post(store, EDITOR, PostDraft("Two boats.", [story_id], title="Boats"))
                item_id = placed[0].article_id
                await posts.announce(store, bus, placed)
                created = await _next(events)
                assert created.data["id"] == item_id and "Two boats." in created.data["html"]
                assert created.id == created.data["revision"] == store.revision_of(item_id)
                assert created.data["permalink"] == f"/posts/{post.id}" and created.data["label"] == "Boats"

                correction = PostDraft("Three boats.", title="Boats")
                _, placed = posts.correct_post(store, EDITOR, post.id, correction, note="Recount.")
                await posts.announce(store, bus, placed)
                corrected = await _next(events)
                assert "Three boats." in corrected.data["html"] and "Correction: Recount." in corrected.data["html"]
                assert corrected.id is not None and created.id is not None and corrected.id > created.id

                await posts.announce(store, bus, [posts.set_pinned(store, EDITOR, item_id, True)])
                assert (await _next(events)).data["pinned"] is True
                await posts.announce(store, bus, [posts.set_key_event(store, EDITOR, item_id, True)])
                keyed = await _next(events)
                assert keyed.data["key_event"] is True and keyed.data["pinned"] is True
                seen = keyed.id
                assert seen is not None

                await posts.announce(store, bus, [posts.hide_item(store, EDITOR, article_id, "Off topic.")])
                hidden = await _next(events)
                assert hidden.data == {"id": article_id, "revision": hidden.id, "removed": True}

                _, placed = posts.retract_post(store, EDITOR, post.id, "Wrong harbour.")
                await posts.announce(store, bus, placed)
                retracted = await _next(events)
                removed = retracted.data["html"]
                assert "This update was removed" in removed and "Wrong harbour." in removed
                assert "boats" not in retracted.data["html"].lower()
                assert retracted.data["pinned"] is False and retracted.data["key_event"] is False

            # Back after the key event: the hidden article and the retracted post, once each, newest state.
            headers = {"Last-Event-ID": str(seen)}
            async with client.stream("GET", f"/stories/{story_id}/events", headers=headers) as response:
                events = _events(response)
                replayed = [await _next(events), await _next(events)]
                assert [(e.data["id"], e.id) for e in replayed] == [(article_id, hidden.id), (item_id, retracted.id)]
                assert replayed[0].data.get("removed") is True and "Wrong harbour." in replayed[1].data["html"]
                # Nothing else is pending: the next event is a new change.
                await posts.announce(store, bus, [posts.hide_item(store, EDITOR, article_id, None)])
                shown_again = await _next(events)
                assert shown_again.data["id"] == article_id and "html" in shown_again.data


async def test_an_article_announced_twice_without_a_revision_delivers_its_newest_state(database_url: str) -> None:
    """The ingest announces `Update(article, story)` (no revision) each time an article changes: equal updates
    within the live cache's lifetime must not be answered with the first one's state."""
    async with running_app(database_url) as app, served(app) as base:
        store, bus = app.state.store, app.state.bus
        story_id, article_id = _story(store)
        async with (
            httpx.AsyncClient(base_url=base, timeout=10) as client,
            client.stream("GET", f"/stories/{story_id}/events?after={store.last_revision()}") as response,
        ):
            events = _events(response)
            await subscribed(bus)
            posts.set_key_event(store, EDITOR, article_id, True)
            await bus.publish(Update(article_id, story_id))
            first = await _next(events)
            assert first.data["key_event"] is True
            posts.set_pinned(store, EDITOR, article_id, True)
            await bus.publish(Update(article_id, story_id))
            second = await _next(events)
            assert second.data["pinned"] is True and second.id == store.revision_of(article_id)


async def test_a_story_change_is_a_named_event_on_that_storys_streams_only(database_url: str) -> None:
    async with running_app(database_url) as app, served(app) as base:
        store, bus = app.state.store, app.state.bus
        story_id, _ = _story(store)
        other = put(store, "ferry", site="other.example", title="Ferry", text="Ferries run late. Odd.").story_id
        assert other is not None and other != story_id
        async with (
            httpx.AsyncClient(base_url=base, timeout=10) as client,
            client.stream("GET", f"/stories/{story_id}/events?after={store.last_revision()}") as response,
        ):
            events = _events(response)
            await subscribed(bus)
            await bus.publish(Update.story_changed(other))
            await bus.publish(Update.story_changed(story_id))
            event = await _next(events)
        assert event == Event("story", None, {"story_id": story_id})


async def test_hostile_posts_notes_reasons_and_authors_render_inert_everywhere(database_url: str) -> None:
    async with running_app(database_url) as app, served(app) as base:
        store = app.state.store
        paths = xss.hostile_desk(store)
        story_path = paths[0]
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            for path in paths:
                response = await client.get(path, follow_redirects=True)
                assert response.status_code in (200, 410), path
                xss.assert_inert(response.text, path)
            assert "quay" in (await client.get("/search?q=quay")).text.lower()
            for feed in (f"{story_path}/feed.atom", "/live/quay/feed.atom"):
                parsed = ElementTree.fromstring((await client.get(feed)).content)
                for element in parsed.iter():
                    if element.get("type") == "html":
                        xss.assert_inert(element.text or "", feed)
            for feed in (f"{story_path}/feed.json", "/live/quay/feed.json"):
                for item in (await client.get(feed)).json()["items"]:
                    xss.assert_inert(item.get("content_html", ""), feed)
            # The stream: a replay of everything, each item's HTML.
            async with client.stream("GET", f"{story_path}/events?after=0") as response:
                events = _events(response)
                story_id = int(story_path.rsplit("/", 1)[1])
                pending = {item.id for item in store.changed_since(StoryStream(story_id), 0)}
                while pending:
                    event = await _next(events)
                    pending.discard(event.data["id"])
                    xss.assert_inert(event.data.get("html", ""), "event")
