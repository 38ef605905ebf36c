"""The desk pages and the desk's JSON API: who may do what (every state-changing route, every role), posting,
approval, decisions on items, story and source tools, and the audit log; on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from livedesk.models import Role
from tests.desk_fixtures import SignedInClient, api_token, signed_in_client
from tests.web_fixtures import Desk, one_story, put

# --- the role × route matrix ------------------------------------------------------------------------------

# Every route that changes something, with the least role it needs: "html" routes take a session cookie and the CSRF
# token, "api" routes a bearer token. A route added without an entry here fails the matrix test.
PUBLIC = None
STATE_CHANGING: dict[tuple[str, str], tuple[str, Role | None]] = {
    # sign-in (its own CSRF cookie; tested in test_auth) and sign-out (anyone, only their own session)
    ("POST", "/desk/login"): ("html", PUBLIC),
    ("POST", "/desk/logout"): ("html", PUBLIC),
    # admins: users and tokens
    ("POST", "/desk/users"): ("html", Role.ADMIN),
    ("POST", "/desk/users/role"): ("html", Role.ADMIN),
    ("POST", "/desk/users/disable"): ("html", Role.ADMIN),
    ("POST", "/desk/users/enable"): ("html", Role.ADMIN),
    ("POST", "/desk/tokens"): ("html", Role.ADMIN),
    ("POST", "/desk/tokens/revoke"): ("html", Role.ADMIN),
    # desk pages
    ("POST", "/desk/posts"): ("html", Role.CONTRIBUTOR),
    ("POST", "/desk/posts/{post_id}/edit"): ("html", Role.CONTRIBUTOR),
    ("POST", "/desk/posts/{post_id}/retract"): ("html", Role.CONTRIBUTOR),
    ("POST", "/desk/posts/{post_id}/approve"): ("html", Role.EDITOR),
    ("POST", "/desk/stories/{story_id}/edit"): ("html", Role.EDITOR),
    ("POST", "/desk/stories/{story_id}/merge"): ("html", Role.EDITOR),
    ("POST", "/desk/stories/{story_id}/split"): ("html", Role.EDITOR),
    ("POST", "/desk/claims/{claim_id}/status"): ("html", Role.EDITOR),
    ("POST", "/desk/items/{article_id}/pin"): ("html", Role.EDITOR),
    ("POST", "/desk/items/{article_id}/key-event"): ("html", Role.EDITOR),
    ("POST", "/desk/items/{article_id}/hide"): ("html", Role.EDITOR),
    ("POST", "/desk/sources"): ("html", Role.EDITOR),
    ("POST", "/desk/sources/{source_id}/enable"): ("html", Role.EDITOR),
    ("POST", "/desk/sources/{source_id}/disable"): ("html", Role.EDITOR),
    ("POST", "/desk/sources/{source_id}/poll"): ("html", Role.EDITOR),
    # the API
    ("POST", "/api/stories/{story_id}/posts"): ("api", Role.CONTRIBUTOR),
    ("PATCH", "/api/posts/{post_id}"): ("api", Role.CONTRIBUTOR),
    ("DELETE", "/api/posts/{post_id}"): ("api", Role.CONTRIBUTOR),
    ("POST", "/api/posts/{post_id}/approve"): ("api", Role.EDITOR),
    ("POST", "/api/items/{article_id}/pin"): ("api", Role.EDITOR),
    ("DELETE", "/api/items/{article_id}/pin"): ("api", Role.EDITOR),
    ("POST", "/api/items/{article_id}/key-event"): ("api", Role.EDITOR),
    ("DELETE", "/api/items/{article_id}/key-event"): ("api", Role.EDITOR),
    ("POST", "/api/items/{article_id}/hide"): ("api", Role.EDITOR),
    ("DELETE", "/api/items/{article_id}/hide"): ("api", Role.EDITOR),
    ("PATCH", "/api/stories/{story_id}"): ("api", Role.EDITOR),
    ("POST", "/api/stories/{story_id}/merge"): ("api", Role.EDITOR),
    ("POST", "/api/stories/{story_id}/split"): ("api", Role.EDITOR),
    ("PUT", "/api/claims/{claim_id}/status"): ("api", Role.EDITOR),
    ("POST", "/api/sources"): ("api", Role.EDITOR),
    ("POST", "/api/sources/{source_id}/enable"): ("api", Role.EDITOR),
    ("POST", "/api/sources/{source_id}/disable"): ("api", Role.EDITOR),
    ("POST", "/api/sources/{source_id}/poll"): ("api", Role.EDITOR),
}
# Reads that are the desk's own (they need a role too, but change nothing): checked in the matrix as well.
DESK_READS: dict[tuple[str, str], tuple[str, Role]] = {
    ("GET", "/api/posts/{post_id}"): ("api", Role.CONTRIBUTOR),
    ("GET", "/api/audit"): ("api", Role.EDITOR),
}
# Not state-changing though not GET: the view beacon (public by design, same-origin only; test_views).
PUBLIC_WRITES = {("POST", "/api/views/{article_id}")}
ROLES = [None, Role.CONTRIBUTOR, Role.EDITOR, Role.ADMIN]
NO_SUCH_ID = "987654"


def state_changing_routes(desk: Desk) -> set[tuple[str, str]]:
    """(method, path) of every route of the app that is not a read, included routers' routes too."""
    found = set()
    for route in desk.app.routes:
        # FastAPI keeps an included router as one entry that lists its routes with their full paths.
        contexts = route.effective_route_contexts() if hasattr(route, "effective_route_contexts") else [route]
        for context in contexts:
            if hasattr(context, "methods"):
                for method in set(context.methods or ()) - {"GET", "HEAD", "OPTIONS"}:
                    found.add((method, context.path))
    return found


