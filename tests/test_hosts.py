"""Allowed host names: a request naming any other host is refused before a link, feed or JSON-LD is built from it."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from livedesk.config import Settings
from livedesk.web.app import SECURITY_HEADERS
from tests.web_fixtures import Desk, one_story, put, running_app, served

JSON_LD = re.compile(r'<script type="application/ld\+json">(.*?)</script>', re.S)
ABSOLUTE_URL = re.compile(r"https?://[^\s\"'<>]+")
# Absolute URLs of the articles themselves (their outlet's), not built from the request.
OUTLET = "https://harbor.example/"

REFUSED_HOSTS = [
    "evil.example",
    "evil.example:80",
    "testserver.evil.example",
    "testserver@evil.example",
    "evil.example#testserver",
    "testserver:80@evil.example",
    "testserver:",
    "testserver:port",
    "testserver:123456",
    "[::1]evil.example",
    "",
    "a" * 3000 + ".example",
    "testserver:" + "8" * 3000,
]


def _story(desk: Desk) -> int:
    return one_story(desk.store, [put(desk.store, "gates"), put(desk.store, "crane")])


def _paths(story_id: int) -> list[str]:
    return ["/", f"/stories/{story_id}", f"/stories/{story_id}/feed.atom", f"/stories/{story_id}/feed.json"]


@pytest.mark.parametrize("host", REFUSED_HOSTS)
async def test_pages_and_feeds_refuse_other_hosts_with_the_error_page(desk: Desk, host: str) -> None:
    for path in _paths(_story(desk)):
        response = await desk.client.get(path, headers={"Host": host})
        assert response.status_code == 400, path
        assert response.headers["content-type"].startswith("text/html"), path
        assert "<!doctype html>" in response.text.lower(), path
        assert host not in response.text or not host, path
        for name, value in SECURITY_HEADERS:
            assert response.headers[name.decode()] == value.decode(), path


@pytest.mark.parametrize("host", REFUSED_HOSTS)
async def test_the_api_refuses_other_hosts_in_its_json_error_shape(desk: Desk, host: str) -> None:
    response = await desk.client.get("/api/stories", headers={"Host": host})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("host", ["testserver", "testserver:8080", "TestServer", "127.0.0.1:8000"])
async def test_allowed_hosts_with_any_port_are_served(desk: Desk, host: str) -> None:
    story_id = _story(desk)
    for path in [*_paths(story_id), "/api/stories"]:
        assert (await desk.client.get(path, headers={"Host": host})).status_code == 200, path


async def test_feeds_and_json_ld_link_only_to_the_allowed_host_asked_for(desk: Desk) -> None:
    story_id = _story(desk)
    page = (await desk.client.get(f"/stories/{story_id}", headers={"Host": "testserver:8080"})).text
    (json_ld,) = JSON_LD.findall(page)
    assert json.loads(json_ld)["url"] == f"http://testserver:8080/stories/{story_id}"
    own = [
        *ABSOLUTE_URL.findall(json_ld),
        *ABSOLUTE_URL.findall((await desk.client.get(f"/stories/{story_id}/feed.atom")).text),
        *ABSOLUTE_URL.findall((await desk.client.get(f"/stories/{story_id}/feed.json")).text),
    ]
    built = [url for url in own if not url.startswith((OUTLET, "https://schema.org", "http://www.w3.org/"))]
    built = [url for url in built if not url.startswith("https://jsonfeed.org/")]
    assert built and all(url.startswith(("http://testserver:8080/", "http://testserver/")) for url in built), built


async def test_two_host_headers_are_refused(desk: Desk) -> None:
    request = desk.client.build_request("GET", "/api/stories")
    request.headers = httpx.Headers([("Host", "testserver"), ("Host", "evil.example")])
    assert (await desk.client.send(request)).status_code == 400


async def test_the_default_setting_serves_loopback_names_and_refuses_others(database_url: str) -> None:
    """What `livedesk serve` and `livedesk demo` do on 127.0.0.1: a browser on localhost or 127.0.0.1 is served."""
    async with (
        running_app(database_url, allowed_hosts=Settings().allowed_hosts) as app,
        served(app) as base,
        httpx.AsyncClient(base_url=base, timeout=10) as client,
    ):
        port = httpx.URL(base).port
        assert (await client.get("/")).status_code == 200
        for name in ["localhost", "127.0.0.1", "[::1]"]:
            assert (await client.get("/api/stories", headers={"Host": f"{name}:{port}"})).status_code == 200, name
        for name in ["testserver", "evil.example"]:
            assert (await client.get("/api/stories", headers={"Host": f"{name}:{port}"})).status_code == 400, name
