"""Syndication tracing: pairwise precision/recall of copy → original links, and cost per article as the store grows.

    python bench/syndication.py [--data ../shared/benchmarks] [--seed 7] [--scale N ...]

The labelled set is built here, deterministically from the seed:

* originals: the demo corpus' originals, rendered and run through extract(); plus, when --data holds ECB+
  (ecbplus/), its 982 news documents (real reports, many on the same event: hard negatives for free);
* the demo corpus' own copies (rendered and extracted: attribution lines, a cross-site canonical, truncation);
* generated copies of every original, two variant kinds each, from: truncated to the first quarter, a paragraph
  dropped, paragraphs reordered, new headline, typos, boilerplate added, attribution removed, and all of
  truncation + typos + boilerplate + new headline at once;
* hard negatives: originals of the same story, and demo originals given a quote from another original of
  their story.

Everything is ingested in a shuffled order (copies often before their originals) into a temporary SQLite store
through Store.upsert_article + trace. A predicted pair is (article, the original it is linked to); a gold pair is
(copy, its original). Pairwise precision and recall are over those pairs. Bars: precision ≥ 0.99, recall ≥ 0.95.

--scale N (repeatable) measures the cost per article as the store grows: N synthetic articles are bulk-loaded
(with their real band keys), then 1,000 more (half of them copies of stored ones) go through upsert + trace.
"""

from __future__ import annotations

import argparse
import difflib
import itertools
import random
import re
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from livedesk.demo import DemoSite  # noqa: E402
from livedesk.models import Article, Page, UpsertOutcome  # noqa: E402
from livedesk.pipeline.extract import content_hash, extract  # noqa: E402
from livedesk.pipeline.syndication import index_keys, shingle_sequence, trace  # noqa: E402
from livedesk.store import Store  # noqa: E402
from livedesk.store.schema import articles  # noqa: E402
from livedesk.store.syndication import syndication_bands  # noqa: E402
from livedesk.urls import registrable_domain  # noqa: E402
from tests import factories  # noqa: E402

T0 = datetime(2026, 3, 1, tzinfo=UTC)
FURNITURE = [
    "Follow us on social media for the latest updates.",
    "Read more: the top stories of the day, hand-picked by our editors.",
    "Sign up for our newsletter and never miss a story.",
    "Advertisement. Scroll down to continue reading.",
    "Share this article with your friends and family.",
    "Download our app to get breaking news alerts straight to your phone.",
    "Got a news tip? Send it to our newsroom, we read every message.",
    "Comments are closed for this article. Join the conversation on our forum.",
    "This article was automatically imported from a partner site and has not been edited by our staff.",
]
# Furniture the extractor missed is the aggregator's own template: the same few lines on every page of a site.
AGGREGATORS = {
    f"www.aggregator-{n}.example": (FURNITURE[n % len(FURNITURE)], FURNITURE[(n * 4 + 1) % len(FURNITURE)])
    for n in range(12)
}
VARIANTS = (
    "truncated",
    "dropped paragraph",
    "reordered",
    "new headline",
    "typos",
    "boilerplate",
    "no attribution",
    "combined",
)


@dataclass(frozen=True)
class Item:
    key: str
    article: Article
    original: str | None = None  # key of the original, for a copy
    variant: str = "original"


# -- the labelled set ------------------------------------------------------------------------------------------


def demo_items(rng: random.Random) -> list[Item]:
    """The demo corpus, rendered and extracted; some originals get a quote from another original of their story."""
    extracted = {}
    stories: dict[str, list[str]] = defaultdict(list)
    truth = {}
    for demo, url, body in DemoSite().pages():
        extracted[demo.slug] = extract(Page(url=url, body=body, fetched_at=T0))
        truth[demo.slug] = demo
        if not demo.is_copy:
            stories[demo.story].append(demo.slug)
    quoted: dict[str, Article] = {}
    for slugs in stories.values():
        for speaker, listener in itertools.pairwise(slugs):
            quoted[listener] = with_quote(extracted[listener], extracted[speaker].text, rng)
    items = []
    for slug, article in extracted.items():
        demo = truth[slug]
        if demo.is_copy:
            kind = "demo copy, unattributed" if demo.attributed_to is None else "demo copy"
            kind = "demo copy, canonical" if demo.canonical_to_original else kind
            items.append(Item(slug, article, demo.original_slug, "demo truncated" if demo.truncated else kind))
        elif slug in quoted:
            items.append(Item(slug, quoted[slug], None, "original sharing a quote"))
        else:
            items.append(Item(slug, article))
    return items


