"""Serving speed at scale: the live page API and HTML under load, and SSE fan-out to thousands of readers.

A SQLite database with N synthetic articles (default 1,000,000; ~20k stories, a few with tens of thousands of
updates, a year of timestamps) is built once by bulk INSERTs and cached in the temp dir, keyed by N and the
schema revision. The real app then runs under uvicorn in subprocesses on 127.0.0.1 (1 or 2 workers sharing one
listening socket, as `uvicorn --workers` does), and so does a bare Starlette "hello" endpoint as the baseline,
measured in the same run with the same client. uvicorn picks httptools and uvloop when installed (printed).

- HTTP: `--requests` requests per endpoint at each `--concurrency` (httpx): requests/s, p50, p99.
  "Moderate load" is a fixed number of requests in flight: 4 and 16 (the defaults), each reported.
- SSE (one worker: the SQLite bus is in-process): N connections to one story's events stream; once the
  server's bus counts N subscribers, the server inserts one article into that story and publishes it on the
  app's own bus. Reported: time from publish until every client has the item.

The client shares the machine with the server: the load average is printed with the results.
DESIGN.md's bars: API p99 < 50 ms at moderate load; 5,000 SSE clients all receive an item within 1 s.

    python bench/serve.py [--articles N] [--requests R] [--concurrency 4 16] [--workers 1 2] [--sse 1000 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import itertools
import math
import os
import random
import resource
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from livedesk.models import Position  # noqa: E402
from livedesk.store import Store  # noqa: E402

console = Console()

STORIES = 20_000
OUTLETS = 200
YEAR = timedelta(days=365)
WORDS_PER_TEXT = 60
BATCH = 50_000
SETTLE_SECONDS = 3.0
MIGRATIONS = REPO / "livedesk" / "store" / "migrations" / "versions"
FTS_INSERT_TRIGGER = (
    "CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN "
    "INSERT INTO articles_fts(rowid, title, text) VALUES (new.id, new.title, new.text); END"
)


# -- the synthetic database ---------------------------------------------------------------------------------


def _vocabulary(rng: random.Random, size: int = 3000) -> list[str]:
    syllables = ["ka", "lo", "mer", "vin", "dra", "tes", "por", "al", "ni", "ost", "ru", "gem", "sha", "bel", "quo"]
    return ["".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))) for _ in range(size)]


def _sql_time(at: datetime) -> str:
    """How SQLAlchemy stores a UTC datetime in SQLite (naive, microseconds)."""
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


@dataclass(frozen=True)
class Corpus:
    """Deterministic synthetic articles: the i-th (1-based id) article's row, without building them all."""

    count: int
    end: datetime
    seed: int = 7

    def rows(self, start: int = 1, stop: int | None = None) -> Iterator[tuple[object, ...]]:
        rng = random.Random(f"{self.seed}:{start}")
        words = _vocabulary(random.Random(self.seed))
        # Zipf-like story sizes: story 1 holds ~10% of everything, hundreds of stories hold thousands.
        weights = list(itertools.accumulate(1.0 / rank for rank in range(1, STORIES + 1)))
        step = YEAR / max(self.count, 1)
        for article_id in range(start, (stop or self.count) + 1):
            story_id = rng.choices(range(1, STORIES + 1), cum_weights=weights)[0]
            yield self.row(article_id, story_id, rng, words, self.end - YEAR + step * article_id)

    @staticmethod
    def row(article_id: int, story_id: int, rng: random.Random, words: list[str], at: datetime) -> tuple[object, ...]:
        site = f"outlet{rng.randrange(OUTLETS)}.example"
        url = f"https://{site}/news/{article_id}"
        text = " ".join(rng.choices(words, k=WORDS_PER_TEXT)).capitalize() + "."
        title = f"Story {story_id}: " + " ".join(rng.choices(words, k=6))
        when = _sql_time(at)
        return (
            article_id,
            url,
            url,
            hashlib.sha256(url.encode()).hexdigest(),
            site,
            title,
            when,
            when,
            when,
            "en",
            text,
            f"<p>{text}</p>",
            hashlib.sha256(text.encode()).hexdigest(),
            story_id,
        )