def test_every_state_changing_route_is_in_the_matrix(desk: Desk) -> None:
    routes = state_changing_routes(desk) - PUBLIC_WRITES
    assert routes - STATE_CHANGING.keys() == set(), "add the new route to STATE_CHANGING with the role it needs"
    assert STATE_CHANGING.keys() - routes == set(), "a route in the matrix no longer exists"


@dataclass
class Caller:
    role: Role | None
    client: httpx.AsyncClient
    csrf_token: str
    token: str


@pytest.fixture
async def callers(desk: Desk) -> AsyncIterator[dict[Role | None, Caller]]:
    """A signed-in browser and an API token for each role, and an anonymous one."""
    found: dict[Role | None, Caller] = {None: Caller(None, desk.client, "", "")}
    clients = [signed_in_client(desk.app, role) for role in ROLES[1:]]
    try:
        for role, context in zip(ROLES[1:], clients, strict=True):
            signed: SignedInClient = await context.__aenter__()
            found[role] = Caller(role, signed.client, signed.csrf_token, api_token(desk.store, name=signed.user.name))
        yield found
    finally:
        for context in clients:
            await context.__aexit__(None, None, None)


def _path(template: str) -> str:
    return re.sub(r"\{[a-z_]+\}", NO_SUCH_ID, template)


def _allowed(role: Role | None, needs: Role | None) -> bool:
    return needs is None or (role is not None and role.at_least(needs))


async def test_role_route_matrix_for_desk_forms(desk: Desk, callers: dict[Role | None, Caller]) -> None:
    """Each desk form route, for each role: with the CSRF token, without it, and with it from another site."""
    outcomes: dict[tuple[str, str, str], int] = {}
    for (method, template), (kind, needs) in STATE_CHANGING.items():
        if kind != "html" or needs is PUBLIC:
            continue
        for role, caller in callers.items():
            name = role or "anonymous"
            for variant, fields, headers in (
                ("csrf", {"csrf_token": caller.csrf_token}, {"Origin": "http://testserver"}),
                ("no-csrf", {}, {}),
                ("cross-site", {"csrf_token": caller.csrf_token}, {"Origin": "https://evil.example"}),
            ):
                response = await caller.client.request(method, _path(template), data=fields, headers=headers)
                status = response.status_code
                outcomes[(template, str(name), variant)] = status
                where = f"{method} {template} as {name} ({variant}): {status}"
                if role is None:
                    assert status == 401, where
                elif variant != "csrf":
                    assert status == 403, where  # the token and the origin are checked before the role
                elif not _allowed(role, needs):
                    assert status == 403, where
                else:
                    assert status in (303, 400, 404), where  # let in: done, or refused by the service layer
                    assert "not allowed" not in response.text
    assert len(outcomes) == 3 * len(ROLES) * sum(
        1 for kind, needs in STATE_CHANGING.values() if kind == "html" and needs is not PUBLIC
    )


