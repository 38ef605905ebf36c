"""Database work per stored article through the whole chain: SQL statements, transactions, connection checkouts.

The scrapinghub pages (one HTML file each) are ingested into a fresh database through `Ingestor`, as
`livedesk ingest DIR` does, while SQLAlchemy's events count what reaches the database. The baseline row is the same
count for storing the same extracted articles with one upsert each and nothing else: the floor of storing them.

    python bench/chain_cost.py [--data ../shared/benchmarks] [--limit N] [--db sqlite|postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import secrets
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from livedesk.config import Settings  # noqa: E402
from livedesk.pipeline import Ingestor  # noqa: E402
from livedesk.store import Store  # noqa: E402

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@contextmanager
def database(kind: str, folder: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'bench.db'}"
        return
    schema = f"bench_{secrets.token_hex(6)}"
    admin = sa.create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{POSTGRES}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@contextmanager
def counting(engine: sa.Engine) -> Iterator[Counter[str]]:
    counts: Counter[str] = Counter()

    def statement(*_args: Any) -> None:
        counts["statements"] += 1

    def begin(*_args: Any) -> None:
        counts["transactions"] += 1

    def checkout(*_args: Any) -> None:
        counts["checkouts"] += 1

    sa.event.listen(engine, "before_cursor_execute", statement)
    sa.event.listen(engine, "begin", begin)
    sa.event.listen(engine.pool, "checkout", checkout)
    try:
        yield counts
    finally:
        sa.event.remove(engine, "before_cursor_execute", statement)
        sa.event.remove(engine, "begin", begin)
        sa.event.remove(engine.pool, "checkout", checkout)


def write_pages(data: Path, folder: Path, limit: int) -> int:
    root = data / "scrapinghub-article-extraction"
    keys = list(json.loads((root / "ground-truth.json").read_text(encoding="utf-8")))[:limit]
    for key in keys:
        (folder / f"{key}.html").write_bytes(gzip.decompress((root / "html" / f"{key}.html.gz").read_bytes()))
    return len(keys)


async def ingest(store: Store, folder: Path) -> dict[str, int]:
    async with Ingestor(store, Settings(extract_workers=1)) as ingestor:
        report = await ingestor.ingest([str(folder)])
    return dict(report.outcomes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "benchmarks")
    parser.add_argument("--limit", type=int, default=60)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "pages"
        folder.mkdir()
        write_pages(args.data, folder, args.limit)
        with database(args.db, Path(tmp)) as url, Store.open(url) as store:
            engine = store._engine
            with counting(engine) as chain:
                outcomes = asyncio.run(ingest(store, folder))
            stored = store.count_articles()
            extracted = [s.article for s in store.iter_articles()]
        with (
            database(args.db, Path(tmp) / "pages") as url,
            Store.open(url) as store,
            counting(store._engine) as baseline,
        ):
            for article in extracted:
                store.upsert_article(article)
    table = Table("per stored article", "statements", "transactions", "connection checkouts")
    for name, counts in ((f"whole chain ({args.db})", chain), ("upsert only (baseline)", baseline)):
        table.add_row(name, *(f"{counts[k] / stored:.1f}" for k in ("statements", "transactions", "checkouts")))
    Console().print(f"{stored} articles stored; outcomes {outcomes}")
    Console().print(table)


if __name__ == "__main__":
    main()
