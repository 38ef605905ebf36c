"""Atom 1.0 and JSON Feed 1.1 out of story and topic pages."""

from __future__ import annotations

from datetime import timedelta

import feedparser

from livedesk.models import TopicQuery
from tests.web_fixtures import NOW, Desk, one_story, put

JSON_FEED_ITEM_CONTENT = ("content_html", "content_text")


def _story(desk: Desk) -> tuple[int, list[int]]:
    first = put(
        desk.store,
        "gates",
        title="Gates <jammed> & stuck",
        byline="Ada Brierly",
        text="The gates jammed. Crews came. A crane arrived.",
        published=NOW - timedelta(minutes=9),
    )
    second = put(desk.store, "crane", text="The crane freed the gates. Barges moved on.", published=NOW)
    return one_story(desk.store, [first, second]), [second.id, first.id]


async def test_story_atom_feed_parses(desk: Desk) -> None:
    story_id, ids = _story(desk)
    response = await desk.client.get(f"/stories/{story_id}/feed.atom")
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert feed.feed.title == desk.store.get_story(story_id).title
    assert [link.rel for link in feed.feed.links] == ["alternate", "self"]
    assert [e.id.rsplit("-", 1)[1] for e in feed.entries] == [str(i) for i in ids]
    entry = feed.entries[1]
    assert entry.title == "Gates <jammed> & stuck"
    assert entry.link == "https://harbor.example/news/gates"
    assert entry.author == "Ada Brierly"
    assert "Read the full report at harbor.example" in entry.summary
    assert entry.updated_parsed and entry.published_parsed


def _check_json_feed(feed: dict) -> None:
    """The fields JSON Feed 1.1 requires, and the types of the ones we use."""
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert isinstance(feed["title"], str) and isinstance(feed["items"], list)
    for item in feed["items"]:
        assert isinstance(item["id"], str) and item["id"]
        assert any(isinstance(item.get(key), str) for key in JSON_FEED_ITEM_CONTENT)
        assert item["url"].startswith("https://")
        assert all(isinstance(author["name"], str) for author in item["authors"])
        assert item["date_published"].endswith("Z")


async def test_story_json_feed(desk: Desk) -> None:
    story_id, ids = _story(desk)
    response = await desk.client.get(f"/stories/{story_id}/feed.json")
    assert response.headers["content-type"].startswith("application/feed+json")
    feed = response.json()
    _check_json_feed(feed)
    assert feed["feed_url"] == f"http://testserver/stories/{story_id}/feed.json"
    assert feed["home_page_url"] == f"http://testserver/stories/{story_id}"
    assert [item["id"] for item in feed["items"]] == [str(i) for i in ids]


async def test_topic_feeds(desk: Desk) -> None:
    _, ids = _story(desk)
    put(desk.store, "ferry", text="Ferry timetable changes.")
    desk.store.create_topic("gates", "Live updates: the gates", TopicQuery(keywords="gates"))
    atom = feedparser.parse((await desk.client.get("/live/gates/feed.atom")).content)
    assert not atom.bozo and atom.feed.title == "Live updates: the gates"
    assert len(atom.entries) == 2
    feed = (await desk.client.get("/live/gates/feed.json")).json()
    _check_json_feed(feed)
    assert [item["id"] for item in feed["items"]] == [str(i) for i in ids]
    assert (await desk.client.get("/live/none/feed.json")).status_code == 404
