"""Search cost of a hostile query against a normal one, on SQLite and PostgreSQL.

A store with `--articles` articles (default 36, ~900 words each, every one holding the searched word and
every word of a 60-word vocabulary) is built in a temporary SQLite file and in a private PostgreSQL schema.
The real app is served by uvicorn on 127.0.0.1 and asked `GET /api/search?q=`: one word (normal); that word
repeated `--repeat` times (default 1,500, the issue's reproduction; 0 skips it); repeated 62 times (the
longest query accepted); 16 different words (the most accepted); 200 different words. Printed per backend
and query: the status, hits and wall time per request (median of `--rounds`); a request still running after
`--timeout` seconds is reported as such. The normal and the repeated query are also sent straight to
`Store.search`, past the web's length check: the store bounds the words it sends the database by itself.

    python bench/hostile_search.py [--postgres URL] [--articles 36] [--repeat 1500] [--rounds 5] [--timeout 180]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from livedesk.models import Article, SearchFilter  # noqa: E402
from livedesk.store import Store  # noqa: E402
from tests.factories import make_article  # noqa: E402
from tests.web_fixtures import running_app, served  # noqa: E402

WORD = "harbour"
VOCABULARY = [f"w{n}x" for n in range(60)]


def article(n: int) -> Article:
    words = [WORD if i % 40 == 0 else VOCABULARY[(i * 7 + n) % len(VOCABULARY)] for i in range(900)]
    text = "\n\n".join(" ".join(words[i : i + 60]) + "." for i in range(0, len(words), 60))
    return make_article(
        f"https://bench.example/news/{n}",
        text,
        title=f"Harbour report {n}",
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
    queries = {
        "normal": WORD,
        f"{WORD} x{args.repeat}": " ".join([WORD] * args.repeat),
        f"{WORD} x62": " ".join([WORD] * 62),
        "16 distinct words": " ".join(VOCABULARY[:16]),
        "200 distinct words": " ".join(f"w{n}x" for n in range(200)),
    }
    if not args.repeat:
        del queries[f"{WORD} x0"]
    for backend in ("sqlite", "postgresql"):
        with tempfile.TemporaryDirectory() as directory, database(backend, args.postgres, Path(directory)) as url:
            with Store.open(url) as store:
                for n in range(args.articles):
                    store.upsert_article(article(n))
                if args.repeat:
                    # The store's own bound, past the web's 422: the query sent straight to the store.
                    for name in ("normal", f"{WORD} x{args.repeat}"):
                        q = queries[name]
                        times = []
                        for _ in range(args.rounds):
                            start = time.perf_counter()
                            hits = len(store.search(SearchFilter(q), q).page.items)
                            times.append(time.perf_counter() - start)
                        median = statistics.median(times) * 1000
                        print(f"{backend:10} {name:22} store.search direct  ({hits} hits)  {median:9.1f} ms")
            async with (
                running_app(url) as app,
                served(app) as base,
                httpx.AsyncClient(base_url=base, timeout=args.timeout) as client,
            ):
                for name, q in queries.items():
                    result = await timed(client, q, args.rounds)
                    print(f"{backend:10} {name:22} len(q)={len(q):6}  {result}", flush=True)
    print("load average (1, 5, 15 min): {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--articles", type=int, default=36)
    parser.add_argument("--repeat", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=180.0)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
