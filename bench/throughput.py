"""Per-article cost of running an article through the whole chain (`process`), as the store grows.

    python bench/throughput.py [--size 10000 --size 100000 ...] [--timed 1000] [--workers 2] [--folder DIR]

For each size N, a SQLite store is bulk-loaded with N synthetic articles straight through its tables, with the rows
the stages would have written, computed by their own pure functions: LSH band keys (`index_keys`), document
frequencies (`features`), story centroids built article by article as `assign` builds them (`vectorize`, `centroid`),
and copy → original links. Then `--timed` more articles of the same stream (originals on many stories spread over
time, and copies of recent ones) go one by one through `process` (store → syndication → stories → enrich), as ingest
runs them, and the rate, p50 and p99 per article and the SQL statements per article are printed. Flat means the figures
at 100k and 1M stay within about 30% of the one at 10k.

The synthetic stream: 2,000 articles a day, a story every 8 articles on average, each open for two days; titles and
leads name the story's people and places, the rest is drawn from a Zipf-like vocabulary; 15% are copies of a recent
original (whole, or its first paragraphs) on another outlet that credits it. Band keys shared by more than
MAX_BAND_POSTINGS articles are not capped by the loader (unlike trace), which only matters for boilerplate.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from livedesk.models import Article, Evidence  # noqa: E402
from livedesk.pipeline import (  # noqa: E402
    process,
    stories,
    syndication,
)
from livedesk.store import Store  # noqa: E402
from livedesk.store.schema import articles  # noqa: E402
from livedesk.store.stories import DOCUMENT_COUNT, story_terms  # noqa: E402
from livedesk.store.stories import stories as stories_table  # noqa: E402
from tests.factories import make_article  # noqa: E402

T0 = datetime(2025, 1, 1, tzinfo=UTC)
PER_DAY = 2_000
STORY_EVERY = 8  # articles per story on average
OPEN_STORIES = 500  # a story takes articles for OPEN_STORIES × STORY_EVERY articles: two days
COPY_SHARE = 0.15
COPY_REACH = 400  # a copy republishes one of the articles that many before it
OUTLETS = 60
VOCABULARY = 30_000
SYLLABLES = [
    "ba",
    "ko",
    "ri",
    "mu",
    "te",
    "sa",
    "lo",
    "vi",
    "ne",
    "da",
    "pu",
    "ge",
    "ha",
    "zo",
    "fi",
    "tu",
    "ma",
    "ren",
    "sol",
    "dar",
    "vek",
]
SETTINGS = stories.DEFAULT


# -- the synthetic stream: article n is a pure function of n -------------------------------------------------


def _word(rank: int) -> str:
    syllables, rank = [], rank + 1
    while rank:
        rank, digit = divmod(rank, len(SYLLABLES))
        syllables.append(SYLLABLES[digit])
    return "".join(syllables)


def _story_of(n: int) -> int:
    rng = random.Random(n * 7919)
    return max(0, n // STORY_EVERY - rng.randrange(OPEN_STORIES))


def _story_words(story: int) -> tuple[list[str], list[str]]:
    """(names, topic words) of a story: capitalised names and a number, and words of the story's subject."""
    rng = random.Random(story)
    names = [_word(VOCABULARY + story * 4 + k).capitalize() for k in range(3)] + [str(rng.randrange(10, 5000))]
    return names, [_word(rng.randrange(200, VOCABULARY)) for _ in range(15)]


def _common(rng: random.Random, count: int) -> list[str]:
    return [_word(min(int(rng.paretovariate(0.8)) - 1, VOCABULARY - 1)) for _ in range(count)]


@dataclass(frozen=True)
class Item:
    n: int
    story: int
    article: Article
    copy_of: int | None  # the n of the original
    original_url: str | None = None


def _original_item(n: int, story: int, rng: random.Random) -> Item:
    names, topic = _story_words(story)
    title = " ".join(rng.sample(names, 3) + rng.sample(topic, 4)).capitalize()
    paragraphs = []
    for _ in range(rng.randint(3, 5)):
        words = _common(rng, 30) + rng.sample(topic, 6) + rng.sample(names, 3)
        rng.shuffle(words)
        paragraphs.append(words[0].capitalize() + " " + " ".join(words[1:]) + ".")
    site = f"outlet{rng.randrange(OUTLETS)}.example"
    return Item(n, story, _article(n, site, title, "\n\n".join(paragraphs), None), None)


def item(n: int) -> Item:
    rng = random.Random(n)
    story = _story_of(n)
    if n < 50 or rng.random() >= COPY_SHARE:
        return _original_item(n, story, rng)
    # A copy of one of the last few hundred articles (an original: copies of copies follow it).
    source = n - rng.randrange(1, COPY_REACH)
    while (original := item(source)).copy_of is not None:
        source = original.copy_of
    text = original.article.text
    if rng.random() < 0.4:
        text = "\n\n".join(text.split("\n\n")[:2])
    site = f"outlet{(int(original.article.site[6:].split('.')[0]) + rng.randrange(1, OUTLETS)) % OUTLETS}.example"
    article = _article(n, site, original.article.title, text, original.article.site)
    return Item(n, original.story, article, source, original.article.canonical_url)