async def test_role_route_matrix_for_the_api(desk: Desk, callers: dict[Role | None, Caller]) -> None:
    """Each API route, for each role: with its bearer token, without one (a session cookie is not one), and with a
    made-up token."""
    for (method, template), (kind, needs) in {**STATE_CHANGING, **DESK_READS}.items():
        if kind != "api":
            continue
        for role, caller in callers.items():
            name = role or "anonymous"
            for variant, headers in (
                ("token", {"Authorization": f"Bearer {caller.token}"} if caller.token else {}),
                ("cookie only", {"X-CSRF-Token": caller.csrf_token}),
                ("bad token", {"Authorization": "Bearer not-a-token"}),
            ):
                response = await caller.client.request(method, _path(template), json={}, headers=headers)
                status = response.status_code
                where = f"{method} {template} as {name} ({variant}): {status} {response.text[:200]}"
                assert set(response.json()) <= {"error"} or status < 400, where
                if variant != "token" or role is None:
                    assert status == 401, where
                    assert response.headers["www-authenticate"].startswith("Bearer"), where
                elif not _allowed(role, needs):
                    assert status == 403, where
                    assert response.json()["error"]["code"] == "forbidden"
                else:
                    assert status in (200, 404, 422), where  # let in: an unknown id, an empty body, or a read


# --- posting through the desk pages -----------------------------------------------------------------------


@pytest.fixture
def story(desk: Desk) -> int:
    store = desk.store
    return one_story(store, [put(store, "gates-1"), put(store, "gates-2", site="quay.example")])


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field"
    return found.group(1)


async def test_desk_pages_are_signed_in_uncached_and_carry_the_csrf_field(desk: Desk, story: int) -> None:
    async with signed_in_client(desk.app, Role.EDITOR) as editor:
        post = await editor.client.post(
            "/desk/posts", data={"csrf_token": editor.csrf_token, f"story-{story}": "1", "body": "First **post**"}
        )
        assert post.status_code == 303
        post_page = post.headers["location"].partition("?")[0]
        for path in (
            "/desk",
            f"/desk/stories/{story}",
            "/desk/posts/new?story=1",
            post_page,
            "/desk/sources",
            "/desk/audit",
        ):
            response = await editor.client.get(path)
            assert response.status_code == 200, path
            assert response.headers["cache-control"] == "no-store", path
            assert _csrf(response.text) == editor.csrf_token, path
    anonymous = await desk.client.get(f"/desk/stories/{story}")
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/desk/login?next=")


async def test_an_editor_posts_pins_corrects_and_retracts_and_readers_see_each(desk: Desk, story: int) -> None:
    async with signed_in_client(desk.app, Role.EDITOR) as editor:
        csrf = editor.csrf_token
        created = await editor.client.post(
            "/desk/posts",
            data={"csrf_token": csrf, f"story-{story}": "1", "title": "Gates shut", "body": "The gates are *shut*."},
        )
        assert created.status_code == 303
        assert created.headers["location"].endswith("?done=posted")
        post_id = int(created.headers["location"].split("/")[3].partition("?")[0])
        page = await desk.client.get(f"/stories/{story}")
        assert "Gates shut" in page.text
        (article_id,) = [p.article_id for p in desk.store.post_placements(post_id)]

        pinned = await editor.client.post(f"/desk/items/{article_id}/pin", data={"csrf_token": csrf, "on": "1"})
        assert pinned.status_code == 303
        assert desk.store.stream_item(article_id).pinned  # type: ignore[union-attr]

        corrected = await editor.client.post(
            f"/desk/posts/{post_id}/edit",
            data={
                "csrf_token": csrf,
                "title": "Gates shut",
                "body": "The gates are shut, say officials.",
                "correction_note": "Source added",
            },
        )
        assert corrected.headers["location"].endswith("?done=corrected")
        post_page = await editor.client.get(f"/desk/posts/{post_id}")
        assert "Version 1" in post_page.text and "The gates are *shut*." in post_page.text  # the earlier version
        assert "post.correct" in post_page.text  # its history

        refused = await editor.client.post(f"/desk/posts/{post_id}/retract", data={"csrf_token": csrf, "reason": " "})
        assert refused.status_code == 400
        assert "say why" in refused.text
        retracted = await editor.client.post(
            f"/desk/posts/{post_id}/retract", data={"csrf_token": csrf, "reason": "Wrong gates"}
        )
        assert retracted.headers["location"].endswith("?done=retracted")
    post = desk.store.get_post(post_id)
    assert post is not None and post.retracted_reason == "Wrong gates"


