"""The whole chain, sources → fetch → extract → store, on real files, a real loopback server and real databases."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from io import BytesIO
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from livedesk.config import Settings
from livedesk.models import SourceKind
from livedesk.pipeline import Ingestor
from livedesk.store import Store
from livedesk.worker import seconds_until_next_poll

SITE = Path(__file__).parent / "data" / "pipeline" / "site"


def settings(**overrides: object) -> Settings:
    base = dict(allowed_networks="127.0.0.0/8", per_host_delay=0.0, retries=1, backoff_base=0.01, timeout=5.0)
    base.update(overrides)
    return Settings(**base)  # type: ignore[arg-type]


async def run(store: Store, targets: list[str], **overrides: object):
    async with Ingestor(store, settings(**overrides)) as ingestor:
        return await ingestor.ingest(targets)


def rss(base_url: str, links: list[str]) -> str:
    items = "".join(
        f"<item><title>Item {i}</title><link>{link}</link><description>Summary of item {i}: the feed's own short "
        f"text about it, kept when the page cannot be read.</description>"
        f"<pubDate>{format_datetime(datetime(2026, 3, 2 + i, 9, tzinfo=UTC))}</pubDate></item>"
        for i, link in enumerate(links)
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Riverside Gazette</title>'
        f"<link>{base_url}/</link><description>News</description>{items}</channel></rss>"
    )


async def test_html_files_and_directories_are_stored_once(store: Store, tmp_path: Path) -> None:
    report = await run(store, [str(SITE / "bridge-reopens.html")])
    assert report.outcomes["new"] == 1
    stored = next(store.iter_articles())
    assert stored.article.canonical_url == "https://riverside-gazette.example/news/old-mill-bridge-reopens"
    assert stored.article.byline == "Hannah Okafor"
    assert "Share this" not in stored.article.text and "Read more" not in stored.article.text

    report = await run(store, [str(SITE)])
    assert (report.outcomes["new"], report.outcomes["duplicate"]) == (2, 1)
    assert store.count_articles() == 3

    # The same page with changed text is an update, not a new article.
    changed = tmp_path / "bridge.html"
    changed.write_text((SITE / "bridge-reopens.html").read_text().replace("18 tonnes", "12 tonnes"), encoding="utf-8")
    report = await run(store, [str(changed)])
    assert report.outcomes["updated"] == 1
    assert store.count_articles() == 3


def write_warc(path: Path, records: list[tuple[str, str, bytes]]) -> None:
    with path.open("wb") as out:
        writer = WARCWriter(out, gzip=True)
        for uri, content_type, body in records:
            headers = StatusAndHeaders("200 OK", [("Content-Type", content_type)], protocol="HTTP/1.1")
            writer.write_record(
                writer.create_warc_record(
                    uri, "response", payload=BytesIO(body), length=len(body), http_headers=headers
                )
            )


async def test_warc_pages_are_stored_at_their_target_uri(store: Store, tmp_path: Path) -> None:
    warc = tmp_path / "crawl.warc.gz"
    write_warc(
        warc,
        [
            (
                "https://gazette.example/a",
                "text/html; charset=utf-8",
                (SITE / "council-budget.html").read_bytes(),
            ),
            ("https://gazette.example/logo.png", "image/png", b"\x89PNG\r\n\x1a\n"),
            ("https://gazette.example/b", "text/html", (SITE / "ferry-timetable.html").read_bytes()),
        ],
    )
    report = await run(store, [str(warc)])
    assert report.outcomes["new"] == 2, report.failures
    urls = sorted(a.article.url for a in store.iter_articles())
    assert urls == ["https://gazette.example/a", "https://gazette.example/b"]


async def test_local_files_and_warc_records_over_the_size_cap_fail_one_by_one(store: Store, tmp_path: Path) -> None:
    cap = 50_000
    padding = b"<!--" + b"x" * cap + b"-->"
    folder = tmp_path / "material"
    folder.mkdir()
    (folder / "bridge.html").write_bytes((SITE / "bridge-reopens.html").read_bytes())
    (folder / "huge.html").write_bytes((SITE / "council-budget.html").read_bytes() + padding)
    write_warc(
        folder / "crawl.warc.gz",
        [
            ("https://gazette.example/huge", "text/html", (SITE / "council-budget.html").read_bytes() + padding),
            ("https://gazette.example/ferry", "text/html", (SITE / "ferry-timetable.html").read_bytes()),
        ],
    )
    report = await run(store, [str(folder)], max_bytes=cap)
    assert report.outcomes["new"] == 2
    assert sorted(report.failures) == [
        (str(folder / "huge.html"), f"larger than the {cap}-byte limit (LIVEDESK_MAX_BYTES)"),
        ("https://gazette.example/huge", f"larger than the {cap}-byte limit (LIVEDESK_MAX_BYTES)"),
    ]


async def test_feed_url_pages_are_fetched_and_missing_pages_fall_back_to_the_summary(store: Store, http_server) -> None:
    http_server.add("/news/bridge", (SITE / "bridge-reopens.html").read_bytes(), headers={"Content-Type": "text/html"})
    http_server.add("/news/budget", (SITE / "council-budget.html").read_bytes(), headers={"Content-Type": "text/html"})
    links = [http_server.url("/news/bridge"), http_server.url("/news/budget"), http_server.url("/news/gone")]
    http_server.add("/feed.xml", rss(http_server.base_url, links), headers={"Content-Type": "application/rss+xml"})

    report = await run(store, [http_server.url("/feed.xml")])
    assert report.outcomes["new"] == 3
    assert any("/news/gone" in origin for origin, _ in report.warnings)
    by_url = {a.article.url: a.article for a in store.iter_articles()}
    assert by_url[links[2]].from_summary
    assert "kept when the page cannot be read" in by_url[links[2]].text
    assert not by_url[links[0]].from_summary

    # A second run reads the feed again but does not refetch pages it already holds in full.
    before = len(http_server.requests)
    report = await run(store, [http_server.url("/feed.xml")])
    assert report.outcomes["new"] == 0
    fetched = [r.path for r in http_server.requests[before:]]
    assert "/news/bridge" not in fetched and "/news/gone" in fetched


async def test_bad_targets_fail_clearly_and_do_not_stop_the_others(store: Store, http_server, tmp_path) -> None:
    http_server.add("/broken.xml", b"<rss><channel><title>x</ti", headers={"Content-Type": "application/rss+xml"})
    http_server.add("/page", (SITE / "ferry-timetable.html").read_bytes(), headers={"Content-Type": "text/html"})
    empty = tmp_path / "empty.html"
    empty.write_text("<html><body></body></html>")
    report = await run(
        store,
        [
            str(tmp_path / "missing.html"),
            "ftp://example.com/feed",
            http_server.url("/nothing-here"),
            http_server.url("/broken.xml"),
            str(empty),
            "http://10.1.2.3/feed.xml",
            http_server.url("/page"),
        ],
    )
    assert report.outcomes["new"] == 1
    assert report.outcomes["failed"] == 6
    reasons = " | ".join(reason for _, reason in report.failures)
    assert "404" in reasons and "10.1.2.3" in reasons
    assert all("\n" not in reason for _, reason in report.failures)


async def test_poll_uses_conditional_get_and_backs_off_failing_sources(store: Store, http_server) -> None:
    http_server.add("/news/bridge", (SITE / "bridge-reopens.html").read_bytes(), headers={"Content-Type": "text/html"})
    http_server.add(
        "/feed.xml",
        rss(http_server.base_url, [http_server.url("/news/bridge")]),
        headers={"Content-Type": "application/rss+xml"},
        etag='"v1"',
    )
    good, _ = store.add_source(http_server.url("/feed.xml"), SourceKind.FEED)
    bad, _ = store.add_source(http_server.url("/down.xml"), SourceKind.FEED)

    async def poll_due():
        async with Ingestor(store, settings(disable_after=2)) as ingestor:
            return await ingestor.poll(store.due_sources(datetime(2100, 1, 1, tzinfo=UTC)))

    report = await poll_due()
    assert report.outcomes["new"] == 1
    good_now = store.get_source(good.id)
    assert good_now.etag == '"v1"' and good_now.error_count == 0 and good_now.next_poll_at is not None
    bad_now = store.get_source(bad.id)
    assert bad_now.error_count == 1 and "404" in bad_now.last_error and not bad_now.disabled
    assert bad_now.next_poll_at > good_now.next_poll_at  # backed off beyond the normal interval

    await poll_due()
    feed_requests = [r for r in http_server.requests if r.path == "/feed.xml"]
    assert feed_requests[-1].headers.get("if-none-match") == '"v1"'
    bad_now = store.get_source(bad.id)
    assert bad_now.disabled and "404" in bad_now.disabled_reason
    assert store.count_articles() == 1
    assert seconds_until_next_poll(store.list_sources(), datetime.now(UTC), 900.0) > 0


def test_seconds_until_next_poll_is_zero_for_new_sources(store: Store) -> None:
    store.add_source("https://example.com/feed.xml")
    assert seconds_until_next_poll(store.list_sources(), datetime.now(UTC), 900.0) == 0.0
    assert seconds_until_next_poll([], datetime.now(UTC), 900.0) == 900.0


async def test_on_stored_announces_new_and_changed_articles_only(store: Store, tmp_path: Path) -> None:
    announced = []

    async def on_stored(stored, outcome):
        announced.append((stored.id, stored.article.url_hash, outcome.value))

    async def ingest(target: Path) -> None:
        async with Ingestor(store, settings(), on_stored=on_stored) as ingestor:
            await ingestor.ingest([str(target)])

    await ingest(SITE / "bridge-reopens.html")
    await ingest(SITE / "bridge-reopens.html")
    changed = tmp_path / "bridge.html"
    changed.write_text((SITE / "bridge-reopens.html").read_text().replace("18 tonnes", "12 tonnes"), encoding="utf-8")
    await ingest(changed)
    assert [outcome for _, _, outcome in announced] == ["new", "updated"]
    assert announced[0][:2] == announced[1][:2]


def _pages(folder: Path, count: int) -> Path:
    """`count` different article pages (one template, a different slug and sentence each) in `folder`."""
    folder.mkdir()
    template = (SITE / "council-budget.html").read_text()
    for i in range(count):
        page = template.replace("council-budget-library-hours", f"council-budget-{i}").replace(
            "four-hour debate", f"debate number {i}"
        )
        (folder / f"page{i:03}.html").write_text(page, encoding="utf-8")
    return folder


async def test_pages_extracted_in_worker_processes_are_stored_in_reading_order(store: Store, tmp_path: Path) -> None:
    pages = _pages(tmp_path / "pages", 12)
    seen: list[str] = []
    async with Ingestor(store, settings(extract_workers=2), on_item=seen.append) as ingestor:
        report = await ingestor.ingest([str(pages)])
    assert report.outcomes["new"] == 12 and not report.failures
    stored = list(store.iter_articles())
    assert [Path(s.article.url).name for s in stored] == [f"council-budget-{i}" for i in range(12)]
    assert seen == [s.article.url for s in stored]  # announced in reading order too
    # The same pages extracted in this process give the same articles.
    with Store.open(str(tmp_path / "serial.db")) as serial:
        async with Ingestor(serial, settings(extract_workers=1)) as ingestor:
            await ingestor.ingest([str(pages)])
        assert [s.article.text for s in serial.iter_articles()] == [s.article.text for s in stored]


def _descendants(pid: int) -> set[int]:
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process tree from /proc")
def test_killed_ingest_leaves_no_extraction_workers(tmp_path: Path) -> None:
    pages = _pages(tmp_path / "pages", 150)
    env = {**os.environ, "LIVEDESK_EXTRACT_WORKERS": "2"}
    db = tmp_path / "desk.db"
    proc = subprocess.Popen([sys.executable, "-m", "livedesk", "--db", str(db), "ingest", str(pages)], env=env)
    workers: set[int] = set()
    deadline = time.monotonic() + 60
    while len(workers) < 3 and time.monotonic() < deadline:  # the fork server and its two workers
        time.sleep(0.05)
        workers = {p for p in _descendants(proc.pid) if "forkserver" in Path(f"/proc/{p}/cmdline").read_text()}
    assert len(workers) >= 3
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 15
    while (alive := {p for p in workers if Path(f"/proc/{p}").exists()}) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not alive


async def test_extraction_and_the_chain_run_off_the_event_loop(store: Store) -> None:
    # The embedded setup serves live pages from the loop that ingests: it must keep turning while a page is
    # extracted and its article goes through the stages (NER, parsing, writes), not freeze until they end.
    wakeups = 0
    at_start: list[int] = []
    at_end: list[int] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal wakeups
        while not stop.is_set():
            await asyncio.sleep(0.001)
            wakeups += 1

    async def stored(_stored: object, _outcome: object) -> None:
        at_end.append(wakeups)

    ticking = asyncio.create_task(ticker())
    async with Ingestor(
        store, settings(extract_workers=1), on_item=lambda _o: at_start.append(wakeups), on_stored=stored
    ) as ingestor:
        await ingestor.ingest([str(SITE / "bridge-reopens.html")])
    stop.set()
    await ticking
    assert len(at_start) == len(at_end) == 1
    assert at_end[0] > at_start[0], "the event loop was blocked for the whole of extraction and processing"


async def test_unusable_url_targets_fail_with_the_reason_and_the_rest_go_on(store: Store) -> None:
    report = await run(
        store, ["http://", "https://exa mple.com/x", "ftp://example.com/feed", str(SITE / "bridge-reopens.html")]
    )
    reasons = dict(report.failures)
    assert "no host" in reasons["http://"]
    assert "space" in reasons["https://exa mple.com/x"]
    assert "not an http(s) URL" in reasons["ftp://example.com/feed"]
    assert report.outcomes["new"] == 1


async def test_an_opml_file_over_the_size_cap_is_refused_like_any_file(store: Store, tmp_path: Path) -> None:
    opml = tmp_path / "huge.opml"
    outline = '<outline type="rss" xmlUrl="https://feeds.example/{n}"/>'
    opml.write_text("<opml><body>" + "".join(outline.format(n=n) for n in range(2000)) + "</body></opml>")
    report = await run(store, [str(opml)], max_bytes=10_000)
    (reason,) = [reason for origin, reason in report.failures if origin == str(opml)]
    assert "larger than the 10000-byte limit" in reason
    assert report.outcomes["failed"] == 1
