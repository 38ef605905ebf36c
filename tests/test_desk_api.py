"""The desk's JSON API with bearer tokens: the issue's contract, posts through their life, decisions on items,
story, claim and source actions, the audit log and the OpenAPI document; on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from livedesk.models import Role
from tests.desk_fixtures import api_token
from tests.web_fixtures import Desk, one_story, put


@pytest.fixture
def story(desk: Desk) -> int:
    store = desk.store
    return one_story(store, [put(store, "gates-1"), put(store, "gates-2", site="quay.example")])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_posting_with_a_token_answers_201_and_the_post_is_in_the_updates(desk: Desk, story: int) -> None:
    body = {"title": "Gates shut", "body": "The gates are **shut**.", "pinned": True, "key_event": True}
    without = await desk.client.post(f"/api/stories/{story}/posts", json=body)
    assert without.status_code == 401
    assert without.json()["error"]["code"] == "unauthorized"

    response = await desk.client.post(
        f"/api/stories/{story}/posts", json=body, headers=bearer(api_token(desk.store, Role.EDITOR))
    )
    assert response.status_code == 201
    post = response.json()
    assert post["status"] == "published"
    assert post["html"] == "<p>The gates are <strong>shut</strong>.</p>"
    assert post["story_ids"] == [story] and len(post["article_ids"]) == 1
    assert post["pinned"] and post["key_event"] and post["version"] == 1

    updates = (await desk.client.get(f"/api/stories/{story}/updates")).json()["items"]
    assert post["article_ids"][0] in [u["id"] for u in updates]
    assert "Gates shut" in (await desk.client.get(f"/stories/{story}")).text


async def test_a_contributors_post_is_a_draft_until_approved(desk: Desk, story: int) -> None:
    contributor, editor = api_token(desk.store, Role.CONTRIBUTOR), api_token(desk.store, Role.EDITOR)
    created = await desk.client.post(
        f"/api/stories/{story}/posts", json={"body": "From the quay."}, headers=bearer(contributor)
    )
    assert created.status_code == 201
    draft = created.json()
    assert draft["status"] == "draft" and draft["article_ids"] == []
    refused = await desk.client.post(f"/api/posts/{draft['id']}/approve", headers=bearer(contributor))
    assert refused.status_code == 403
    approved = await desk.client.post(f"/api/posts/{draft['id']}/approve", headers=bearer(editor))
    assert approved.status_code == 200
    assert approved.json()["status"] == "published" and approved.json()["approved_by"]
    updates = (await desk.client.get(f"/api/stories/{story}/updates")).json()["items"]
    assert approved.json()["article_ids"][0] in [u["id"] for u in updates]


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/api/stories/{story}/posts", {"body": ""}, 422),  # no text
        ("/api/stories/{story}/posts", {"body": "x" * 50_001}, 422),
        ("/api/stories/{story}/posts", {"body": "x", "colour": "red"}, 422),  # unknown field
        ("/api/stories/{story}/posts", {"body": "x", "topic_ids": list(range(1, 30))}, 422),
        ("/api/stories/{story}/posts", {"body": "x", "publish_at": "not a time"}, 422),
        ("/api/stories/987654/posts", {"body": "x"}, 404),
        ("/api/stories/{story}/posts", {"body": "x", "topic_ids": [987654]}, 404),
    ],
)
async def test_bad_posts_are_refused_in_the_error_shape(
    desk: Desk, story: int, path: str, body: dict[str, object], status: int
) -> None:
    response = await desk.client.post(
        path.format(story=story), json=body, headers=bearer(api_token(desk.store, Role.EDITOR))
    )
    assert response.status_code == status
    assert set(response.json()) == {"error"}
    assert desk.store.list_posts() == []


async def test_correct_then_retract_keeps_every_version(desk: Desk, story: int) -> None:
    headers = bearer(api_token(desk.store, Role.EDITOR))
    post = (await desk.client.post(f"/api/stories/{story}/posts", json={"body": "Two gates."}, headers=headers)).json()
    patched = await desk.client.patch(
        f"/api/posts/{post['id']}", json={"body": "Three gates.", "correction_note": "Miscounted"}, headers=headers
    )
    assert patched.status_code == 200
    assert patched.json()["version"] == 2 and patched.json()["correction_note"] == "Miscounted"
    no_reason = await desk.client.delete(f"/api/posts/{post['id']}", headers=headers)
    assert no_reason.status_code == 422
    retracted = await desk.client.request(
        "DELETE", f"/api/posts/{post['id']}", json={"reason": "Wrong story"}, headers=headers
    )
    assert retracted.status_code == 200
    assert retracted.json()["status"] == "retracted" and retracted.json()["retracted_reason"] == "Wrong story"
    again = await desk.client.patch(f"/api/posts/{post['id']}", json={"body": "Back?"}, headers=headers)
    assert again.status_code == 409
    got = await desk.client.get(f"/api/posts/{post['id']}", headers=headers)
    assert got.json()["article_ids"] == post["article_ids"]  # still on the page, as removed
    assert [v.body for v in desk.store.post_versions(post["id"])] == ["Two gates.", "Three gates."]


async def test_item_decisions_story_and_source_actions_and_the_audit_log(desk: Desk, story: int) -> None:
    store = desk.store
    token = api_token(store, Role.EDITOR, name="ed")
    headers = bearer(token)
    first, second = store.story_article_ids(story)

    assert (await desk.client.post(f"/api/items/{first}/pin", headers=headers)).json()["pinned"] is True
    assert (await desk.client.delete(f"/api/items/{first}/pin", headers=headers)).json()["pinned"] is False
    assert (await desk.client.post(f"/api/items/{first}/key-event", headers=headers)).json()["key_event"] is True
    hidden = await desk.client.post(f"/api/items/{first}/hide", json={"reason": "Duplicate"}, headers=headers)
    assert hidden.json()["hidden_reason"] == "Duplicate"
    assert (await desk.client.delete(f"/api/items/{first}/hide", headers=headers)).json()["hidden_reason"] is None
    assert (await desk.client.post("/api/items/987654/pin", headers=headers)).status_code == 404

    renamed = await desk.client.patch(f"/api/stories/{story}", json={"title": "Lock gates"}, headers=headers)
    assert renamed.json()["title"] == "Lock gates"
    split = await desk.client.post(f"/api/stories/{story}/split", json={"article_ids": [second]}, headers=headers)
    new_story = split.json()["new_story"]["id"]
    merged = await desk.client.post(f"/api/stories/{story}/merge", json={"absorb": new_story}, headers=headers)
    assert merged.status_code == 200 and merged.json()["article_count"] == 2
    assert (
        await desk.client.post(f"/api/stories/{story}/merge", json={"absorb": story}, headers=headers)
    ).status_code == 422

    added = await desk.client.post("/api/sources", json={"url": "https://news.example/feed.xml"}, headers=headers)
    assert added.status_code == 201
    again = await desk.client.post("/api/sources", json={"url": "https://news.example/feed.xml"}, headers=headers)
    assert again.status_code == 200
    source = added.json()["id"]
    assert (await desk.client.post(f"/api/sources/{source}/poll", headers=headers)).status_code == 200
    disabled = await desk.client.post(f"/api/sources/{source}/disable", json={"reason": "Paywall"}, headers=headers)
    assert disabled.json()["disabled"] is True
    assert (await desk.client.post(f"/api/sources/{source}/poll", headers=headers)).status_code == 422
    assert (await desk.client.post(f"/api/sources/{source}/enable", headers=headers)).json()["disabled"] is False

    log = (await desk.client.get("/api/audit", params={"actor": "ed", "limit": 200}, headers=headers)).json()
    actions = [entry["action"] for entry in log["items"]]
    assert actions == [
        "source.enable", "source.disable", "source.poll_now", "source.add",
        "story.merge", "story.split", "story.edit",
        "item.unhide", "item.hide", "item.key_event", "item.unpin", "item.pin",
    ]  # fmt: skip
    for entry in log["items"]:
        assert entry["actor"] == "ed" and entry["at"] and entry["target"]
        assert entry["after"] is not None
    pin = log["items"][-1]
    assert (pin["target"], pin["before"]["pinned"], pin["after"]["pinned"]) == (f"article:{first}", False, True)
    page = (await desk.client.get("/api/audit", params={"actor": "ed", "limit": 5}, headers=headers)).json()
    older = (
        await desk.client.get(
            "/api/audit", params={"actor": "ed", "limit": 5, "before": page["next_before"]}, headers=headers
        )
    ).json()
    assert [e["id"] for e in page["items"] + older["items"]] == [e["id"] for e in log["items"][:10]]


async def test_claim_status_through_the_api_is_kept_with_who_and_why(desk: Desk) -> None:
    store = desk.store
    text = "The port authority said the pier was closed, according to a leaked memo."
    article = put(store, "pier", text=text)
    claims = store.story_claims(article.story_id or 0)
    if not claims:
        pytest.skip("no claim extracted from the sample text")
    headers = bearer(api_token(store, Role.EDITOR, name="ed"))
    response = await desk.client.put(
        f"/api/claims/{claims[0].id}/status", json={"status": "confirmed", "reason": "Notice seen"}, headers=headers
    )
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["editor"]) == ("confirmed", "ed")
    (entry,) = store.audit_entries(target=f"claim:{claims[0].id}")
    assert entry.after == {"status": "confirmed", "editor": "ed", "reason": "Notice seen"}
    bad = await desk.client.put(
        f"/api/claims/{claims[0].id}/status", json={"status": "true", "reason": "x"}, headers=headers
    )
    assert bad.status_code == 422


async def test_the_openapi_document_shows_the_bearer_scheme_on_desk_operations(desk: Desk) -> None:
    document = (await desk.client.get("/openapi.json")).json()
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token from `livedesk tokens create NAME`: `Authorization: Bearer TOKEN`.",
    }
    create = document["paths"]["/api/stories/{story_id}/posts"]["post"]
    assert create["security"] == [{"bearer": []}]
    assert "201" in create["responses"] and "401" in create["responses"]
    assert "security" not in document["paths"]["/api/stories"]["get"]  # reading stays open
    for path in ("/api/posts/{post_id}", "/api/items/{article_id}/hide", "/api/sources", "/api/audit"):
        assert path in document["paths"]
    assert not any(path.startswith("/desk") for path in document["paths"])
