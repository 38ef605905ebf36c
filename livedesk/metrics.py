"""Prometheus metrics, defined once for every part that counts: the fetcher, the chain, the bus's announcer and
the web. Each process has its own figures (a `livedesk poll` process serves its own, see `serve_metrics`); the
web's /metrics adds the figures read from the database at scrape time, and, under `serve --workers N`, gathers
every web process's figures (prometheus-client's multiprocess mode, `multiprocess_directory`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, multiprocess, start_http_server
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

# prometheus-client's multiprocess mode: set (to an empty directory) before the processes start, every process
# writes its figures there and any of them can report all.
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"

FETCHES = Counter("livedesk_fetch_requests", "Fetcher.fetch() calls by outcome.", ["outcome"])

# From minutes (a polled feed) to days (an archive ingested late).
_LAG_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 86400, 604800)
INGEST_LAG = Histogram(
    "livedesk_ingest_lag_seconds",
    "From an article's publication (else its first sighting) to its announcement to live pages; new articles only.",
    buckets=_LAG_BUCKETS,
)
STAGE_SECONDS = Histogram(
    "livedesk_stage_seconds",
    "Time one article spends in one stage of the chain (store, syndication, entities, stories, enrich).",
    ["stage"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

SSE_CLIENTS = Gauge("livedesk_sse_clients", "Open live streams (server-sent events).", multiprocess_mode="livesum")
VIEW_BEACONS = Counter(
    "livedesk_view_beacons",
    "View beacons by result: counted, not_counted (inside the visitor's window), ignored (a bot or another "
    "site's page), limited (429), unknown (404), unavailable (503).",
    ["result"],
)
HTTP_REQUESTS = Counter(
    "livedesk_http_requests", "HTTP requests by method, route template and status.", ["method", "route", "status"]
)
HTTP_SECONDS = Histogram(
    "livedesk_http_request_duration_seconds",
    "From a request's arrival to the end of its response, by method and route template (an event stream lasts "
    "as long as its connection).",
    ["method", "route"],
)


class _Combined:
    """Metrics of this process (or of every process, in multiprocess mode) and `extra` collectors."""

    def __init__(self, extra: Iterable[Collector]) -> None:
        self._extra = list(extra)

    def collect(self) -> Iterator[Metric]:
        if os.environ.get(MULTIPROCESS_ENV):
            every_process = CollectorRegistry()
            multiprocess.MultiProcessCollector(every_process)
            yield from every_process.collect()
        else:
            yield from REGISTRY.collect()
        for collector in self._extra:
            yield from collector.collect()


def registry(*extra: Collector) -> _Combined:
    """What a scrape reports: the process's metrics and `extra` (e.g. figures read from the database)."""
    return _Combined(extra)


def mark_process_dead(pid: int) -> None:
    """In multiprocess mode, drop the live gauges of a process that stops (its counters stay in the totals)."""
    if os.environ.get(MULTIPROCESS_ENV):
        multiprocess.mark_process_dead(pid)


def serve_metrics(port: int, address: str = "127.0.0.1") -> None:
    """Serve this process's metrics at http://`address`:`port`/metrics from a background thread (a `livedesk poll`
    process, which has no web server of its own)."""
    start_http_server(port, addr=address)