async def test_the_preview_renders_the_markdown_sanitised_and_publishes_nothing(desk: Desk, story: int) -> None:
    async with signed_in_client(desk.app, Role.EDITOR) as editor:
        body = "**bold** [x](javascript:alert(1)) <script>alert(1)</script>"
        response = await editor.client.post(
            "/desk/posts",
            data={"csrf_token": editor.csrf_token, f"story-{story}": "1", "body": body, "intent": "preview"},
        )
    assert response.status_code == 200
    assert "<strong>bold</strong>" in response.text
    preview = response.text.split('id="preview-title"')[1].split("</section>")[0]
    assert "href" not in preview  # the javascript: link stays text
    assert "<script>alert" not in response.text
    assert desk.store.list_posts() == []


async def test_a_contributors_draft_reaches_the_page_only_once_an_editor_approves_it(desk: Desk, story: int) -> None:
    async with (
        signed_in_client(desk.app, Role.CONTRIBUTOR) as contributor,
        signed_in_client(desk.app, Role.EDITOR) as editor,
    ):
        submitted = await contributor.client.post(
            "/desk/posts",
            data={
                "csrf_token": contributor.csrf_token,
                f"story-{story}": "1",
                "title": "Draft from the quay",
                "body": "Seen at the quay.",
            },
        )
        assert submitted.headers["location"].endswith("?done=submitted")
        post_id = int(submitted.headers["location"].split("/")[3].partition("?")[0])
        assert "Draft from the quay" not in (await desk.client.get(f"/stories/{story}")).text
        assert "Draft from the quay" not in (await desk.client.get(f"/api/stories/{story}/updates")).text
        overview = await editor.client.get("/desk")
        assert "Draft from the quay" in overview.text  # the queue

        cannot = await contributor.client.post(
            f"/desk/posts/{post_id}/approve", data={"csrf_token": contributor.csrf_token}
        )
        assert cannot.status_code == 403
        approved = await editor.client.post(f"/desk/posts/{post_id}/approve", data={"csrf_token": editor.csrf_token})
        assert approved.status_code == 303
    assert "Draft from the quay" in (await desk.client.get(f"/stories/{story}")).text
    assert "Draft from the quay" in (await desk.client.get(f"/api/stories/{story}/updates")).text


async def test_a_contributor_cannot_edit_anothers_post(desk: Desk, story: int) -> None:
    async with (
        signed_in_client(desk.app, Role.CONTRIBUTOR) as one,
        signed_in_client(desk.app, Role.CONTRIBUTOR) as other,
    ):
        submitted = await one.client.post(
            "/desk/posts", data={"csrf_token": one.csrf_token, f"story-{story}": "1", "body": "Mine."}
        )
        post_id = submitted.headers["location"].split("/")[3].partition("?")[0]
        response = await other.client.post(
            f"/desk/posts/{post_id}/edit", data={"csrf_token": other.csrf_token, "body": "Not yours."}
        )
    assert response.status_code == 403


