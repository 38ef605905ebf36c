"""Story clustering quality on ECB+ and the demo corpus, and throughput as the store grows.

    python bench/stories.py [--data ../shared/benchmarks] [--seeds 0 1 2 3 4] [--threshold T]
    python bench/stories.py --entities [--entity-weight W ...]
    python bench/stories.py --demo
    python bench/stories.py --scale 10000 [--scale 100000 ...]

ECB+: each document is rebuilt from its tokens (sentence 0 of `ecbplus` files is the source URL and is dropped;
the first remaining sentence serves as the title), the documents are shuffled with each seed and sent through the
real `assign` on a temporary SQLite store, all with the same date (the corpus has none, so time plays no role).
B-cubed and pairwise precision/recall/F1 are scored against the 86 events (topic × ecb|ecbplus) and the 43 topics.
With --entities, the real NER of the enrich stage reads each document's title + lead once, and every seed is run
without entity names (entity_weight 0) and with them at each --entity-weight, as the ingest chain passes them.
Demo: the bundled corpus in time order, with NER's entity names as the ingest chain passes them, scored against
its story keys (copies are sent as plain articles, with no syndication link, which is the harder case).
Scale: N synthetic articles over many synthetic stories spread over time are assigned, then 1,000 more are timed.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from livedesk.models import Article  # noqa: E402
from livedesk.pipeline.enrich import entity_names  # noqa: E402
from livedesk.pipeline.enrich.entities import mentions, ner_text  # noqa: E402
from livedesk.pipeline.enrich.nlp import load_pipeline  # noqa: E402
from livedesk.pipeline.stories import DEFAULT, StorySettings, assign  # noqa: E402
from livedesk.store import Store  # noqa: E402
from tests.factories import make_article  # noqa: E402

DATE = datetime(2024, 1, 1, tzinfo=UTC)
TOKEN = re.compile(r'<token t_id="\d+" sentence="(\d+)" number="\d+">([^<]*)</token>')
ECB_FILE = re.compile(r"^(\d+)_\d+(ecb|ecbplus)\.xml$")


@dataclass(frozen=True)
class Doc:
    title: str
    text: str
    gold: tuple[Hashable, ...]  # labels at each level, coarse last
    names: tuple[str, ...] = ()  # entity names, as the enrich stage finds them before assignment


# -- corpora ---------------------------------------------------------------------------------------------------


def ecb_documents(root: Path) -> list[Doc]:
    docs = []
    for path in sorted(root.glob("*/*.xml")):
        match = ECB_FILE.match(path.name)
        if match is None:
            continue
        topic, part = match.groups()
        sentences: dict[int, list[str]] = {}
        for number, token in TOKEN.findall(path.read_text(encoding="utf-8")):
            sentences.setdefault(int(number), []).append(token)
        ordered = [" ".join(sentences[n]) for n in sorted(sentences) if not (part == "ecbplus" and n == 0)]
        docs.append(Doc(title=ordered[0], text="\n\n".join(ordered[1:]), gold=((topic, part), topic)))
    return docs


def with_names(docs: list[Doc]) -> tuple[list[Doc], float]:
    """The documents with their entity names, and NER's rate in documents/s."""
    start = time.perf_counter()
    parsed = load_pipeline().pipe((ner_text(d.title, d.text) for d in docs), batch_size=64)
    named = [replace(d, names=tuple(entity_names(mentions(p.ents)))) for d, p in zip(docs, parsed, strict=True)]
    return named, len(docs) / (time.perf_counter() - start)


def _article(n: int, title: str, text: str, at: datetime, site: str = "bench.example") -> Article:
    return make_article(f"https://{site}/{n}", text, title=title, html="", first_seen_at=at, published_at=at)


def cluster(
    store: Store, articles: Iterable[Article], settings: StorySettings, names: Sequence[Sequence[str]] = ()
) -> list[int]:
    """Store and assign each article in turn (with its entity `names`, if given); the story id of each."""
    ids = []
    for n, article in enumerate(articles):
        store.upsert_article(article)
        stored = store.get_article(article.url_hash)
        assert stored is not None
        ids.append(assign(store, stored, entity_names=names[n] if names else (), settings=settings))
    return ids


