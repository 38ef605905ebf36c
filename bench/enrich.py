"""The enrich stage: NER speed (title + lead vs full text), the whole stage's throughput and its share of ingest,
lead-vs-full-text entity recall, and entities as a story-clustering signal on ECB+.

    python bench/enrich.py [--data ../shared/benchmarks] [--limit N] [--seeds 0 1 2] [--entity-weight W]

Speed: the demo corpus and ECB+ documents through the NER-only pipeline (title + lead, full text), the parser
pipeline over the full text, and the claim extraction as the stage runs it (only cue sentences parsed).
Stage share: the scrapinghub pages are ingested from a WARC exactly as bench/ingest.py does, then `enrich_many`
runs over the stored articles, and `enrich` one article at a time as the ingest calls it; their time is compared
with the ingest's.
Clustering: ECB+ as in bench/stories.py, once as is and once with each document's entity names (NER on title +
lead, folded by `resolve`) prepended to its text as one capitalised token each, `--entity-weight` times.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from ingest import load_pages, time_livedesk, write_warc  # noqa: E402
from stories import DEFAULT, Doc, ecb_documents, run_ecb  # noqa: E402

from livedesk.demo.corpus import corpus  # noqa: E402
from livedesk.pipeline.enrich import enrich, enrich_many  # noqa: E402
from livedesk.pipeline.enrich.claims import claims_in_texts  # noqa: E402
from livedesk.pipeline.enrich.entities import LEAD_WORDS, mentions, ner_text, resolve  # noqa: E402
from livedesk.pipeline.enrich.nlp import load_pipeline  # noqa: E402
from livedesk.store import Store  # noqa: E402

console = Console()
ECB = Path("ecbplus") / "ECB+_LREC2014" / "ECB+"


def documents(data: Path, limit: int | None) -> list[tuple[str, str]]:
    docs = [(a.title, a.text) for a in corpus()]
    docs += [(d.title, d.text) for d in ecb_documents(data / ECB)]
    return docs[:limit] if limit else docs


def report_speed(docs: list[tuple[str, str]]) -> None:
    ner, parse = load_pipeline(), load_pipeline(parser=True)
    texts = [b for _t, b in docs]
    modes: list[tuple[str, list[str], Callable[[list[str]], object]]] = [
        (f"NER, title + {LEAD_WORDS}-word lead", [ner_text(t, b) for t, b in docs], lambda x: list(ner.pipe(x))),
        ("NER, full text", [ner_text(t, b, 10**9) for t, b in docs], lambda x: list(ner.pipe(x))),
        ("parse, full text", texts, lambda x: list(parse.pipe(x))),
        ("claims: cue sentences parsed + rules", texts, lambda x: claims_in_texts(parse, x)),
    ]
    table = Table("pipeline", "articles", "words", "s", "words/s", "articles/s", title="spaCy throughput (nlp.pipe)")
    for label, inputs, run in modes:
        run(inputs[:20])  # warm
        words = sum(len(t.split()) for t in inputs)
        start = time.perf_counter()
        run(inputs)
        seconds = time.perf_counter() - start
        table.add_row(
            label,
            str(len(inputs)),
            str(words),
            f"{seconds:.1f}",
            f"{words / seconds:,.0f}",
            f"{len(inputs) / seconds:.1f}",
        )
    console.print(table)


def report_lead_recall(docs: list[tuple[str, str]]) -> None:
    """Share of the entities NER finds in the full text that the title + lead already finds."""
    ner = load_pipeline()

    def found(texts: list[str]) -> list[dict[tuple[str, str], int]]:
        return [{(r.key, r.type): r.count for r in resolve(mentions(d.ents))} for d in ner.pipe(texts, batch_size=64)]

    full = found([ner_text(t, b, 10**9) for t, b in docs])
    table = Table("lead words", "recall, all", "recall, named ≥ 2 times", title="title + lead vs full-text entities")
    for words in (100, 150, 200, 250, 300):
        lead = found([ner_text(t, b, words) for t, b in docs])
        every = sum(len(set(g) & set(f)) for g, f in zip(lead, full, strict=True)) / sum(map(len, full))
        salient = [{k for k, n in f.items() if n >= 2} for f in full]
        repeated = sum(len(set(g) & s) for g, s in zip(lead, salient, strict=True)) / max(1, sum(map(len, salient)))
        table.add_row(str(words), f"{every:.3f}", f"{repeated:.3f}")
    console.print(table)


def report_stage_share(data: Path, limit: int | None) -> None:
    pages = load_pages(data, limit)
    with tempfile.TemporaryDirectory() as tmp:
        warc = Path(tmp) / "pages.warc.gz"
        write_warc(warc, pages)
        time_livedesk(warc, Path(tmp) / "warm.db")
        ingest_seconds, _ = time_livedesk(warc, Path(tmp) / "run.db")
        with Store.open(str(Path(tmp) / "run.db")) as store:
            stored = list(store.iter_articles())
            load_pipeline(), load_pipeline(parser=True)  # loaded once per process, outside the timings
            start = time.perf_counter()
            results = list(enrich_many(store, stored))
            batched_seconds = time.perf_counter() - start
            start = time.perf_counter()
            for article in stored:
                enrich(store, article)
            single_seconds = time.perf_counter() - start
    n = len(stored)
    table = Table(
        "part", "articles", "s", "articles/s", "share", title="enrich vs the rest of the ingest (one process)"
    )
    total = ingest_seconds + single_seconds  # the ingest with enrich called per article, as it runs
    parts = [
        ("ingest without enrich (WARC → store)", ingest_seconds, f"{ingest_seconds / total:.0%}"),
        ("enrich per article (as the ingest calls it)", single_seconds, f"{single_seconds / total:.0%}"),
        (
            "enrich_many (batched, backfill)",
            batched_seconds,
            f"{batched_seconds / (ingest_seconds + batched_seconds):.0%}",
        ),
    ]
    for label, seconds, share in parts:
        table.add_row(label, str(n), f"{seconds:.1f}", f"{n / seconds:.1f}", share)
    console.print(table)
    console.print(
        f"entity links {sum(r.entities for r in results)}, ledger entries {sum(r.claims for r in results)}; "
        f"end-to-end with per-article enrich: {n / total:.1f} articles/s"
    )


def with_entities(docs: list[Doc], weight: int) -> list[Doc]:
    ner = load_pipeline()
    augmented = []
    for doc, parsed in zip(docs, ner.pipe((ner_text(d.title, d.text) for d in docs), batch_size=64), strict=True):
        tokens = ["".join(r.key.split()).capitalize() for r in resolve(mentions(parsed.ents)) if r.key.isascii()]
        prefix = " ".join(tokens * weight)
        augmented.append(Doc(doc.title, f"{prefix}\n\n{doc.text}" if prefix else doc.text, doc.gold))
    return augmented


def report_clustering(data: Path, seeds: list[int], weight: int) -> None:
    docs = ecb_documents(data / ECB)
    variants = {"stories as is": docs, f"+ entity terms ×{weight}": with_entities(docs, weight)}
    table = Table(
        "features", "event B³ P", "event B³ R", "event B³ F1", "topic B³ F1", "stories", title="ECB+ clustering"
    )
    for label, variant in variants.items():
        runs = [run_ecb(variant, seed, DEFAULT) for seed in seeds]
        event = [statistics.mean(r[0]["event"][i] for r in runs) for i in range(3)]
        topic = statistics.mean(r[0]["topic"][2] for r in runs)
        table.add_row(label, *(f"{v:.3f}" for v in event), f"{topic:.3f}", f"{statistics.mean(r[2] for r in runs):.0f}")
    console.print(table)
    console.print(f"{len(docs)} documents, seeds {seeds}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/benchmarks"))
    parser.add_argument("--limit", type=int, default=None, help="Documents (and pages) read, for a quick run.")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--entity-weight", type=int, default=1)
    parser.add_argument("--skip", choices=("speed", "recall", "share", "clustering"), nargs="*", default=[])
    args = parser.parse_args()
    data = args.data if args.data.is_absolute() else (REPO / args.data).resolve()
    docs = documents(data, args.limit)
    if "speed" not in args.skip:
        report_speed(docs)
    if "recall" not in args.skip:
        report_lead_recall(docs)
    if "share" not in args.skip:
        report_stage_share(data, args.limit)
    if "clustering" not in args.skip:
        report_clustering(data, args.seeds, args.entity_weight)


if __name__ == "__main__":
    main()
