"""Out-of-range input on every route, on SQLite and PostgreSQL: always a 4xx in the one JSON error shape (under
/api/) or the HTML error page, never a 500; and a 500 still carries the security headers."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest
import sqlalchemy as sa

from livedesk.models import TopicQuery
from livedesk.web.app import SECURITY_HEADERS
from tests.web_fixtures import Desk, put, running_app, served

HANG = 30  # seconds: only catches a request that never ends


@dataclass(frozen=True)
class Fixture:
    story: int
    article: int


def _fixture(desk: Desk) -> Fixture:
    stored = put(desk.store, "one", text="The harbour gates jammed. Crews came. They left.")
    desk.store.create_topic("t", "Topic", TopicQuery(keywords="harbour"))
    assert stored.story_id is not None
    return Fixture(stored.story_id, stored.id)


async def _refused(client: httpx.AsyncClient, method: str, url: str, **kwargs: object) -> str | None:
    """None when `url` answers a 4xx in the right shape; else what is wrong."""
    response = await client.request(method, url, timeout=HANG, **kwargs)  # type: ignore[arg-type]
    if not 400 <= response.status_code < 500:
        return f"{method} {url[:120]} -> {response.status_code}"
    if url.startswith("/api/"):
        body = response.json()
        if set(body) != {"error"} or set(body["error"]) != {"code", "message"} or not body["error"]["message"]:
            return f"{method} {url[:120]} -> {body}"
    elif not response.headers["content-type"].startswith("text/html") or "Back to the live" not in response.text:
        return f"{method} {url[:120]} -> not the HTML error page"
    return None


# Every route taking an id; {id} is the bad one, {story} a real story.
ID_ROUTES = [
    ("GET", "/api/stories/{id}"),
    ("GET", "/api/stories/{id}/updates"),
    ("GET", "/api/stories/{id}/claims"),
    ("GET", "/api/stories/{story}/updates?entity={id}"),
    ("GET", "/api/topics/t/updates?entity={id}"),
    ("GET", "/api/articles/{id}"),
    ("GET", "/api/entities/{id}"),
    ("GET", "/api/search?q=harbour&story={id}"),
    ("GET", "/api/search?q=harbour&entity={id}"),
    ("GET", "/api/views?ids={id}"),
    ("POST", "/api/views/{id}"),
    ("GET", "/stories/{id}"),
    ("GET", "/stories/{story}?entity={id}"),
    ("GET", "/live/t?entity={id}"),
    ("GET", "/articles/{id}"),
    ("GET", "/entities/{id}"),
    ("GET", "/stories/{id}/feed.atom"),
    ("GET", "/stories/{id}/feed.json"),
    ("GET", "/search?q=harbour&story={id}"),
    ("GET", "/search?q=harbour&entity={id}"),
    ("GET", "/stories/{id}/events"),
    ("GET", "/stories/{story}/events?after={id}"),
    ("GET", "/live/t/events?after={id}"),
]
BROWSER = {"user-agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"}


@pytest.mark.parametrize("bad_id", [2**31, 2**63, -(2**63), 10**30])
async def test_ids_out_of_range_are_refused_on_every_route(database_url: str, bad_id: int) -> None:
    # On a real server: the event streams must answer before they start streaming.
    async with running_app(database_url) as app, served(app) as base, httpx.AsyncClient(base_url=base) as client:
        fixture = _fixture(Desk(app, client))
        problems = [
            await _refused(client, method, route.format(id=bad_id, story=fixture.story), headers=BROWSER)
            for method, route in ID_ROUTES
        ]
    assert [p for p in problems if p] == []


def _cursor(at: datetime, ident: int) -> str:
    """Encoded as the server does, without its conversion to UTC (which a hand-made cursor may skip)."""
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{ident}".encode()).decode().rstrip("=")


BAD_CURSORS = {
    "year 1 east of UTC": _cursor(datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5))), 1),
    "year 9999 west of UTC": _cursor(datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5))), 1),
    "id past 32 bits": _cursor(datetime(2020, 1, 1, tzinfo=UTC), 2**31),
    "id past 64 bits": _cursor(datetime(2020, 1, 1, tzinfo=UTC), 2**63),
    "5,000 characters": "A" * 5000,
}
CURSOR_ROUTES = [
    "/api/stories/{story}/updates",
    "/api/topics/t/updates",
    "/api/search?q=harbour",
    "/stories/{story}",
    "/live/t",
    "/search?q=harbour",
]


@pytest.mark.parametrize("cursor", BAD_CURSORS.values(), ids=BAD_CURSORS.keys())
async def test_bad_cursors_are_refused(desk: Desk, cursor: str) -> None:
    fixture = _fixture(desk)
    problems = []
    for route in CURSOR_ROUTES:
        url = route.format(story=fixture.story)
        problems.append(await _refused(desk.client, "GET", f"{url}{'&' if '?' in url else '?'}cursor={cursor}"))
    assert [p for p in problems if p] == []


async def test_cursors_at_the_ends_of_time_page_normally(desk: Desk) -> None:
    """An article dated year 1 or 9999 (a feed may say so) yields such a cursor: it is a real position."""
    fixture = _fixture(desk)
    for at in (datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)):
        cursor = _cursor(at, 1)
        response = await desk.client.get(f"/api/stories/{fixture.story}/updates", params={"cursor": cursor})
        assert response.status_code == 200
        assert [i["id"] for i in response.json()["items"]] == ([fixture.article] if at.year == 9999 else [])


DATE_ROUTES = [
    "/api/search?q=harbour&since={day}",
    "/api/search?q=harbour&until={day}",
    "/search?q=harbour&from={day}",
    "/search?q=harbour&to={day}",
]


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "10000-01-01", "2024-02-30"])
async def test_days_out_of_range_are_refused(desk: Desk, day: str) -> None:
    _fixture(desk)
    problems = [await _refused(desk.client, "GET", route.format(day=day)) for route in DATE_ROUTES]
    assert [p for p in problems if p] == []


async def test_long_names_and_limits_are_refused(desk: Desk) -> None:
    fixture = _fixture(desk)
    slug = "x" * 5000
    urls = [
        f"/api/topics/{slug}",
        f"/api/topics/{slug}/updates",
        f"/live/{slug}",
        f"/live/{slug}/feed.atom",
        f"/live/{slug}/feed.json",
        "/api/stories?limit=" + "9" * 30,
        "/api/search?q=harbour&outlet=" + "a" * 5000,
        "/search?q=harbour&outlet=" + "a" * 5000,
        "/api/views?ids=" + "9" * 5000,
        f"/api/views?ids={','.join([str(fixture.article)] * 101)}",
    ]
    problems = [await _refused(desk.client, "GET", url) for url in urls]
    assert [p for p in problems if p] == []


@pytest.mark.parametrize("name", ["%00", "a%00b", "%1B"])
async def test_control_characters_in_names_are_refused(desk: Desk, name: str) -> None:
    """PostgreSQL text cannot hold NUL: such a slug or outlet must be refused before it reaches a query."""
    _fixture(desk)
    urls = [
        f"/api/topics/{name}",
        f"/api/topics/{name}/updates",
        f"/live/{name}",
        f"/live/{name}/feed.atom",
        f"/live/{name}/feed.json",
        f"/live/{name}/events",
        f"/api/search?q=harbour&outlet={name}",
        f"/search?q=harbour&outlet={name}",
    ]
    problems = [await _refused(desk.client, "GET", url) for url in urls]
    assert [p for p in problems if p] == []


@pytest.mark.parametrize("header", [b"9" * 5000, b"\xb2", b"99999999999", str(2**31).encode(), b"-1", b"1e3"])
async def test_bad_last_event_ids_are_refused(database_url: str, header: bytes) -> None:
    """Headers arrive as Latin-1: b"\\xb2" is "²", a digit to str.isdigit() and int()."""
    async with running_app(database_url) as app, served(app) as base, httpx.AsyncClient(base_url=base) as client:
        fixture = _fixture(Desk(app, client))
        problems = [
            await _refused(client, "GET", url, headers={"Last-Event-ID": header})
            for url in (f"/stories/{fixture.story}/events", "/live/t/events")
        ]
    assert [p for p in problems if p] == []


async def test_server_errors_carry_the_security_headers(database_url: str) -> None:
    async with running_app(database_url) as app:
        with app.state.store._engine.begin() as connection:
            connection.execute(sa.text("DROP TABLE topics"))  # a database broken under the running app
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            for path in ("/api/topics", "/"):
                response = await client.get(path)
                assert response.status_code == 500, path
                for name, value in SECURITY_HEADERS:
                    assert response.headers.get(name.decode()) == value.decode(), (path, name)


async def test_the_search_form_submitted_with_its_fields_left_empty_searches(desk: Desk) -> None:
    """Without JavaScript the form sends every field, the unset ones empty: they mean "any"."""
    fixture = _fixture(desk)
    response = await desk.client.get("/search?q=harbour&outlet=&from=&to=&story=")
    assert response.status_code == 200
    assert f'data-result-id="{fixture.article}"' in response.text