def _article(n: int, site: str, title: str, text: str, attributed_to: str | None) -> Article:
    at = T0 + timedelta(seconds=n * 86_400 / PER_DAY)
    return make_article(
        f"https://www.{site}/news/{n}",
        text,
        title=title,
        html="",
        first_seen_at=at,
        published_at=at,
        attributed_to=attributed_to,
        language="en",
    )


@dataclass(frozen=True)
class Computed:
    """What the stages' pure functions make of one item (computed in worker processes)."""

    item: Item
    band_keys: list[int]
    raw: dict[str, float]  # story features, empty for a copy


def compute(n: int) -> Computed:
    it = item(n)
    sequence = syndication.shingle_sequence(it.article.text)
    keys = syndication.index_keys(sequence) if len(set(sequence)) >= syndication.MIN_SHINGLES else []
    raw = {} if it.copy_of is not None else stories.features(it.article.title, it.article.text, SETTINGS)
    return Computed(it, list(dict.fromkeys(keys)), raw)


# -- bulk load -------------------------------------------------------------------------------------------------


def _binder(table: sa.Table, names: Sequence[str]) -> tuple[str, Callable[[dict[str, Any]], tuple[Any, ...]]]:
    """An INSERT for `names` of `table`, and a function turning a row dict into its SQLite parameters (through
    each column's own bind processing, so datetimes are stored exactly as the store writes them)."""
    dialect = sa.create_engine("sqlite://").dialect
    processors = [table.c[name].type._cached_bind_processor(dialect) for name in names]
    sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"

    def bind(row: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(row[n] if p is None else p(row[n]) for n, p in zip(names, processors, strict=True))

    return sql, bind


@dataclass
class _OpenStory:
    id: int
    first_seen: datetime
    last_update: datetime
    title: str
    summary: str
    title_article_id: int
    centroid: dict[str, float] = field(default_factory=dict)
    articles: int = 0
    sites: set[str] = field(default_factory=set)


class BulkLoader:
    """Writes computed items in arrival order, keeping document frequencies and open stories' centroids in memory
    exactly as `assign` would leave them if every article joined its own story."""

    ARTICLE_COLUMNS = (
        "id",
        *(f.name for f in fields(Article)),
        "updated_at",
        "syndicated_from",
        "original_id",
        "syndication_evidence",
        "story_id",
    )

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection
        self.df: Counter[str] = Counter()
        self.documents = 0
        self.open: dict[int, _OpenStory] = {}
        self.closed: set[int] = set()  # stories already written
        self.bind_time = stories_table.c.last_update.type._cached_bind_processor(sa.create_engine("sqlite://").dialect)
        self.article_sql, self.article_row = _binder(articles, self.ARTICLE_COLUMNS)
        self.story_sql, self.story_row = _binder(
            stories_table,
            [c.name for c in stories_table.columns],
        )
        self.term_sql, self.term_row = _binder(story_terms, ["term", "story_id", "weight", "last_update"])

    def add(self, batch: list[Computed]) -> None:
        rows, bands = [], []
        for computed in batch:
            it, a = computed.item, computed.item.article
            story = self._join(computed)
            original = None if it.copy_of is None else it.copy_of + 1
            values = {name: getattr(a, name) for name in (f.name for f in fields(Article))}
            rows.append(
                self.article_row(
                    {
                        **values,
                        "id": it.n + 1,
                        "updated_at": a.first_seen_at,
                        "syndicated_from": it.original_url,
                        "original_id": original,
                        "syndication_evidence": None if original is None else Evidence.ATTRIBUTION.value,
                        "story_id": story,
                    }
                )
            )
            bands += [(key, it.n + 1) for key in computed.band_keys]
        self.connection.executemany(self.article_sql, rows)
        self.connection.executemany("INSERT INTO syndication_bands (band_key, article_id) VALUES (?, ?)", bands)
        # The oldest story a later article can still join: its own story's, or a copied original's.
        self._close_stories(batch[-1].item.n // STORY_EVERY - OPEN_STORIES - COPY_REACH // STORY_EVERY - 1)

    def _join(self, computed: Computed) -> int:
        it = computed.item
        a = it.article
        at = a.published_at or a.first_seen_at
        if it.story in self.closed:
            # A copy of a copy of … reached back to a story already written: count it there.
            self.connection.execute(
                "UPDATE stories SET article_count = article_count + 1, last_update = max(last_update, ?) WHERE id = ?",
                (self.bind_time(at), it.story + 1),
            )
            return it.story + 1
        story = self.open.get(it.story)
        if story is None:
            story = _OpenStory(
                it.story + 1, at, at, a.title, stories.summarize(a.text, SETTINGS.summary_chars), it.n + 1
            )
            self.open[it.story] = story
        if computed.raw:
            vector = stories.vectorize(computed.raw, self.documents, self.df)
            story.centroid = stories.centroid([story.centroid, vector], SETTINGS.centroid_terms)
            self.df.update(computed.raw.keys())
            self.documents += 1
        story.first_seen, story.last_update = min(story.first_seen, at), max(story.last_update, at)
        story.articles += 1
        story.sites.add(a.site)
        return story.id

    def _close_stories(self, before: int) -> None:
        """Write the stories that take no more articles."""
        done = [k for k in self.open if k < before]
        story_rows, term_rows = [], []
        for k in done:
            s = self.open.pop(k)
            self.closed.add(k)
            story_rows.append(
                self.story_row(
                    {
                        "id": s.id,
                        "title": s.title,
                        "summary": s.summary,
                        "first_seen": s.first_seen,
                        "last_update": s.last_update,
                        "article_count": s.articles,
                        "outlet_count": len(s.sites),
                        "title_article_id": s.title_article_id,
                        "norm": stories.norm(s.centroid),
                    }
                )
            )
            term_rows += [
                self.term_row({"term": t, "story_id": s.id, "weight": w, "last_update": s.last_update})
                for t, w in s.centroid.items()
            ]
        self.connection.executemany(self.story_sql, story_rows)
        self.connection.executemany(self.term_sql, term_rows)

    def finish(self) -> None:
        self._close_stories(sys.maxsize)
        self.connection.executemany(
            "INSERT INTO term_stats (term, df) VALUES (?, ?)",
            [*self.df.items(), (DOCUMENT_COUNT, self.documents)],
        )


def bulk_load(path: Path, size: int, workers: int, batch: int = 10_000) -> None:
    Store.open(str(path)).close()  # the schema
    connection = sqlite3.connect(path, isolation_level=None)
    # A throwaway file being filled: no journal, no syncs, a large page cache.
    for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-1000000", "foreign_keys=OFF"):
        connection.execute(f"PRAGMA {pragma}")
    loader = BulkLoader(connection)
    context = get_context("forkserver")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        for start in range(0, size, batch):
            computed = list(pool.map(compute, range(start, min(start + batch, size)), chunksize=250))
            connection.execute("BEGIN")
            loader.add(computed)
            connection.execute("COMMIT")
            print(f"\r  loaded {start + len(computed):,} of {size:,}", end="", file=sys.stderr, flush=True)
    connection.execute("BEGIN")
    loader.finish()
    connection.execute("COMMIT")
    connection.execute("PRAGMA journal_mode=WAL")
    connection.close()
    print(file=sys.stderr)


# -- timing ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    size: int
    seconds: list[float]
    statements: int
    load_seconds: float

    def row(self) -> str:
        ms = sorted(s * 1000 for s in self.seconds)
        p50, p99 = statistics.median(ms), ms[min(len(ms) - 1, round(0.99 * len(ms)))]
        rate = len(ms) / sum(self.seconds)
        return (
            f"{self.size:>10,} stored (loaded in {self.load_seconds:5.0f} s): {rate:6.1f} articles/s, "
            f"p50 {p50:6.2f} ms, p99 {p99:7.2f} ms, {self.statements / len(ms):5.1f} SQL statements per article"
        )


def ingest_one(store: Store, article: Article) -> None:
    """What the ingest does with each extracted article: the whole chain, `process`."""
    process(store, article)


def time_more(path: Path, size: int, timed: int) -> tuple[list[float], int]:
    more = [item(n).article for n in range(size, size + timed)]
    statements = 0

    def count(*_args: object) -> None:
        nonlocal statements
        statements += 1

    seconds = []
    with Store.open(str(path)) as store:
        for article in more[:20]:  # warm the connection pool and the statement caches
            ingest_one(store, article)
        sa.event.listen(store._engine, "before_cursor_execute", count)
        for article in more[20:]:
            start = time.perf_counter()
            ingest_one(store, article)
            seconds.append(time.perf_counter() - start)
    return seconds, statements


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/benchmarks"), help="unused: data is synthetic")
    parser.add_argument("--size", type=int, action="append", help="stored articles before timing (repeatable)")
    parser.add_argument("--timed", type=int, default=1_000, help="articles timed after the load")
    parser.add_argument("--rounds", type=int, default=1, help="timed rounds on copies of the loaded store; best kept")
    parser.add_argument("--workers", type=int, default=2, help="processes computing the rows of the load")
    parser.add_argument("--folder", type=Path, help="where to build the stores (default: a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.folder) as tmp:
        for size in args.size or [10_000, 100_000]:
            loaded = Path(tmp) / f"load-{size}.db"
            start = time.perf_counter()
            bulk_load(loaded, size, args.workers)
            load_seconds = time.perf_counter() - start
            best: Timing | None = None
            for _ in range(args.rounds):
                work = Path(tmp) / "timed.db"
                work.write_bytes(loaded.read_bytes())
                seconds, statements = time_more(work, size, args.timed)
                timing = Timing(size, seconds, statements, load_seconds)
                if best is None or sum(timing.seconds) < sum(best.seconds):
                    best = timing
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{work}{suffix}").unlink(missing_ok=True)
            assert best is not None
            print(best.row(), flush=True)
            loaded.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
