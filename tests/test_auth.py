"""Desk sign-in on the web (livedesk.web.auth) and the admins' pages, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from fastapi import Depends, FastAPI

from livedesk.config import Settings
from livedesk.desk import accounts
from livedesk.desk.signin import ACCOUNT_FAILURES, ADDRESS_FAILURES, sign_in
from livedesk.models import Role, User
from livedesk.store import Store
from livedesk.store.schema import metadata
from livedesk.web.app import create_app
from livedesk.web.auth import CSRF_COOKIE, SESSION_COOKIE, api_user, desk_user
from tests.desk_fixtures import PASSWORD, add_user, api_token, signed_in_client
from tests.web_fixtures import TEST_HOSTS, running_app, served

HIDDEN = re.compile(r'<input type="hidden" name="(?P<name>[^"]*)" value="(?P<value>[^"]*)">')


def probe_routes(app: FastAPI) -> None:
    """Routes guarded by each dependency, answering with who they let in."""
    for role in Role:
        # Defaults, not Annotated[...]: the annotations are strings, evaluated where `role` is out of reach.
        signed_in, token_holder = Depends(desk_user(role)), Depends(api_user(role))

        async def desk_probe(user: User = signed_in) -> dict[str, str]:
            return {"name": user.name}

        async def api_probe(user: User = token_holder) -> dict[str, str]:
            return {"name": user.name}

        app.add_api_route(f"/desk/probe/{role}", desk_probe, methods=["GET", "POST"])
        app.add_api_route(f"/api/probe/{role}", api_probe, methods=["GET", "POST"])


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[FastAPI]:
    async with running_app(database_url) as running:
        probe_routes(running)
        yield running


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as anonymous:
        yield anonymous


def store_of(app: FastAPI) -> Store:
    return app.state.store


def hidden_fields(html: str) -> dict[str, str]:
    return {m["name"]: m["value"] for m in HIDDEN.finditer(html)}


async def login(
    client: httpx.AsyncClient,
    name: str,
    password: str = PASSWORD,
    *,
    headers: dict[str, str] | None = None,
    **extra: str,
) -> httpx.Response:
    """Open the sign-in form, fill it in and send it, as a browser does."""
    form = await client.get("/desk/login")
    fields = {**hidden_fields(form.text), "name": name, "password": password, **extra}
    return await client.post("/desk/login", data=fields, headers=headers)


def set_cookie(response: httpx.Response, name: str) -> SimpleCookie:
    for header in response.headers.get_list("set-cookie"):
        cookie: SimpleCookie = SimpleCookie()
        cookie.load(header)
        if name in cookie:
            return cookie
    raise AssertionError(f"no {name} cookie set")


# the sign-in form


async def test_the_form_carries_a_csrf_field_matching_an_httponly_strict_cookie(client: httpx.AsyncClient) -> None:
    response = await client.get("/desk/login")
    assert response.status_code == 200
    fields = hidden_fields(response.text)
    assert [name for name in fields if "csrf" in name] == ["csrf_token"]
    cookie = set_cookie(response, CSRF_COOKIE)[CSRF_COOKIE]
    assert cookie.value == fields["csrf_token"]
    assert cookie["httponly"] and cookie["samesite"].lower() == "strict" and not cookie["secure"]
    assert response.headers["cache-control"] == "no-store"
    again = await client.get("/desk/login")
    assert hidden_fields(again.text)["csrf_token"] == fields["csrf_token"]  # other open tabs stay valid


@pytest.mark.parametrize(
    ("fields", "headers"),
    [
        ({"csrf_token": None}, {}),
        ({"csrf_token": "not-the-cookie's-value-at-all-not-at-all"}, {}),
        ({}, {"Origin": "https://evil.example"}),
        ({}, {"Origin": "null"}),
        ({}, {"Sec-Fetch-Site": "cross-site"}),
        ({}, {"Sec-Fetch-Site": "same-site"}),
    ],
)
async def test_a_sign_in_without_the_token_or_from_another_site_is_refused(
    app: FastAPI, client: httpx.AsyncClient, fields: dict[str, str | None], headers: dict[str, str]
) -> None:
    add_user(store_of(app), Role.EDITOR, "ana")
    form = hidden_fields((await client.get("/desk/login")).text)
    sent = {k: v for k, v in {**form, "name": "ana", "password": PASSWORD, **fields}.items() if v is not None}
    response = await client.post("/desk/login", data=sent, headers=headers)
    assert response.status_code == 403
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")
    assert PASSWORD not in response.text


@pytest.mark.parametrize(
    "headers", [{}, {"Origin": "http://testserver"}, {"Sec-Fetch-Site": "same-origin"}, {"Sec-Fetch-Site": "none"}]
)
async def test_a_sign_in_from_this_site_or_without_those_headers_is_accepted(
    app: FastAPI, client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    add_user(store_of(app), Role.EDITOR, "ana")
    response = await login(client, "ana", headers=headers)
    assert response.status_code == 303 and response.headers["location"] == "/desk"


async def test_a_wrong_password_reads_as_an_unknown_name_and_is_never_shown(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    add_user(store_of(app), Role.EDITOR, "ana")
    wrong = await login(client, "ana", "the wrong password")
    unknown = await login(client, "nobody", "the wrong password")
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong user name or password." in wrong.text
    assert wrong.text.replace("ana", "nobody") == unknown.text
    assert "the wrong password" not in wrong.text
    assert hidden_fields(wrong.text)["next"] == "/desk"


async def test_too_many_failures_on_an_account_are_answered_429_with_retry_after(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    add_user(store_of(app), Role.EDITOR, "ana")
    for _ in range(ACCOUNT_FAILURES):
        assert (await login(client, "ana", "the wrong password")).status_code == 401
    limited = await login(client, "ana")  # the right password: still over the limit
    assert limited.status_code == 429
    assert 0 < int(limited.headers["retry-after"]) <= 15 * 60
    assert "Too many sign-in attempts for this account; try again in 15 minutes" in limited.text
    assert SESSION_COOKIE not in limited.headers.get("set-cookie", "")


async def test_too_many_failures_from_an_address_are_limited_across_accounts(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    add_user(store_of(app), Role.EDITOR, "ana")
    for n in range(ADDRESS_FAILURES):
        assert (await login(client, f"user{n}", "the wrong password")).status_code == 401
    limited = await login(client, "ana")
    assert limited.status_code == 429 and "retry-after" in limited.headers
    assert "from this address" in limited.text


# sessions


async def test_signing_in_sets_a_fresh_httponly_lax_session_cookie_and_goes_to_next(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    add_user(store_of(app), Role.EDITOR, "ana")
    client.cookies.set(SESSION_COOKIE, "chosen-by-an-attacker-before-sign-in")
    response = await login(client, "ana", next="/desk/probe/editor?x=1")
    assert response.status_code == 303 and response.headers["location"] == "/desk/probe/editor?x=1"
    cookie = set_cookie(response, SESSION_COOKIE)[SESSION_COOKIE]
    assert cookie.value != "chosen-by-an-attacker-before-sign-in" and len(cookie.value) >= 43
    assert cookie["httponly"] and cookie["samesite"].lower() == "lax" and cookie["path"] == "/"
    assert not cookie["secure"]
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, cookie.value)
    assert (await client.get("/desk/probe/editor")).json() == {"name": "ana"}


async def test_on_https_the_cookies_are_secure(app: FastAPI) -> None:
    add_user(store_of(app), Role.EDITOR, "ana")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://testserver") as client:
        form = await client.get("/desk/login")
        assert set_cookie(form, CSRF_COOKIE)[CSRF_COOKIE]["secure"]
        response = await login(client, "ana")
    assert response.status_code == 303
    assert set_cookie(response, SESSION_COOKIE)[SESSION_COOKIE]["secure"]


async def test_signing_in_again_ends_the_session_the_browser_had(app: FastAPI, client: httpx.AsyncClient) -> None:
    add_user(store_of(app), Role.EDITOR, "ana")
    first = set_cookie(await login(client, "ana"), SESSION_COOKIE)[SESSION_COOKIE].value
    second = set_cookie(await login(client, "ana"), SESSION_COOKIE)[SESSION_COOKIE].value
    assert second != first
    assert store_of(app).session(first, datetime.now(UTC)) is None


async def test_signing_out_ends_the_session_on_the_server(app: FastAPI) -> None:
    async with signed_in_client(app, Role.EDITOR) as editor:
        refused = await editor.client.post("/desk/logout", data={"csrf_token": "wrong"})
        assert refused.status_code == 403
        response = await editor.client.post("/desk/logout", data={"csrf_token": editor.csrf_token})
        assert response.status_code == 303 and response.headers["location"] == "/desk/login"
        assert set_cookie(response, SESSION_COOKIE)[SESSION_COOKIE].value == ""
    # A copy of the old cookie kept elsewhere is worth nothing now.
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://testserver",
        cookies={SESSION_COOKIE: editor.session_secret},
    ) as stolen:
        assert (await stolen.get("/desk/probe/editor")).status_code == 303


async def test_disabling_a_user_or_changing_their_password_ends_their_session_at_the_next_request(
    app: FastAPI,
) -> None:
    store = store_of(app)
    async with signed_in_client(app, Role.EDITOR) as disabled, signed_in_client(app, Role.EDITOR) as changed:
        assert (await disabled.client.get("/desk/probe/editor")).status_code == 200
        accounts.set_user_disabled(store, disabled.user.name, True)
        assert (await disabled.client.get("/desk/probe/editor")).status_code == 303

        assert (await changed.client.get("/desk/probe/editor")).status_code == 200
        accounts.set_password(store, changed.user.name, "a new passphrase entirely")
        assert (await changed.client.get("/desk/probe/editor")).status_code == 303


async def test_an_expired_session_is_refused(app: FastAPI) -> None:
    store = store_of(app)
    user = add_user(store, Role.EDITOR)
    old = sign_in(store, user.name, PASSWORD, "127.0.0.1", now=datetime.now(UTC) - timedelta(days=8))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://testserver",
        cookies={SESSION_COOKIE: old.session_secret},
    ) as client:
        assert (await client.get("/desk/probe/contributor")).status_code == 303


@pytest.mark.parametrize(
    "next_path",
    [
        "//evil.example/x",
        "https://evil.example",
        "http://evil.example/desk",
        "/\\evil.example",
        "/\t/evil.example",
        "desk",
        "javascript:alert(1)",
        "",
    ],
)
async def test_next_never_leads_off_the_site(app: FastAPI, client: httpx.AsyncClient, next_path: str) -> None:
    add_user(store_of(app), Role.EDITOR, "ana")
    response = await login(client, "ana", next=next_path)
    assert response.status_code == 303 and response.headers["location"] == "/desk"
    form = await client.get("/desk/login", params={"next": next_path})
    assert hidden_fields(form.text)["next"] == "/desk"


# desk_user and api_user


async def test_desk_user_sends_an_anonymous_reader_to_sign_in_and_back(client: httpx.AsyncClient) -> None:
    response = await client.get("/desk/probe/contributor", params={"a": "1"})
    assert response.status_code == 303
    assert response.headers["location"] == "/desk/login?next=%2Fdesk%2Fprobe%2Fcontributor%3Fa%3D1"
    assert response.headers["cache-control"] == "no-store"
    form = await client.get(response.headers["location"])
    assert hidden_fields(form.text)["next"] == "/desk/probe/contributor?a=1"
    posted = await client.post("/desk/probe/contributor", data={"csrf_token": "x"})
    assert posted.status_code == 401 and "<!doctype html>" in posted.text.lower()


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.CONTRIBUTOR, {Role.CONTRIBUTOR}),
        (Role.EDITOR, {Role.CONTRIBUTOR, Role.EDITOR}),
        (Role.ADMIN, {Role.CONTRIBUTOR, Role.EDITOR, Role.ADMIN}),
    ],
)
async def test_desk_user_lets_in_the_role_and_those_above_it(app: FastAPI, role: Role, allowed: set[Role]) -> None:
    async with signed_in_client(app, role) as signed:
        for needed in Role:
            got = await signed.client.get(f"/desk/probe/{needed}")
            posted = await signed.client.post(f"/desk/probe/{needed}", data={"csrf_token": signed.csrf_token})
            header = await signed.client.post(f"/desk/probe/{needed}", headers={"X-CSRF-Token": signed.csrf_token})
            expected = 200 if needed in allowed else 403
            assert got.status_code == posted.status_code == header.status_code == expected, (role, needed)
            if expected == 403:
                assert "<!doctype html>" in got.text.lower() and f"needs the {needed} role" in got.text


@pytest.mark.parametrize(
    ("data", "headers", "status"),
    [
        ({}, {}, 403),
        ({"csrf_token": "wrong"}, {}, 403),
        ({"csrf_token": "é"}, {}, 403),
        ({"csrf_token": "{csrf}"}, {"Origin": "https://evil.example"}, 403),
        ({"csrf_token": "{csrf}"}, {"Sec-Fetch-Site": "cross-site"}, 403),
        ({}, {"X-CSRF-Token": "wrong"}, 403),
        ({"csrf_token": "{csrf}"}, {}, 200),
        ({"csrf_token": "{csrf}"}, {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}, 200),
    ],
)
async def test_desk_user_checks_the_csrf_token_and_origin_on_changes(
    app: FastAPI, data: dict[str, str], headers: dict[str, str], status: int
) -> None:
    async with signed_in_client(app, Role.EDITOR) as editor:
        filled = {k: v.replace("{csrf}", editor.csrf_token) for k, v in data.items()}
        response = await editor.client.post("/desk/probe/editor", data=filled, headers=headers)
    assert response.status_code == status


async def test_api_user_wants_a_valid_bearer_token_of_a_high_enough_role(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    store = store_of(app)
    editor = api_token(store, Role.EDITOR, "ed")
    contributor = api_token(store, Role.CONTRIBUTOR)

    async def call(role: Role, authorization: str | None) -> httpx.Response:
        headers = {} if authorization is None else {"Authorization": authorization}
        return await client.post(f"/api/probe/{role}", headers=headers)

    ok = await call(Role.EDITOR, f"Bearer {editor}")
    assert ok.status_code == 200 and ok.json() == {"name": "ed"}
    assert (await call(Role.CONTRIBUTOR, f"bearer {editor}")).status_code == 200
    for authorization in (None, "", f"Basic {editor}", "Bearer", "Bearer not-a-token", "Bearer " + "x" * 5000):
        refused = await call(Role.EDITOR, authorization)
        assert refused.status_code == 401, authorization
        assert refused.headers["www-authenticate"].startswith("Bearer")
        assert refused.json()["error"]["code"] == "unauthorized"
    low = await call(Role.EDITOR, f"Bearer {contributor}")
    assert low.status_code == 403 and low.json()["error"]["code"] == "forbidden"

    accounts.set_user_disabled(store, "ed", True)
    assert (await call(Role.EDITOR, f"Bearer {editor}")).status_code == 401
    accounts.set_user_disabled(store, "ed", False)
    assert (await call(Role.EDITOR, f"Bearer {editor}")).status_code == 200
    for token in store.list_tokens("ed"):
        accounts.revoke_token(store, token.id)
    revoked = await call(Role.EDITOR, f"Bearer {editor}")
    assert revoked.status_code == 401 and revoked.headers["cache-control"] == "no-store"


async def test_a_session_cookie_is_no_api_token(app: FastAPI) -> None:
    async with signed_in_client(app, Role.ADMIN) as admin:
        assert (await admin.client.get("/api/probe/contributor")).status_code == 401


# the admins' pages


async def test_only_admins_see_the_users_page(app: FastAPI) -> None:
    for role in (Role.CONTRIBUTOR, Role.EDITOR):
        async with signed_in_client(app, role) as signed:
            assert (await signed.client.get("/desk/users")).status_code == 403
    async with signed_in_client(app, Role.ADMIN, name="root") as admin:
        page = await admin.client.get("/desk/users")
    assert page.status_code == 200 and "root" in page.text
    assert hidden_fields(page.text)["csrf_token"] == admin.csrf_token


async def test_admins_add_users_change_roles_and_disable_them_audited(app: FastAPI) -> None:
    store = store_of(app)
    async with signed_in_client(app, Role.ADMIN, name="root") as admin:

        async def act(path: str, **fields: str) -> httpx.Response:
            return await admin.client.post(path, data={"csrf_token": admin.csrf_token, **fields})

        added = await act("/desk/users", name="ana", role="contributor", password=PASSWORD)
        assert added.status_code == 200 and "Added ana (contributor)." in added.text
        assert PASSWORD not in added.text
        short = await act("/desk/users", name="bo", role="editor", password="short")
        assert short.status_code == 400 and "password too short" in short.text
        assert (await act("/desk/users", name="ana", role="editor", password="x" * 20)).status_code == 409
        assert (await act("/desk/users/role", name="ana", role="editor")).status_code == 200
        assert (await act("/desk/users/role", name="ana", role="owner")).status_code == 400
        assert (await act("/desk/users/role", name="root", role="editor")).status_code == 400
        assert (await act("/desk/users/disable", name="root")).status_code == 400
        assert (await act("/desk/users/disable", name="nobody")).status_code == 404

        async with signed_in_client(app, name="ana") as ana:
            assert (await ana.client.get("/desk/probe/editor")).status_code == 200
            assert (await act("/desk/users/disable", name="ana")).status_code == 200
            assert (await ana.client.get("/desk/probe/editor")).status_code == 303
        assert (await act("/desk/users/enable", name="ana")).status_code == 200
        # Without the token, nothing happens.
        assert (await admin.client.post("/desk/users/disable", data={"name": "ana"})).status_code == 403

    user = store.get_user("ana")
    assert user is not None and user.role is Role.EDITOR and not user.disabled
    entries = [(e.actor_name, e.action, e.target, e.before, e.after) for e in reversed(store.audit_entries())]
    assert entries == [
        ("root", "user.add", "user:ana", None, {"role": "contributor"}),
        ("root", "user.role", "user:ana", {"role": "contributor"}, {"role": "editor"}),
        ("root", "user.disable", "user:ana", {"disabled": False}, {"disabled": True}),
        ("root", "user.enable", "user:ana", {"disabled": True}, {"disabled": False}),
    ]


async def test_a_new_token_is_shown_once_and_can_be_revoked(app: FastAPI, client: httpx.AsyncClient) -> None:
    add_user(store_of(app), Role.EDITOR, "ana")
    async with signed_in_client(app, Role.ADMIN) as admin:
        created = await admin.client.post(
            "/desk/tokens", data={"csrf_token": admin.csrf_token, "name": "ana", "label": "newsroom bot"}
        )
        assert created.status_code == 200
        secret = re.search(r"<code>([^<]+)</code>", created.text)
        assert secret is not None
        headers = {"Authorization": f"Bearer {secret[1]}"}
        assert (await client.get("/api/probe/editor", headers=headers)).json() == {"name": "ana"}
        page = await admin.client.get("/desk/users")
        assert secret[1] not in page.text and "newsroom bot" in page.text
        token_id = hidden_fields(page.text.split('data-token="', 1)[1])["token"]
        revoked = await admin.client.post(
            "/desk/tokens/revoke", data={"csrf_token": admin.csrf_token, "token": token_id}
        )
        assert revoked.status_code == 200
        assert (
            await admin.client.post("/desk/tokens/revoke", data={"csrf_token": admin.csrf_token, "token": "x"})
        ).status_code == 400
    assert (await client.get("/api/probe/editor", headers=headers)).status_code == 401
    actions = [(e.action, e.target, e.after) for e in reversed(store_of(app).audit_entries())]
    assert actions == [
        ("token.create", f"token:{token_id}", {"user": "ana", "label": "newsroom bot"}),
        ("token.revoke", f"token:{token_id}", {"revoked": True}),
    ]


# secrets stay secret


async def test_the_password_is_in_no_log_record_and_no_database_column(
    app: FastAPI, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret_password = "the editor's very secret passphrase"
    store = store_of(app)
    async with signed_in_client(app, Role.ADMIN) as admin:
        await admin.client.post(
            "/desk/users",
            data={"csrf_token": admin.csrf_token, "name": "ana", "role": "editor", "password": secret_password},
        )
    assert (await login(client, "ana", secret_password + "?")).status_code == 401
    assert (await login(client, "ana", secret_password)).status_code == 303
    assert (
        await client.post(
            "/desk/login",
            content=b"password=" + secret_password.encode() + b"%ff&csrf_token=x",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    ).status_code == 403
    logged = "\n".join(record.getMessage() + str(record.args) + str(record.exc_text) for record in caplog.records)
    assert secret_password not in logged
    with store._read() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(sa.select(table)):
                assert not any(secret_password in str(value) for value in row), table.name


async def test_an_oversized_form_is_refused_without_echoing_it(client: httpx.AsyncClient) -> None:
    form = hidden_fields((await client.get("/desk/login")).text)
    password = "p" * 300_000
    response = await client.post("/desk/login", data={**form, "name": "ana", "password": password})
    assert response.status_code == 413 and password[:100] not in response.text


async def test_sign_in_works_over_a_real_server(app: FastAPI) -> None:
    add_user(store_of(app), Role.EDITOR, "ana")
    async with served(app) as base, httpx.AsyncClient(base_url=base) as browser:
        response = await login(browser, "ana", next="/desk/probe/editor", headers={"Origin": base})
        assert response.status_code == 303
        browser.cookies.set(SESSION_COOKIE, set_cookie(response, SESSION_COOKIE)[SESSION_COOKIE].value)
        assert (await browser.get("/desk/probe/editor")).json() == {"name": "ana"}


@pytest.mark.parametrize("trusted", ["127.0.0.0/8", ""])
async def test_behind_a_trusted_proxy_its_forwarded_scheme_and_address_count(database_url: str, trusted: str) -> None:
    async with (
        running_app(database_url, trusted_proxies=trusted) as app,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client,
    ):
        add_user(store_of(app), Role.EDITOR, "ana")
        for n in range(ADDRESS_FAILURES):
            forwarded = {"X-Forwarded-For": f"203.0.113.{n}"}
            assert (await login(client, f"user{n}", "the wrong password", headers=forwarded)).status_code == 401
        response = await login(client, "ana", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.99"})
        # Trusted, the proxy's readers are told apart; untrusted, its headers are ignored and it is one address.
        assert response.status_code == (303 if trusted else 429)
        if trusted:
            assert set_cookie(response, SESSION_COOKIE)[SESSION_COOKIE]["secure"]
        form = await client.get("/desk/login", headers={"X-Forwarded-Proto": "https"})
        assert bool(set_cookie(form, CSRF_COOKIE)[CSRF_COOKIE]["secure"]) is bool(trusted)


async def test_the_app_starts_under_uvicorn_with_its_lifespan_through_every_middleware(database_url: str) -> None:
    """As `livedesk serve` runs it: the lifespan messages pass the middleware too, which must let them through."""
    app = create_app(Settings(database_url=database_url, allowed_hosts=TEST_HOSTS))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, lifespan="on", log_level="critical", proxy_headers=False))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started and not task.done():
            await asyncio.sleep(0.01)
        assert server.started, "the lifespan failed"
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{sock.getsockname()[1]}") as client:
            assert (await client.get("/desk/login")).status_code == 200
            assert (await client.get("/")).status_code == 200
    finally:
        server.should_exit = True
        await task
        sock.close()