INSERT_ARTICLE = (
    "INSERT INTO articles (id, url, canonical_url, url_hash, site, title, published_at, first_seen_at, updated_at,"
    " language, text, html, content_hash, story_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def schema_revision() -> str:
    """A digest of the migrations: a cached database is rebuilt whenever the schema may have changed."""
    digest = hashlib.sha256()
    for path in sorted(MIGRATIONS.glob("[0-9]*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def build_database(path: Path, corpus: Corpus) -> None:
    """Migrate an empty file, then bulk-load: indexes and the FTS trigger are dropped during the load and
    rebuilt once at the end (the same FTS content the trigger would have written)."""
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    Store.open(f"sqlite:///{partial}").close()
    db = sqlite3.connect(partial, isolation_level=None)
    db.executescript("PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF; PRAGMA cache_size=-500000;")
    indexes = [
        (name, sql)
        for name, sql in db.execute(
            "SELECT name, sql FROM sqlite_master WHERE type='index' AND tbl_name='articles' AND sql IS NOT NULL"
        )
    ]
    for name, _ in indexes:
        db.execute(f"DROP INDEX {name}")
    db.execute("DROP TRIGGER articles_fts_insert")
    started = time.perf_counter()
    rows = corpus.rows()
    loaded = 0
    while loaded < corpus.count:
        batch = [row for _, row in zip(range(BATCH), rows, strict=False)]
        db.execute("BEGIN")
        db.executemany(INSERT_ARTICLE, batch)
        db.execute("COMMIT")
        loaded += len(batch)
        console.print(f"  {loaded:,} articles ({time.perf_counter() - started:.0f} s)", end="\r")
    console.print()
    db.execute("BEGIN")
    for name, sql in indexes:
        console.print(f"  index {name}")
        db.execute(sql)
    console.print("  full-text index")
    db.execute("INSERT INTO articles_fts(articles_fts) VALUES ('rebuild')")
    db.execute(FTS_INSERT_TRIGGER)
    db.execute(
        "INSERT INTO stories (id, title, summary, first_seen, last_update, article_count, outlet_count,"
        " title_article_id, norm)"
        " SELECT s.story_id, a.title, '', s.first_seen, s.last_update, s.articles, s.outlets, s.first_id, 1.0"
        " FROM (SELECT story_id, min(sort_at) AS first_seen, max(sort_at) AS last_update, count(*) AS articles,"
        " count(DISTINCT site) AS outlets, min(id) AS first_id FROM articles GROUP BY story_id) AS s"
        " JOIN articles a ON a.id = s.first_id"
    )
    db.execute("COMMIT")
    # No ANALYZE: the app never runs it, and the plans must be the ones a real desk gets.
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    partial.rename(path)
    console.print(f"  built in {time.perf_counter() - started:.0f} s")


def cached_database(count: int) -> Path:
    folder = Path(tempfile.gettempdir()) / "livedesk-bench-serve"
    folder.mkdir(exist_ok=True)
    path = folder / f"articles-{count}-rev{schema_revision()}.db"
    if not path.exists():
        console.print(f"building {path} ({count:,} articles)")
        build_database(path, Corpus(count, datetime.now(UTC)))
    return path


# -- the servers (this script, run as a subprocess) ---------------------------------------------------------


def hello_app() -> object:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def hello(_request: object) -> PlainTextResponse:
        return PlainTextResponse("hello")

    return Starlette(routes=[Route("/", hello)])


async def _serve(kind: str, database: Path, fd: int) -> None:
    """Serve on the inherited listening socket `fd`; for livedesk, also obey `publish N STORY` lines on stdin:
    wait until the bus has N subscribers (and SETTLE_SECONDS more), insert one article into STORY, publish it
    on the app's bus, answer `published ID T` (T: time.monotonic() at publish, comparable across processes)."""
    import uvicorn

    from livedesk.config import Settings
    from livedesk.publish import Update
    from livedesk.web.app import create_app

    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    app = create_app(Settings(database_url=f"sqlite:///{database}")) if kind == "livedesk" else hello_app()
    config = uvicorn.Config(app, log_level="warning", backlog=4096)  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[socket.socket(fileno=fd)]))
    while not server.started:
        await asyncio.sleep(0.01)
    print(f"ready {config.http_protocol_class.__name__} {type(asyncio.get_running_loop()).__module__}", flush=True)
    if kind != "livedesk":
        await serving
        return
    loop = asyncio.get_running_loop()
    commands = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(commands), sys.stdin)
    while line := await commands.readline():
        _, wanted, story_id = line.decode().split()
        while app.state.bus.subscribers < int(wanted):
            await asyncio.sleep(0.01)
        # A stream subscribes before reading its backlog: let the last ones finish that read (it queues in the
        # thread pool), so what is measured is the fan-out, not the tail of the connection storm.
        await asyncio.sleep(SETTLE_SECONDS)
        article_id = await asyncio.to_thread(_insert_one, database, int(story_id))
        published = time.monotonic()
        await app.state.bus.publish(Update(article_id=article_id, story_id=int(story_id)))
        print(f"published {article_id} {published!r}", flush=True)
    server.should_exit = True
    await serving


