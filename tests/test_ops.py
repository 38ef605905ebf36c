"""Operations: /metrics, /healthz, /readyz on the real app and databases, and JSON log lines."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from livedesk.config import Settings
from livedesk.logs import JsonFormatter, logging_config
from livedesk.models import SourceKind
from livedesk.pipeline import Ingestor
from livedesk.publish import announcer
from livedesk.web.ops import UNMATCHED_ROUTE
from tests.factories import make_article
from tests.fixtures_http import LoopbackServer
from tests.web_fixtures import Desk, put, running_app, served, subscribed

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
ARTICLE_HTML = (
    "<html><head><title>Harbour reopens after the storm</title></head><body><article>"
    "<h1>Harbour reopens after the storm</h1>"
    + "".join(
        f"<p>Paragraph {n}: the harbour authority said the quays were inspected overnight and ferries would run "
        "again from the morning, with extra crossings to clear the queue of lorries waiting since Tuesday.</p>"
        for n in range(6)
    )
    + "</article></body></html>"
)

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(client: httpx.AsyncClient, **headers: str) -> Samples:
    response = await client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_health_and_readiness_answer_on_both_databases(desk: Desk) -> None:
    health = await desk.client.get("/healthz")
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    ready = await desk.client.get("/readyz")
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
    assert "/healthz" not in (await desk.client.get("/openapi.json")).json()["paths"]


async def test_readiness_fails_when_the_schema_is_behind(desk: Desk, database_url: str) -> None:
    engine = sa.create_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("UPDATE alembic_version SET version_num = '0001'")
        ready = await desk.client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json() == {"status": "unavailable", "reason": "the database schema is not at the latest migration"}
    finally:
        engine.dispose()


class _ClosableProxy:
    """A TCP relay from a loopback port to PostgreSQL, in its own threads: `close()` drops every connection and the
    port, as a database that went away does."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            self.sockets += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for end in (source, sink):
            with suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        for connection in (self.listener, *self.sockets):  # a shutdown, not a close alone, wakes a blocked accept()
            with suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()


@contextmanager
def closable_proxy(database_url: str) -> Iterator[tuple[_ClosableProxy, str]]:
    url = sa.make_url(database_url)
    proxy = _ClosableProxy((url.host or "127.0.0.1", url.port or 5432))
    try:
        yield proxy, url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    finally:
        proxy.close()


@pytest.mark.postgres
async def test_readiness_fails_when_postgresql_goes_away(postgres_url: str) -> None:
    with closable_proxy(postgres_url) as (proxy, through_proxy):
        async with (
            running_app(through_proxy) as app,
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client,
        ):
            assert (await client.get("/readyz")).status_code == 200
            proxy.close()
            ready = await client.get("/readyz")
            assert ready.status_code == 503
            assert ready.json() == {"status": "unavailable", "reason": "the database cannot be reached"}
            health = await client.get("/healthz")
            assert health.status_code == 200  # the process itself is fine


async def test_metrics_follow_fetches_ingest_beacons_and_streams(
    database_url: str, http_server: LoopbackServer
) -> None:
    http_server.add("/harbour", ARTICLE_HTML, headers={"Content-Type": "text/html; charset=utf-8"})
    settings = Settings(
        database_url=database_url, allowed_networks="127.0.0.0/8", per_host_delay=0.0, extract_workers=1, retries=0
    )
    async with (
        running_app(database_url) as app,
        served(app) as base,
        httpx.AsyncClient(base_url=base, timeout=10) as client,
    ):
        store, bus = app.state.store, app.state.bus
        before = await scrape(client)

        # Queue figures, read from the database at scrape time.
        store.add_source("https://wire.example/feed.xml", SourceKind.FEED)
        store.upsert_article(make_article("https://wire.example/waiting"))  # stored, no stage run yet
        # A fetch, the chain's stages and the announcement of a new article.
        async with Ingestor(store, settings, on_stored=announcer(bus)) as ingestor:
            await ingestor.ingest([http_server.url("/harbour"), http_server.url("/missing")])
        assert (ingestor.report.outcomes["resumed"], ingestor.report.outcomes["new"]) == (1, 1), ingestor.report
        after = await scrape(client)
        assert value(after, "livedesk_sources_due") == value(before, "livedesk_sources_due") + 1 == 1
        assert value(after, "livedesk_articles_unprocessed") == 0  # the ingest completed the waiting one
        for outcome, more in (("ok", 1), ("http_status", 1)):
            name = "livedesk_fetch_requests_total"
            assert value(after, name, outcome=outcome) >= value(before, name, outcome=outcome) + more
        lag = "livedesk_ingest_lag_seconds_count"
        assert value(after, lag) >= value(before, lag) + 1
        for stage in ("store", "syndication", "entities", "stories", "enrich"):
            name = "livedesk_stage_seconds_count"
            assert value(after, name, stage=stage) >= value(before, name, stage=stage) + 1

        # View beacons: counted, then inside the window, then a robot's.
        article = put(store, "beacon")
        beacon = f"/api/views/{article.id}"
        assert (await client.post(beacon, headers={"user-agent": BROWSER})).status_code == 202
        assert (await client.post(beacon, headers={"user-agent": BROWSER})).status_code == 202
        assert (await client.post(beacon, headers={"user-agent": "Googlebot/2.1"})).status_code == 204
        assert (await client.post("/api/views/999999", headers={"user-agent": BROWSER})).status_code == 404
        beacons = await scrape(client)
        for result in ("counted", "not_counted", "ignored", "unknown"):
            name = "livedesk_view_beacons_total"
            assert value(beacons, name, result=result) == value(after, name, result=result) + 1, result

        # An open live stream is counted while it lasts.
        streams = value(beacons, "livedesk_sse_clients")
        async with client.stream("GET", f"/stories/{article.story_id}/events") as response:
            assert response.status_code == 200
            await subscribed(bus)
            assert value(await scrape(client), "livedesk_sse_clients") == streams + 1
        async with asyncio.timeout(10):
            while value(await scrape(client), "livedesk_sse_clients") != streams:  # the server notices the close
                await asyncio.sleep(0.01)
        # Requests by route template, with their status.
        requests = await scrape(client)
        route = "/stories/{story_id}/events"
        assert value(requests, "livedesk_http_requests_total", method="GET", route=route, status="200") >= 1
        assert value(requests, "livedesk_http_request_duration_seconds_count", method="GET", route="/metrics") >= 1