# -- scores ----------------------------------------------------------------------------------------------------


def bcubed(predicted: Sequence[Hashable], gold: Sequence[Hashable]) -> tuple[float, float, float]:
    pairs = Counter(zip(predicted, gold, strict=True))
    by_predicted, by_gold = Counter(predicted), Counter(gold)
    precision = sum(n * n / by_predicted[p] for (p, _), n in pairs.items()) / len(gold)
    recall = sum(n * n / by_gold[g] for (_, g), n in pairs.items()) / len(gold)
    return precision, recall, _f1(precision, recall)


def pairwise(predicted: Sequence[Hashable], gold: Sequence[Hashable]) -> tuple[float, float, float]:
    def same(counts: Iterable[int]) -> int:
        return sum(n * (n - 1) // 2 for n in counts)

    both = same(Counter(zip(predicted, gold, strict=True)).values())
    in_predicted, in_gold = same(Counter(predicted).values()), same(Counter(gold).values())
    precision = both / in_predicted if in_predicted else 1.0
    recall = both / in_gold if in_gold else 1.0
    return precision, recall, _f1(precision, recall)


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


# -- runs ------------------------------------------------------------------------------------------------------


def run_ecb(docs: list[Doc], seed: int, settings: StorySettings) -> tuple[dict[str, tuple[float, ...]], float, int]:
    order = docs[:]
    random.Random(seed).shuffle(order)
    articles = [_article(i, d.title, d.text, DATE) for i, d in enumerate(order)]
    with tempfile.TemporaryDirectory() as tmp, Store.open(f"{tmp}/bench.db") as store:
        start = time.perf_counter()
        predicted = cluster(store, articles, settings, [d.names for d in order])
        rate = len(articles) / (time.perf_counter() - start)
    scores = {}
    for level, name in enumerate(("event", "topic")):
        gold = [d.gold[level] for d in order]
        scores[name] = (*bcubed(predicted, gold), *pairwise(predicted, gold))
    return scores, rate, len(set(predicted))


def report_ecb(data: Path, seeds: list[int], settings: StorySettings, entity_weights: list[float] | None) -> None:
    """Scores per seed and their mean ± spread; with `entity_weights`, once without entity names and once at each
    weight."""
    docs = ecb_documents(data / "ecbplus" / "ECB+_LREC2014" / "ECB+")
    if not docs:
        raise SystemExit(f"no ECB+ documents under {data / 'ecbplus'}")
    print(f"ECB+: {len(docs)} documents, threshold {settings.threshold}")
    if entity_weights is None:
        report_runs(docs, seeds, settings)
        return
    docs, ner_rate = with_names(docs)
    print(f"NER on title + lead: {ner_rate:.0f} docs/s, {statistics.mean(len(d.names) for d in docs):.1f} names/doc")
    for weight in [0.0, *entity_weights]:
        print(f"\nentity_weight {weight:g}" + (" (no entity names)" if not weight else ""))
        report_runs(docs, seeds, replace(settings, entity_weight=weight))


def report_runs(docs: list[Doc], seeds: list[int], settings: StorySettings) -> None:
    header = "B3-P  B3-R  B3-F1  pw-P  pw-R  pw-F1"
    print(f"{'seed':>4} {'level':6} {header}  stories  docs/s")
    runs, rates = [], []
    for seed in seeds:
        scores, rate, n_stories = run_ecb(docs, seed, settings)
        runs.append(scores)
        rates.append(rate)
        for name, values in scores.items():
            print(f"{seed:>4} {name:6} " + "  ".join(f"{v:.3f}" for v in values) + f"  {n_stories:7d}  {rate:6.0f}")
    for name in ("event", "topic"):
        columns = list(zip(*(run[name] for run in runs), strict=True))
        means = [statistics.mean(c) for c in columns]
        spreads = [statistics.pstdev(c) for c in columns]
        print(f"mean {name:6} " + "  ".join(f"{m:.3f}±{s:.3f}" for m, s in zip(means, spreads, strict=True)))
    print(f"assign: {statistics.mean(rates):.0f} docs/s")


def report_demo(settings: StorySettings) -> None:
    from livedesk.demo.corpus import corpus

    demo = corpus()
    articles = [_article(i, a.title, a.text, a.published, a.outlet) for i, a in enumerate(demo)]
    # With the entity names NER finds, as the ingest chain passes them.
    named, _rate = with_names([Doc(a.title, a.text, (a.story,)) for a in demo])
    with tempfile.TemporaryDirectory() as tmp, Store.open(f"{tmp}/bench.db") as store:
        predicted = cluster(store, articles, settings, [d.names for d in named] if settings.entity_weight else ())
    gold = [a.story for a in demo]
    p, r, f = bcubed(predicted, gold)
    print(f"demo corpus: {len(demo)} articles, {len(set(gold))} stories, {len(set(predicted))} found")
    print(f"B-cubed P {p:.3f} R {r:.3f} F1 {f:.3f}; pairwise F1 {pairwise(predicted, gold)[2]:.3f}")


class Synthetic:
    """Articles of many synthetic stories over a large vocabulary: each story has its own name-like terms and
    numbers, drawn together with common words, and stays active for a few days."""

    def __init__(self, seed: int = 7, vocabulary: int = 200_000) -> None:
        self.random = random.Random(seed)
        self.vocabulary = vocabulary

    def word(self, rank: int) -> str:
        return f"w{rank:x}"

    def story_terms(self, story: int) -> list[str]:
        rng = random.Random(story)
        return [f"Name{story}x{k}" for k in range(4)] + [self.word(rng.randrange(self.vocabulary)) for _ in range(20)]

    def article(self, n: int, stories_per_day: int = 200) -> Article:
        rng = self.random
        day = n // (stories_per_day * 5)
        story = day * stories_per_day + rng.randrange(stories_per_day)
        own = self.story_terms(story)
        common = [self.word(int(rng.paretovariate(1.1)) % self.vocabulary) for _ in range(100)]
        words = [*rng.sample(own, 14), *common]
        rng.shuffle(words)
        title = " ".join(rng.sample(own, 6))
        at = DATE + timedelta(days=day, seconds=rng.randrange(86_400))
        return _article(n, title, " ".join(words) + ".", at, site=f"outlet{rng.randrange(50)}.example")


def report_scale(sizes: list[int], settings: StorySettings, timed: int = 1000) -> None:
    for size in sizes:
        synthetic = Synthetic()
        with tempfile.TemporaryDirectory() as tmp, Store.open(f"{tmp}/bench.db") as store:
            start = time.perf_counter()
            cluster(store, (synthetic.article(n) for n in range(size)), settings)
            fill = time.perf_counter() - start
            more = [synthetic.article(n) for n in range(size, size + timed)]
            start = time.perf_counter()
            cluster(store, more, settings)
            elapsed = time.perf_counter() - start
        print(
            f"{size:>9,} stored: {timed / elapsed:7.1f} articles/s for the next {timed} "
            f"(upsert + assign; filling took {fill:.0f} s, {size / fill:.0f}/s)"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/benchmarks"), help="benchmarks folder")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--threshold", type=float, default=DEFAULT.threshold)
    parser.add_argument("--entities", action="store_true", help="ECB+ without, then with NER's entity names")
    parser.add_argument(
        "--entity-weight", type=float, nargs="+", default=[DEFAULT.entity_weight or 1.0], help="with --entities"
    )
    parser.add_argument("--demo", action="store_true", help="score the demo corpus instead")
    parser.add_argument("--scale", type=int, action="append", help="throughput with N stored articles")
    args = parser.parse_args()
    settings = replace(DEFAULT, threshold=args.threshold)
    if args.scale:
        report_scale(args.scale, settings)
    elif args.demo:
        report_demo(settings)
    else:
        data = args.data if args.data.is_absolute() else REPO / args.data
        report_ecb(data, args.seeds, settings, args.entity_weight if args.entities else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