def with_quote(article: Article, other_text: str, rng: random.Random) -> Article:
    """`article` with one sentence of `other_text` quoted in one of its paragraphs."""
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", other_text.replace("\n\n", " ")) if len(s.split()) >= 8]
    paragraphs = article.text.split("\n\n")
    at = rng.randrange(len(paragraphs))
    paragraphs[at] += f" “{rng.choice(sentences).rstrip('.')},” the statement said."
    return _with_text(article, "\n\n".join(paragraphs))


def ecb_items(folder: Path) -> list[Item]:
    """ECB+ documents as originals: two sentences to a paragraph, the first sentence (or headline) as title.

    Some ECB+ documents are themselves one wire report carried by two outlets. Labelling those as distinct
    originals would be wrong, so a document sharing long passages with one already taken from its topic is
    left out (word-sequence alignment, a criterion independent of the one measured).
    """
    items = []
    taken: dict[str, list[list[str]]] = defaultdict(list)  # topic → words of the documents taken
    for number, path in enumerate(sorted(folder.glob("*/*.xml"))):
        sentences: dict[int, list[str]] = defaultdict(list)
        for token in ElementTree.parse(path).getroot().iter("token"):
            sentences[int(token.get("sentence", "0"))].append(token.text or "")
        lines = [" ".join(words) for _, words in sorted(sentences.items())]
        if path.stem.endswith("ecbplus") and lines:
            source = lines.pop(0).replace(" ", "")  # sentence 0 is the page's URL
            site = registrable_domain(source) if "." in source else f"outlet-{number % 40}.example"
        else:
            site = f"outlet-{number % 40}.example"
        if len(lines) < 3:
            continue
        title, body = lines[0], lines[1:]
        words = " ".join(body).lower().split()
        topic = path.parent.name
        if any(_shares_passages(words, other) for other in taken[topic]):
            continue
        taken[topic].append(words)
        paragraphs = [" ".join(body[i : i + 2]) for i in range(0, len(body), 2)]
        url = f"https://{site}/ecb/{path.stem}"
        published = T0 + timedelta(hours=number)
        items.append(Item(f"ecb:{path.stem}", make_article(url, title, "\n\n".join(paragraphs), published)))
    return items


def _shares_passages(a: list[str], b: list[str]) -> bool:
    """A fifth of the shorter document lies in runs of 12+ words found verbatim in the other."""
    blocks = difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks()
    return sum(block.size for block in blocks if block.size >= 12) >= 0.2 * min(len(a), len(b))


def make_article(
    url: str, title: str, text: str, published: datetime | None, attributed_to: str | None = None
) -> Article:
    return factories.make_article(
        url,
        text,
        title=title,
        html="",
        first_seen_at=T0,
        published_at=published,
        attributed_to=attributed_to,
        language="en",
    )


def _with_text(article: Article, text: str) -> Article:
    return replace(article, text=text, content_hash=content_hash(text))


def typos(text: str, rng: random.Random, rate: float = 0.03) -> str:
    def mutate(word: str) -> str:
        if len(word) < 4 or rng.random() > rate:
            return word
        i = rng.randrange(1, len(word) - 1)
        return rng.choice([word[:i] + word[i + 1 :], word[:i] + word[i + 1] + word[i] + word[i + 2 :], word + "s"])

    return "\n\n".join(" ".join(mutate(w) for w in p.split(" ")) for p in text.split("\n\n"))


