"""Search cost of a hostile query against a normal one, on SQLite and PostgreSQL.

A store with `--articles` articles (default 36, ~900 words each, every one holding the searched word) is built
in a temporary SQLite file and in a private PostgreSQL schema. The real app is served by uvicorn on 127.0.0.1
and asked `GET /api/search?q=WORD` (normal) and `q=` the same word repeated `--repeat` times (default 1,500,
the issue's reproduction), then `--distinct` different words that all occur in the articles. Printed per
backend and query: the status and the wall time of each request (median of `--rounds`); a request still
running after `--timeout` seconds is reported as such.

    python bench/hostile_search.py [--postgres URL] [--articles 36] [--repeat 1500] [--rounds 3] [--timeout 180]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import random
import secrets
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa
import uvicorn
from sqlalchemy.pool import NullPool

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from livedesk.config import Settings  # noqa: E402
from livedesk.models import Article  # noqa: E402
from livedesk.store import Store  # noqa: E402
from livedesk.web.app import create_app  # noqa: E402

WORD = "harbour"
VOCABULARY = [f"w{n}x" for n in range(400)]


def article(n: int, rng: random.Random) -> Article:
    words = [WORD if i % 40 == 0 else rng.choice(VOCABULARY) for i in range(900)]
    text = "\n\n".join(" ".join(words[i : i + 60]) + "." for i in range(0, len(words), 60))
    url = f"https://bench.example/news/{n}"
    return Article(
        url=url,
        canonical_url=url,
        url_hash=hashlib.sha256(url.encode()).hexdigest(),
        site="bench.example",
        title=f"Harbour report {n}",
        text=text,
        html=f"<p>{text}</p>",
        content_hash=hashlib.sha256(text.encode()).hexdigest(),
        first_seen_at=datetime.now(UTC),
        published_at=datetime.now(UTC) - timedelta(minutes=n),
        language="en",
    )


@contextmanager
def database(backend: str, postgres: str, directory: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{directory / 'bench.db'}"
        return
    schema = f"bench_{secrets.token_hex(6)}"
    admin = sa.create_engine(postgres, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        yield (
            sa.make_url(postgres)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@asynccontextmanager
async def served(url: str) -> AsyncIterator[str]:
    app = create_app(Settings(database_url=url))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="critical"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


async def timed(client: httpx.AsyncClient, q: str, rounds: int) -> str:
    times, status = [], ""
    for _ in range(rounds):
        start = time.perf_counter()
        try:
            response = await client.get("/api/search", params={"q": q})
        except httpx.TimeoutException:
            return f"still running after {client.timeout.read:.0f} s"
        times.append(time.perf_counter() - start)
        hits = len(response.json().get("items", [])) if response.status_code == 200 else 0
        status = f"{response.status_code} ({hits} hits)"
    return f"{status}  {statistics.median(times) * 1000:9.1f} ms"


async def run(args: argparse.Namespace) -> None:
    rng = random.Random(7)
    queries = {
        "normal": WORD,
        f"{WORD} x{args.repeat}": " ".join([WORD] * args.repeat),
        f"{args.distinct} distinct words": " ".join(VOCABULARY[: args.distinct]),
    }
    for backend in ("sqlite", "postgresql"):
        with tempfile.TemporaryDirectory() as directory, database(backend, args.postgres, Path(directory)) as url:
            with Store.open(url) as store:
                for n in range(args.articles):
                    store.upsert_article(article(n, rng))
            async with served(url) as base, httpx.AsyncClient(base_url=base, timeout=args.timeout) as client:
                for name, q in queries.items():
                    result = await timed(client, q, args.rounds)
                    print(f"{backend:10} {name:22} len(q)={len(q):6}  {result}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--articles", type=int, default=36)
    parser.add_argument("--repeat", type=int, default=1500)
    parser.add_argument("--distinct", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=180.0)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