async def test_story_tools_hide_rename_and_split_are_audited(desk: Desk, story: int) -> None:
    store = desk.store
    article_ids = store.story_article_ids(story)
    async with signed_in_client(desk.app, Role.EDITOR) as editor:
        csrf = editor.csrf_token
        no_reason = await editor.client.post(f"/desk/items/{article_ids[0]}/hide", data={"csrf_token": csrf, "on": "1"})
        assert no_reason.status_code == 400
        hidden = await editor.client.post(
            f"/desk/items/{article_ids[0]}/hide", data={"csrf_token": csrf, "on": "1", "reason": "Duplicate"}
        )
        assert hidden.status_code == 303
        page = await editor.client.get(f"/desk/stories/{story}")
        assert "hidden: Duplicate" in page.text  # the desk still lists it, marked
        renamed = await editor.client.post(
            f"/desk/stories/{story}/edit", data={"csrf_token": csrf, "title": "The lock gates", "summary": "Shut."}
        )
        assert renamed.status_code == 303
        assert store.get_story(story).title == "The lock gates"  # type: ignore[union-attr]
        split = await editor.client.post(
            f"/desk/stories/{story}/split", data={"csrf_token": csrf, f"article-{article_ids[1]}": "1"}
        )
        assert split.status_code == 303
        new_story = int(split.headers["location"].split("/")[3].partition("?")[0])
        assert new_story != story and store.article_story(article_ids[1]) == new_story
    actions = {(e.action, e.target, e.actor_name) for e in store.audit_entries()}
    name = editor.user.name
    assert {
        ("item.hide", f"article:{article_ids[0]}", name),
        ("story.edit", f"story:{story}", name),
        ("story.split", f"story:{story}", name),
    } <= actions
    (rename,) = store.audit_entries(target=f"story:{story}", actor=name, limit=2)[1:]
    assert rename.before == {"desk_title": None, "desk_summary": None}
    assert rename.after == {"desk_title": "The lock gates", "desk_summary": "Shut."}


async def test_sources_are_added_with_the_cli_rules_polled_now_and_disabled_with_a_reason(desk: Desk) -> None:
    async with signed_in_client(desk.app, Role.EDITOR) as editor:
        csrf = editor.csrf_token
        # The CLI's URL check (the fetcher refuses private addresses when it polls: test_fetch).
        refused = await editor.client.post("/desk/sources", data={"csrf_token": csrf, "url": "file:///etc/passwd"})
        assert refused.status_code == 400
        assert "not an http(s) URL" in refused.text
        added = await editor.client.post(
            "/desk/sources", data={"csrf_token": csrf, "url": "https://news.example/feed.xml", "kind": "feed"}
        )
        assert added.headers["location"].endswith("?done=source_added")
        (source,) = desk.store.list_sources()
        polled = await editor.client.post(f"/desk/sources/{source.id}/poll", data={"csrf_token": csrf})
        assert polled.status_code == 303
        assert desk.store.get_source(source.id).next_poll_at is not None  # type: ignore[union-attr]
        disabled = await editor.client.post(
            f"/desk/sources/{source.id}/disable", data={"csrf_token": csrf, "reason": "Paywalled"}
        )
        assert disabled.status_code == 303
        page = await editor.client.get("/desk/sources")
        assert "Paywalled" in page.text
    actions = [e.action for e in desk.store.audit_entries(target=f"source:{source.id}")]
    assert actions == ["source.disable", "source.poll_now", "source.add"]


async def test_the_audit_page_filters_and_pages_by_id(desk: Desk, story: int) -> None:
    async with signed_in_client(desk.app, Role.EDITOR) as editor:
        for n in range(3):
            await editor.client.post(
                f"/desk/stories/{story}/edit", data={"csrf_token": editor.csrf_token, "title": f"Title {n}"}
            )
        page = await editor.client.get("/desk/audit", params={"target": f"story:{story}"})
        assert page.text.count('data-audit="') == 3
        assert "Title 2" in page.text and editor.user.name in page.text
        contributor_page = None
    async with signed_in_client(desk.app, Role.CONTRIBUTOR) as contributor:
        contributor_page = await contributor.client.get("/desk/audit")
    assert contributor_page.status_code == 403