def variant(original: Item, kind: str, number: int, rng: random.Random) -> Item:
    """A copy of `original` on an aggregator, changed the way `kind` says."""
    source = original.article
    paragraphs = source.text.split("\n\n")
    title = source.title
    if kind in ("truncated", "combined"):
        paragraphs = paragraphs[: max(1, len(paragraphs) // 4)]
    if kind == "dropped paragraph" and len(paragraphs) > 2:
        del paragraphs[rng.randrange(1, len(paragraphs))]
    if kind == "reordered":
        rng.shuffle(paragraphs)
    if kind in ("new headline", "combined"):
        title = f"{rng.choice(['WATCH', 'JUST IN', 'Update', 'Explained'])}: {title.lower()}"
    text = "\n\n".join(paragraphs)
    if kind in ("typos", "combined"):
        text = typos(text, rng)
    aggregator = rng.choice(list(AGGREGATORS))
    if kind in ("boilerplate", "combined"):
        header, footer = AGGREGATORS[aggregator]
        text = "\n\n".join([header, text, footer])
    credited = None if kind == "no attribution" or rng.random() < 0.5 else f"www.{source.site.removeprefix('www.')}"
    delay = timedelta(minutes=rng.randrange(10, 720))
    # A few aggregator pages carry no date at all.
    published = None if rng.random() < 0.1 or source.published_at is None else source.published_at + delay
    url = f"https://{aggregator}/p/{number}-{re.sub(r'[^a-z0-9]+', '-', title.lower())[:60]}"
    return Item(f"copy:{number}", make_article(url, title, text, published, credited), original.key, kind)


def labelled_set(data: Path, seed: int) -> list[Item]:
    rng = random.Random(seed)
    items = demo_items(rng)
    ecb = data / "ecbplus" / "ECB+_LREC2014" / "ECB+"
    if ecb.is_dir():
        items += ecb_items(ecb)
    originals = [item for item in items if item.original is None]
    copies = [
        variant(original, kind, number, rng)
        for number, (original, kind) in enumerate(
            (original, kind) for original in originals for kind in rng.sample(VARIANTS, 2)
        )
    ]
    return items + copies


# -- measuring -------------------------------------------------------------------------------------------------


@dataclass
class Scores:
    predicted: set[tuple[str, str]]
    gold: set[tuple[str, str]]
    seconds: float
    count: int

    @property
    def precision(self) -> float:
        return len(self.predicted & self.gold) / len(self.predicted) if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return len(self.predicted & self.gold) / len(self.gold) if self.gold else 1.0


def run(items: list[Item], seed: int) -> Scores:
    order = list(items)
    random.Random(seed).shuffle(order)
    with tempfile.TemporaryDirectory() as folder, Store.open(f"{folder}/bench.db") as store:
        keys: dict[int, str] = {}
        started = time.perf_counter()
        for n, item in enumerate(order):
            article = replace(item.article, first_seen_at=T0 + timedelta(seconds=n))
            if store.upsert_article(article).outcome is UpsertOutcome.DUPLICATE:
                continue
            stored = store.get_article(article.url_hash)
            assert stored is not None
            keys[stored.id] = item.key
            trace(store, stored)
        seconds = time.perf_counter() - started
        predicted = set()
        for stored in store.iter_articles():
            original_id = _original_id(store, stored.id)
            if original_id is not None:
                predicted.add((keys[stored.id], keys[original_id]))
    gold = {(item.key, item.original) for item in items if item.original is not None}
    return Scores(predicted, gold, seconds, len(order))


def _original_id(store: Store, article_id: int) -> int | None:
    members = store.syndication_group(article_id)
    return next((m.original_id for m in members if m.id == article_id), None)


def report(items: list[Item], scores: Scores, console: Console) -> None:
    by_key = {item.key: item for item in items}
    table = Table(title=f"copy → original links ({len(items)} articles, {len(scores.gold)} gold pairs)")
    for column in ("variant", "gold pairs", "found", "recall"):
        table.add_column(column, justify="left" if column == "variant" else "right")
    found_by: Counter[str] = Counter(by_key[copy].variant for copy, _ in scores.predicted & scores.gold)
    gold_by: Counter[str] = Counter(by_key[copy].variant for copy, _ in scores.gold)
    for kind, total in sorted(gold_by.items()):
        table.add_row(kind, str(total), str(found_by[kind]), f"{found_by[kind] / total:.3f}")
    console.print(table)
    wrong = sorted(scores.predicted - scores.gold)
    for copy, original in wrong[:20]:
        console.print(f"  false link: {copy} ({by_key[copy].variant}) → {original} ({by_key[original].variant})")
    missed = sorted(scores.gold - scores.predicted)
    for copy, original in missed[:20]:
        console.print(f"  missed: {copy} ({by_key[copy].variant}) → {original}")
    console.print(
        f"precision {scores.precision:.4f} (bar 0.99)   recall {scores.recall:.4f} (bar 0.95)   "
        f"{len(scores.predicted)} links predicted, {len(wrong)} wrong, {len(missed)} missed   "
        f"{scores.count / scores.seconds:.0f} articles/s (upsert + trace, SQLite)"
    )


# -- flat cost -------------------------------------------------------------------------------------------------

TIMED = 1_000


def synthetic_texts(count: int, rng: np.random.Generator) -> Iterator[str]:
    """News-sized texts over a Zipf-distributed vocabulary, so that frequent words and phrases recur."""
    syllables = np.array(["ka", "lo", "mi", "ren", "tu", "sa", "vel", "do", "pri", "an", "es", "mor", "qui", "zen"])
    vocabulary = ["".join(rng.choice(syllables, size=rng.integers(1, 4))) for _ in range(30_000)]
    for _ in range(count):
        ranks = np.minimum(rng.zipf(1.3, size=320), len(vocabulary)) - 1
        words = [vocabulary[r] for r in ranks]
        yield "\n\n".join(" ".join(words[i : i + 40]) for i in range(0, len(words), 40))


def bulk_fill(store: Store, count: int, rng: np.random.Generator, batch: int = 2_000) -> list[str]:
    """Load `count` articles with their band keys straight into the tables; returns their texts' first halves."""
    leads = []
    texts = synthetic_texts(count, rng)
    for start in range(0, count, batch):
        rows, bands = [], []
        for n in range(start, min(start + batch, count)):
            text = next(texts)
            if n % 100 == 0:
                leads.append("\n\n".join(text.split("\n\n")[:4]))
            article = make_article(f"https://www.filler-{n % 50}.example/a/{n}", f"Filler {n}", text, T0)
            rows.append({**vars(article), "id": n + 1, "updated_at": T0})
            bands += [{"band_key": k, "article_id": n + 1} for k in set(index_keys(shingle_sequence(text)))]
        with store._engine.begin() as connection:
            connection.execute(articles.insert(), rows)
            connection.execute(syndication_bands.insert(), bands)
    if store.dialect == "postgresql":
        with store._engine.begin() as connection:
            connection.exec_driver_sql("SELECT setval('articles_id_seq', (SELECT max(id) FROM articles))")
    return leads


def flat_cost(scale: int, seed: int, console: Console) -> None:
    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory() as folder, Store.open(f"{folder}/scale.db") as store:
        started = time.perf_counter()
        leads = bulk_fill(store, scale, rng)
        filled = time.perf_counter() - started
        new = list(synthetic_texts(TIMED // 2, rng))
        copies = [leads[int(i)] for i in rng.integers(0, len(leads), TIMED - len(new))]
        timings, linked = [], 0
        for n, text in enumerate(new + copies):
            article = make_article(f"https://www.timed.example/a/{n}", f"Timed {n}", text, T0 + timedelta(hours=1))
            begin = time.perf_counter()
            store.upsert_article(article)
            stored = store.get_article(article.url_hash)
            assert stored is not None
            linked += len(trace(store, stored).member_ids) > 1
            timings.append(time.perf_counter() - begin)
    ms = np.array(timings) * 1000
    console.print(
        f"{scale:>9,} stored (loaded in {filled:.0f} s): {TIMED / ms.sum() * 1000:.0f} articles/s, "
        f"per article p50 {np.percentile(ms, 50):.2f} ms, p99 {np.percentile(ms, 99):.2f} ms; "
        f"{linked} of {len(copies)} copies linked"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/benchmarks"), help="benchmarks folder")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--scale", type=int, action="append", default=[], help="stored articles before timing")
    args = parser.parse_args()
    data = args.data if args.data.is_absolute() else REPO / args.data
    console = Console()
    items = labelled_set(data, args.seed)
    scores = run(items, args.seed)
    report(items, scores, console)
    for scale in args.scale:
        flat_cost(scale, args.seed, console)
    return 0 if scores.precision >= 0.99 and scores.recall >= 0.95 else 1


if __name__ == "__main__":
    sys.exit(main())
