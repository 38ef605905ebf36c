"""The JSON API in process, on SQLite and PostgreSQL: OpenAPI, cursor pagination, the one error shape."""

from __future__ import annotations

from datetime import timedelta

import httpx
import sqlalchemy as sa
from openapi_spec_validator import validate

from livedesk.models import TopicQuery
from livedesk.web.render import excerpt
from tests.web_fixtures import DATA, NOW, Desk, one_story, put, running_app, series


async def test_openapi_document_is_valid_and_lists_the_endpoints(desk: Desk) -> None:
    document = (await desk.client.get("/openapi.json")).json()
    validate(document)
    assert {
        "/api/stories",
        "/api/stories/{story_id}",
        "/api/stories/{story_id}/updates",
        "/api/topics",
        "/api/topics/{slug}",
        "/api/topics/{slug}/updates",
        "/api/articles/{article_id}",
        "/api/search",
        "/api/outlets",
    } <= set(document["paths"])
    responses = document["paths"]["/api/stories/{story_id}/updates"]["get"]["responses"]
    for status in ("404", "422", "500"):
        assert responses[status]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorResponse")
    assert not any(path.startswith(("/stories", "/live", "/static")) for path in document["paths"])


async def _walk(client: httpx.AsyncClient, url: str, between: list | None = None) -> list[int]:
    seen: list[int] = []
    cursor = None
    while True:
        page = (await client.get(url, params={"cursor": cursor} if cursor else {})).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen
        if between:
            between.pop(0)()


async def test_walking_all_pages_yields_every_update_once_newest_first(desk: Desk) -> None:
    articles = series(desk.store, 47)
    story_id = one_story(desk.store, articles)
    seen = await _walk(desk.client, f"/api/stories/{story_id}/updates")
    assert seen == [a.id for a in reversed(articles)]


async def test_arrivals_between_pages_cause_no_duplicate_or_gap(desk: Desk) -> None:
    articles = series(desk.store, 45)
    story_id = one_story(desk.store, articles)
    arrived = []

    def arrive(minutes_ago: int) -> None:
        stored = put(desk.store, f"late-{minutes_ago}", published=NOW - timedelta(minutes=minutes_ago))
        one_story(desk.store, [articles[0], stored])
        arrived.append(stored)

    # One newer than everything, one inside the part already read, one inside the part still to read.
    seen = await _walk(desk.client, f"/api/stories/{story_id}/updates", [lambda: arrive(0), lambda: arrive(40)])
    assert len(seen) == len(set(seen))
    assert {a.id for a in articles} <= set(seen)


async def test_update_items_carry_excerpt_credit_and_views(desk: Desk) -> None:
    text = (DATA / "lock-gates.txt").read_text(encoding="utf-8")
    original = put(desk.store, "gates", site="tollan-post.example", text=text, byline="Ada Brierly")
    copy = put(desk.store, "copy", site="wire.example", text=text, attributed_to="tollan-post.example")
    story_id = one_story(desk.store, [original, copy])
    # As the page shows it: the copy is on its original's card, not an update of its own.
    [shown] = (await desk.client.get(f"/api/stories/{story_id}/updates")).json()["items"]
    assert shown["id"] == original.id and shown["also_carried_by"] == ["wire.example"]
    items = (await desk.client.get(f"/api/stories/{story_id}/updates", params={"copies": "true"})).json()["items"]
    by_id = {item["id"]: item for item in items}
    assert by_id[original.id]["excerpt"] == excerpt(text)
    assert by_id[copy.id]["first_reported_by"] == "tollan-post.example"
    assert by_id[copy.id]["also_carried_by"] == ["wire.example"]
    assert by_id[original.id]["views"] == 0 and by_id[original.id]["byline"] == "Ada Brierly"
    article = (await desk.client.get(f"/api/articles/{copy.id}")).json()
    assert article["attributed_to"] == "tollan-post.example" and article["permalink"] == f"/articles/{copy.id}"


async def test_stories_topics_search_and_outlets(desk: Desk) -> None:
    old = put(
        desk.store,
        "old",
        site="a.example",
        title="Ferry timetable",
        text="Ferry timetable changes.",
        published=NOW - timedelta(days=2),
    )
    new = put(desk.store, "new", site="b.example", title="Lock gates", text="The lock gates jammed.", published=NOW)
    stories = (await desk.client.get("/api/stories")).json()
    assert [s["id"] for s in stories][:2] == [new.story_id, old.story_id]
    assert (await desk.client.get(f"/api/stories/{new.story_id}")).json()["outlet_count"] == 1

    desk.store.create_topic("gates", "Gates", TopicQuery(keywords="gates"))
    assert [t["slug"] for t in (await desk.client.get("/api/topics")).json()] == ["gates"]
    assert (await desk.client.get("/api/topics/gates")).json()["query"]["keywords"] == "gates"
    topic_items = (await desk.client.get("/api/topics/gates/updates")).json()["items"]
    assert [i["id"] for i in topic_items] == [new.id]

    hits = (await desk.client.get("/api/search", params={"q": "gates"})).json()["items"]
    assert [h["id"] for h in hits] == [new.id]
    assert "\ue000gates\ue001" in hits[0]["snippet"]
    assert (await desk.client.get("/api/search", params={"q": "gates", "outlet": "a.example"})).json()["items"] == []

    outlets = (await desk.client.get("/api/outlets")).json()
    assert [o["site"] for o in outlets] == ["a.example", "b.example"]


async def test_errors_share_one_json_shape(desk: Desk) -> None:
    cases = {
        "/api/stories/999999": (404, "not_found"),
        "/api/stories/999999/updates": (404, "not_found"),
        "/api/topics/none": (404, "not_found"),
        "/api/articles/999999": (404, "not_found"),
        "/api/stories/not-a-number": (422, "invalid_request"),
        "/api/search": (422, "invalid_request"),
        "/api/stories?limit=0": (422, "invalid_request"),
        "/api/nothing-here": (404, "not_found"),
        "/api": (404, "not_found"),
    }
    put(desk.store, "one")
    cases["/api/stories/1/updates?cursor=%%%"] = (400, "bad_request")
    for path, (status, code) in cases.items():
        response = await desk.client.get(path)
        assert response.status_code == status, path
        body = response.json()
        assert set(body) == {"error"} and body["error"]["code"] == code, path
        assert isinstance(body["error"]["message"], str) and body["error"]["message"]


async def test_server_errors_are_json_too(database_url: str) -> None:
    async with running_app(database_url) as app:
        with app.state.store._engine.begin() as connection:
            connection.execute(sa.text("DROP TABLE topics"))  # a database broken under the running app
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await client.get("/api/topics")
    assert response.status_code == 500
    assert response.json() == {"error": {"code": "internal_error", "message": "The server failed; try again later."}}
