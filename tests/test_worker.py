"""The poll loop's scheduler: leases, so several pollers on one database never poll the same source."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from livedesk.config import Settings
from livedesk.pipeline import IngestReport
from livedesk.store import Store
from livedesk.worker import poll_forever, seconds_until_next_poll

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
LEASE = timedelta(minutes=15)


def _sources(store: Store, count: int) -> list[int]:
    return [store.add_source(f"https://feeds{n}.example/rss")[0].id or 0 for n in range(count)]


def test_a_leased_source_is_not_leased_again_until_its_lease_runs_out(store: Store) -> None:
    (source,) = _sources(store, 1)
    assert [s.id for s in store.lease_due_sources(T0, lease=LEASE)] == [source]
    assert store.lease_due_sources(T0 + timedelta(minutes=1), lease=LEASE) == []
    # Its poller died without reporting: the source comes due again once the lease ends.
    assert [s.id for s in store.lease_due_sources(T0 + LEASE, lease=LEASE)] == [source]


def test_reporting_a_poll_releases_the_lease(store: Store) -> None:
    ok, failing = _sources(store, 2)
    store.lease_due_sources(T0, lease=LEASE)
    store.record_poll_success(ok, polled_at=T0, next_poll_at=T0, etag=None, last_modified=None)
    store.record_poll_failure(failing, polled_at=T0, error="boom", next_poll_at=T0, disable_after=10)
    assert {s.id for s in store.lease_due_sources(T0, lease=LEASE)} == {ok, failing}


def test_concurrent_pollers_lease_disjoint_sources(database_url: str, tmp_path: Path) -> None:
    with Store.open(database_url) as store:
        all_ids = set(_sources(store, 40))
    leased: list[list[int]] = []
    start = threading.Barrier(4)

    def poller() -> None:
        with Store.open(database_url) as own:
            start.wait()
            mine: list[int] = []
            while batch := own.lease_due_sources(T0, lease=LEASE, limit=3):
                mine.extend(s.id or 0 for s in batch)
            leased.append(mine)

    threads = [threading.Thread(target=poller) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    every = [i for mine in leased for i in mine]
    assert len(leased) == 4
    assert sorted(every) == sorted(all_ids), "each source leased exactly once"


def test_the_loop_sleeps_until_a_leased_source_is_free_again(store: Store) -> None:
    _sources(store, 1)
    store.lease_due_sources(T0, lease=LEASE)
    wait = seconds_until_next_poll(store.list_sources(), T0, 900.0)
    assert wait == LEASE.total_seconds()


async def test_the_poll_loop_reads_robots_txt_once_across_rounds(store: Store, http_server) -> None:
    http_server.add("/robots.txt", "User-agent: *\nAllow: /\n", headers={"Content-Type": "text/plain"})
    http_server.add("/feed.xml", EMPTY_RSS, headers={"Content-Type": "application/rss+xml"})
    store.add_source(http_server.url("/feed.xml"))
    rounds: list[IngestReport] = []
    settings = Settings(allowed_networks="127.0.0.0/8", per_host_delay=0.0, poll_interval=0.0, retries=0)

    def count_rounds(report: IngestReport, _wait: float) -> None:
        rounds.append(report)
        if len(rounds) == 3:
            raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(poll_forever(store, None, settings, on_round=count_rounds), timeout=60)
    feed_requests = [r for r in http_server.requests if r.path == "/feed.xml"]
    robots_requests = [r for r in http_server.requests if r.path == "/robots.txt"]
    assert len(feed_requests) == 3
    assert len(robots_requests) == 1


EMPTY_RSS = (
    '<?xml version="1.0"?><rss version="2.0"><channel><title>Empty</title><link>http://127.0.0.1/</link>'
    "<description>nothing yet</description></channel></rss>"
)