async def test_request_labels_stay_bounded_whatever_the_paths(desk: Desk) -> None:
    article = put(desk.store, "labels")
    for _ in range(25):
        await desk.client.get(f"/{secrets.token_hex(8)}/{secrets.token_hex(4)}")
        await desk.client.request(secrets.token_hex(3).upper(), "/")
    for article_id in (article.id, article.id + 1000, article.id + 2000):
        await desk.client.get(f"/api/articles/{article_id}")
    samples = await scrape(desk.client)
    series = {dict(labels)["route"] for (name, labels) in samples if name == "livedesk_http_requests_total"}
    assert UNMATCHED_ROUTE in series
    assert all(route == UNMATCHED_ROUTE or (route.startswith("/") and len(route) < 60) for route in series)
    assert not any(article_id in route for route in series for article_id in (str(article.id), "1000"))
    methods = {dict(labels)["method"] for (name, labels) in samples if name == "livedesk_http_requests_total"}
    assert methods <= {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"}


async def test_metrics_are_for_this_machine_or_a_token_holder(database_url: str) -> None:
    async def status(app: object, peer: str, **headers: str) -> int:
        transport = httpx.ASGITransport(app=app, client=(peer, 40000))  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return (await client.get("/metrics", headers=headers)).status_code

    async with running_app(database_url, trusted_proxies="10.0.0.0/8") as app:
        assert await status(app, "127.0.0.1") == 200
        assert await status(app, "::1") == 200
        assert await status(app, "203.0.113.9") == 403
        # A loopback peer relaying someone else (a proxy nobody declared) is not this machine.
        assert await status(app, "127.0.0.1", **{"x-forwarded-for": "203.0.113.9"}) == 403
        # A declared proxy relaying a reader elsewhere, or this machine.
        assert await status(app, "10.0.0.2", **{"x-forwarded-for": "203.0.113.9"}) == 403
        assert await status(app, "10.0.0.2", **{"x-forwarded-for": "127.0.0.1"}) == 200
    token = secrets.token_urlsafe(16)
    async with running_app(database_url, metrics_token=token) as app:
        assert await status(app, "127.0.0.1") == 401
        assert await status(app, "203.0.113.9", authorization="Bearer wrong") == 401
        assert await status(app, "203.0.113.9", authorization=f"Bearer {token}") == 200


def test_json_log_lines_carry_the_records_fields() -> None:
    logger = logging.getLogger("livedesk.test")
    record = logger.makeRecord(
        logger.name, logging.WARNING, __file__, 1, "polling source %d failed", (7,), None,
        extra={"source_id": 7, "url": "https://wire.example/feed.xml", "outcome": "timeout"},
    )  # fmt: skip
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry.pop("time").endswith("+00:00")
    assert entry == {
        "level": "WARNING",
        "logger": "livedesk.test",
        "message": "polling source 7 failed",
        "source_id": 7,
        "url": "https://wire.example/feed.xml",
        "outcome": "timeout",
    }
    with pytest.raises(ValueError, match="LIVEDESK_LOG_FORMAT"):
        logging_config("yaml")


def test_a_poll_logs_json_lines_with_the_source_and_outcome(tmp_path: Path, http_server: LoopbackServer) -> None:
    db = tmp_path / "desk.db"
    env = {
        **os.environ,
        "LIVEDESK_LOG_FORMAT": "json",
        "LIVEDESK_ALLOWED_NETWORKS": "127.0.0.0/8",
        "LIVEDESK_RETRIES": "0",
        "COLUMNS": "200",
    }

    def livedesk(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "livedesk", "--db", str(db), *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, env=env, check=True)

    feed = http_server.url("/gone.xml")  # nothing there: 404
    livedesk("sources", "add", feed)
    polled = livedesk("poll", "--once")
    entries = [json.loads(line) for line in polled.stderr.splitlines() if line.startswith("{")]
    [failure] = [entry for entry in entries if entry["logger"] == "livedesk.pipeline.ingest"]
    assert failure["level"] == "WARNING"
    assert (failure["source_id"], failure["url"], failure["outcome"]) == (1, feed, "http_status")
    assert "404" in failure["message"]