def _insert_one(database: Path, story_id: int) -> int:
    """One new article in `story_id`, written as the bulk load writes them (the FTS trigger is back on)."""
    db = sqlite3.connect(database, isolation_level=None)
    try:
        db.execute("PRAGMA busy_timeout=5000")
        article_id = db.execute("SELECT max(id) + 1 FROM articles").fetchone()[0]
        rng = random.Random(article_id)
        words = _vocabulary(random.Random(Corpus.seed))
        db.execute(INSERT_ARTICLE, Corpus.row(article_id, story_id, rng, words, datetime.now(UTC)))
        return article_id
    finally:
        db.close()


@dataclass
class Server:
    processes: list[subprocess.Popen[str]]  # the workers; the first one takes `publish` commands
    base_url: str
    runtime: str  # uvicorn's HTTP protocol class and event loop

    @property
    def process(self) -> subprocess.Popen[str]:
        return self.processes[0]

    def stop(self) -> None:
        for process in self.processes:
            if process.stdin:
                process.stdin.close()
            process.terminate()
        for process in self.processes:
            process.wait(timeout=30)


def start_server(kind: str, database: Path, workers: int = 1) -> Server:
    """`workers` processes accepting on one listening socket, as `uvicorn --workers` runs them."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(4096)
    command = [sys.executable, __file__, "--role", kind, "--database", str(database), "--fd", str(sock.fileno())]
    processes = [
        subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, pass_fds=[sock.fileno()])
        for _ in range(workers)
    ]
    port = sock.getsockname()[1]
    sock.close()
    answers = [process.stdout.readline().split() for process in processes if process.stdout is not None]
    if any(not answer or answer[0] != "ready" for answer in answers):
        raise RuntimeError(f"the {kind} server did not start")
    return Server(processes, f"http://127.0.0.1:{port}", " + ".join(answers[0][1:]))


# -- HTTP load ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stats:
    name: str
    requests: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1)]


async def load(name: str, base_url: str, path: str, requests: int, concurrency: int) -> Stats:
    latencies: list[float] = []
    remaining = iter(range(requests))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as client:
        for _ in range(min(50, requests)):  # warm up: connections, caches
            (await client.get(path)).raise_for_status()

        async def worker() -> None:
            for _ in remaining:
                started = time.perf_counter()
                response = await client.get(path)
                latencies.append(time.perf_counter() - started)
                response.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return Stats(name, requests, time.perf_counter() - started, latencies)


# -- SSE fan-out --------------------------------------------------------------------------------------------


class _Reader(asyncio.Protocol):
    """One SSE client, as lean as it gets: notes when the headers arrive and when the first event does (the
    stream starts at the newest article, so the first event is the published one; checked afterwards)."""

    def __init__(self, request: bytes) -> None:
        self.request = request
        self.buffer = b""
        self.connected: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.received_at: float | None = None
        self.event = b""
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.transport.write(self.request)  # type: ignore[union-attr]

    def data_received(self, data: bytes) -> None:
        self.buffer = self.buffer[-64:] + data
        if not self.connected.done() and b"\r\n\r\n" in self.buffer:
            if not self.buffer.startswith(b"HTTP/1.1 200"):
                self.connected.set_exception(RuntimeError(self.buffer[:80].decode(errors="replace")))
                return
            self.connected.set_result(None)
        if self.connected.done() and self.received_at is None and b"id: " in self.buffer:
            self.received_at = time.monotonic()
            self.event = self.buffer
            self.done.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        for future in (self.connected, self.done):
            if not future.done():
                future.set_exception(ConnectionError("closed"))


@dataclass(frozen=True)
class Fanout:
    clients: int
    connect_seconds: float
    delays: list[float]  # seconds from publish to each client's receipt


async def fan_out(server: Server, story_id: int, clients: int) -> Fanout:
    loop = asyncio.get_running_loop()
    port = int(server.base_url.rsplit(":", 1)[1])
    request = (
        f"GET /stories/{story_id}/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n\r\n"
    ).encode()
    readers: list[_Reader] = []
    started = time.perf_counter()
    try:
        for offset in range(0, clients, 250):  # in waves: the listen backlog is finite
            wave = [_Reader(request) for _ in range(min(250, clients - offset))]
            readers += wave
            await asyncio.gather(*(loop.create_connection(lambda r=r: r, "127.0.0.1", port) for r in wave))
            await asyncio.gather(*(r.connected for r in wave))
        connect_seconds = time.perf_counter() - started
        assert server.process.stdin is not None and server.process.stdout is not None
        server.process.stdin.write(f"publish {clients} {story_id}\n")
        server.process.stdin.flush()
        _, article_id, published = (await asyncio.to_thread(server.process.stdout.readline)).split()
        await asyncio.wait_for(asyncio.gather(*(r.done for r in readers)), timeout=60)
        marker = f"id: {article_id}\r".encode()
        assert all(marker in r.event for r in readers), "a client received another event first"
        return Fanout(clients, connect_seconds, [r.received_at - float(published) for r in readers])  # type: ignore[operator]
    finally:
        for reader in readers:
            if reader.transport is not None:
                reader.transport.close()
        await asyncio.sleep(0.5)  # let the server notice the closed streams


# -- the run ------------------------------------------------------------------------------------------------


def deep_cursor(database: Path, story_id: int) -> str:
    """A cursor halfway down the story: keyset pagination must be as fast there as on the first page."""
    db = sqlite3.connect(database)
    try:
        count = db.execute("SELECT count(*) FROM articles WHERE story_id = ?", (story_id,)).fetchone()[0]
        at, article_id = db.execute(
            "SELECT sort_at, id FROM articles WHERE story_id = ? ORDER BY sort_at DESC, id DESC LIMIT 1 OFFSET ?",
            (story_id, count // 2),
        ).fetchone()
    finally:
        db.close()
    return Position(datetime.fromisoformat(at).replace(tzinfo=UTC), article_id).encode()


def story_sizes(database: Path) -> dict[int, int]:
    db = sqlite3.connect(database)
    try:
        return dict(db.execute("SELECT id, article_count FROM stories ORDER BY article_count DESC LIMIT 1"))
    finally:
        db.close()


async def run(args: argparse.Namespace) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if max(args.sse, default=0) + 100 > hard:
        raise SystemExit(f"open-files limit {hard} is too low for {max(args.sse)} SSE clients")
    database = cached_database(args.articles)
    [(big, big_size)] = story_sizes(database).items()
    cursor = deep_cursor(database, big)
    console.print(f"{args.articles:,} articles; story {big} has {big_size:,} updates; load average {_load()}")

    endpoints = (
        ("API updates, first page", f"/api/stories/{big}/updates"),
        ("API updates, deep cursor", f"/api/stories/{big}/updates?cursor={cursor}"),
        ("story page (HTML)", f"/stories/{big}"),
    )
    results: dict[tuple[int, int], list[Stats]] = {}
    runtime = ""
    for workers in args.workers:
        hello = start_server("hello", database, workers)
        try:
            for concurrency in args.concurrency:
                stats = await load("Starlette hello (baseline)", hello.base_url, "/", args.requests, concurrency)
                results[workers, concurrency] = [stats]
        finally:
            hello.stop()
        app = start_server("livedesk", database, workers)
        runtime = app.runtime
        try:
            for concurrency in args.concurrency:
                for name, path in endpoints:
                    stats = await load(name, app.base_url, path, args.requests, concurrency)
                    results[workers, concurrency].append(stats)
        finally:
            app.stop()
    app = start_server("livedesk", database)
    try:
        fanouts = [await fan_out(app, big, clients) for clients in args.sse]
    finally:
        app.stop()

    console.print(f"uvicorn: {runtime}; load average during the run: {_load()}")
    for (workers, concurrency), stats_list in results.items():
        title = f"HTTP, {workers} worker{'s' if workers > 1 else ''}, concurrency {concurrency}"
        table = Table("endpoint", "requests/s", "p50 ms", "p99 ms", title=title)
        for stats in stats_list:
            p50, p99 = stats.percentile(50) * 1000, stats.percentile(99) * 1000
            table.add_row(stats.name, f"{stats.rate:,.0f}", f"{p50:.1f}", f"{p99:.1f}")
        console.print(table)
    table = Table("SSE clients", "connect all s", "p50 ms", "max ms", title="one new item → every open stream")
    for fanout in fanouts:
        table.add_row(
            f"{fanout.clients:,}",
            f"{fanout.connect_seconds:.1f}",
            f"{statistics.median(fanout.delays) * 1000:.0f}",
            f"{max(fanout.delays) * 1000:.0f}",
        )
    console.print(table)
    for (workers, concurrency), stats_list in results.items():
        api_p99 = max(s.percentile(99) for s in stats_list if s.name.startswith("API"))
        verdict = "PASS" if api_p99 < 0.05 else "FAIL"
        console.print(
            f"bar: API p99 < 50 ms, {workers} worker(s), concurrency {concurrency} → {api_p99 * 1000:.1f} ms {verdict}"
        )
    for fanout in fanouts:
        if fanout.clients >= 5000:
            worst = max(fanout.delays)
            verdict = "PASS" if worst < 1.0 else "FAIL"
            console.print(f"bar: {fanout.clients:,} SSE clients within 1 s → {worst * 1000:.0f} ms {verdict}")


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1_000_000, help="synthetic articles in the database")
    parser.add_argument("--requests", type=int, default=2000, help="requests per HTTP endpoint")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[4, 16], help="requests in flight at once")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="server processes (HTTP runs)")
    parser.add_argument("--sse", type=int, nargs="*", default=[1000, 5000], help="SSE client counts")
    # The server side of the run (this script in a subprocess).
    parser.add_argument("--role", choices=["bench", "livedesk", "hello"], default="bench", help=argparse.SUPPRESS)
    parser.add_argument("--database", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--fd", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "bench":
        asyncio.run(run(args))
    else:
        import uvicorn

        # The event loop `uvicorn.run` would pick (uvloop when installed), as `livedesk serve` gets it.
        loop_factory = uvicorn.Config(hello_app).get_loop_factory()  # type: ignore[arg-type]
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            runner.run(_serve(args.role, args.database, args.fd))


if __name__ == "__main__":
    main()
