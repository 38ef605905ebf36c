"""Extraction quality and speed: livedesk's extract() against bare trafilatura.extract() on the same pages.

Sets (under --data):
  scrapinghub-article-extraction  token-level 4-gram-shingle precision/recall/F1, macro over pages
  trafilatura-eval                "with"/"without" snippets found in the output, micro P/R/F1

Both extractors run on the same raw bytes, interleaved, in this one process. Usage:

    python bench/extract.py [--data ../shared/benchmarks] [--limit N] [--show-removed K]
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import trafilatura
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from livedesk.models import Page  # noqa: E402
from livedesk.pipeline.extract import ExtractError, extract_with_removed  # noqa: E402

FETCHED_AT = datetime(2024, 1, 1, tzinfo=UTC)


@dataclass
class Run:
    """What one extractor produced on one set."""

    texts: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class Livedesk(Run):
    removed: Counter[str] = field(default_factory=Counter)


def run_livedesk(run: Livedesk, url: str, html: bytes) -> None:
    start = time.perf_counter()
    try:
        article, removed = extract_with_removed(Page(url=url, body=html, fetched_at=FETCHED_AT))
        text = article.text
    except ExtractError:
        text, removed = "", ()
    run.seconds += time.perf_counter() - start
    run.texts.append(text)
    run.removed.update(removed)


def run_trafilatura(run: Run, _url: str, html: bytes) -> None:
    start = time.perf_counter()
    text = trafilatura.extract(html) or ""
    run.seconds += time.perf_counter() - start
    run.texts.append(text)


# -- scrapinghub: 4-gram shingles ----------------------------------------------------------------------------


def shingles(text: str) -> Counter[tuple[str, ...]]:
    tokens = re.findall(r"\w+", text)
    return Counter(tuple(tokens[i : i + 4]) for i in range(max(1, len(tokens) - 3)))


def shingle_scores(truths: list[str], predictions: list[str]) -> dict[str, float]:
    precisions, recalls, exact = [], [], 0
    for truth, prediction in zip(truths, predictions, strict=True):
        gold, pred = shingles(truth), shingles(prediction)
        tp = sum((gold & pred).values())
        fp = sum((pred - gold).values())
        fn = sum((gold - pred).values())
        if prediction.strip():
            precisions.append(tp / (tp + fp) if tp + fp else 1.0)
        if truth.strip():
            recalls.append(tp / (tp + fn) if tp + fn else 1.0)
        exact += re.findall(r"\w+", truth) == re.findall(r"\w+", prediction)
    precision = sum(precisions) / len(precisions) if precisions else 0.0
    recall = sum(recalls) / len(recalls) if recalls else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "accuracy": exact / len(truths) if truths else 0.0,
    }


def scrapinghub_pages(root: Path) -> Iterator[tuple[str, bytes, str]]:
    truth = json.loads((root / "ground-truth.json").read_text(encoding="utf-8"))
    for item_id, item in sorted(truth.items()):
        html = gzip.decompress((root / "html" / f"{item_id}.html.gz").read_bytes())
        yield item["url"], html, item["articleBody"]


# -- trafilatura-eval: snippets ------------------------------------------------------------------------------


def _normalize(text: str) -> str:
    return " ".join(text.split())


def snippet_scores(annotations: list[dict], predictions: list[str]) -> dict[str, float]:
    tp = fp = fn = tn = 0
    for annotation, prediction in zip(annotations, predictions, strict=True):
        output = _normalize(prediction)
        for snippet in annotation.get("with", []):
            found = _normalize(snippet) in output
            tp, fn = tp + found, fn + (not found)
        for snippet in annotation.get("without", []):
            found = _normalize(snippet) in output
            fp, tn = fp + found, tn + (not found)
    total = tp + fp + fn + tn
    return {
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / (tp + fn) if tp + fn else 0.0,
        "f1": 2 * tp / (2 * tp + fp + fn) if tp else 0.0,
        "accuracy": (tp + tn) / total if total else 0.0,
    }


def trafilatura_eval_pages(root: Path) -> Iterator[tuple[str, bytes, dict]]:
    tests = root / "tests"
    annotations = json.loads((tests / "evaldata.json").read_text(encoding="utf-8"))
    for url, annotation in annotations.items():
        path = tests / "cache" / f"{annotation['file']}.gz"
        if not path.exists():
            path = tests / "eval" / f"{annotation['file']}.gz"
        yield url, gzip.decompress(path.read_bytes()), annotation


# -- driver --------------------------------------------------------------------------------------------------

BenchSet = tuple[str, Callable[[Path], Iterator[tuple[str, bytes, object]]], Callable[..., dict[str, float]]]
SETS: list[BenchSet] = [
    ("scrapinghub-article-extraction", scrapinghub_pages, shingle_scores),
    ("trafilatura-eval", trafilatura_eval_pages, snippet_scores),
]


# One-time set-up (language model, date-parser locale tables, stop lists) is paid before timing starts: a page
# whose only date is in running text, long enough for language identification.
WARM_UP_PAGE = (
    "<html><body><article><h1>Warm-up</h1>"
    + "<p>Published on 3 March 2021. The committee met on Tuesday to discuss the budget for next year.</p>" * 8
    + "</article></body></html>"
).encode()


def warm_up() -> None:
    run_livedesk(Livedesk(), "https://example.org/warm-up", WARM_UP_PAGE)
    run_trafilatura(Run(), "https://example.org/warm-up", WARM_UP_PAGE)


def bench_set(root: Path, pages: Callable, score: Callable, limit: int | None) -> tuple[dict, dict, Livedesk]:
    ours, bare, gold = Livedesk(), Run(), []
    for index, (url, html, truth) in enumerate(pages(root)):
        if limit is not None and index >= limit:
            break
        gold.append(truth)
        # Alternate who goes first so neither profits from warm caches.
        runners = [(run_livedesk, ours), (run_trafilatura, bare)]
        for runner, run in runners if index % 2 == 0 else reversed(runners):
            runner(run, url, html)
    ours_result = score(gold, ours.texts) | {"pages": len(gold), "seconds": ours.seconds}
    bare_result = score(gold, bare.texts) | {"pages": len(gold), "seconds": bare.seconds}
    return ours_result, bare_result, ours


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/benchmarks", help="benchmarks folder (relative: to the repo)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N pages of each set")
    parser.add_argument("--show-removed", type=int, default=0, metavar="K", help="print the K most removed lines")
    args = parser.parse_args()
    data = Path(args.data) if Path(args.data).is_absolute() else (REPO / args.data).resolve()
    console = Console(width=max(Console().width, 110))  # the table stays readable when piped
    table = Table(title="Extraction: livedesk vs bare trafilatura (same pages, same process)")
    for column in ("set", "extractor", "pages", "F1", "precision", "recall", "accuracy", "pages/s"):
        table.add_column(column, justify="left" if column in ("set", "extractor") else "right")
    removed: Counter[str] = Counter()
    verdicts = []
    warm_up()
    for name, pages, score in SETS:
        root = data / name
        if not root.exists():
            console.print(f"[yellow]skipped {name}: {root} not found[/]")
            continue
        ours, bare, livedesk_run = bench_set(root, pages, score, args.limit)
        removed.update(livedesk_run.removed)
        for label, result in (("livedesk", ours), ("trafilatura", bare)):
            table.add_row(
                name,
                label,
                str(result["pages"]),
                f"{result['f1']:.4f}",
                f"{result['precision']:.4f}",
                f"{result['recall']:.4f}",
                f"{result['accuracy']:.4f}",
                f"{result['pages'] / result['seconds']:.1f}" if result["seconds"] else "-",
            )
        verdicts.append((name, ours["f1"] >= bare["f1"]))
    console.print(table)
    console.print(f"furniture/attribution lines removed by livedesk: {sum(removed.values())}")
    for line, count in removed.most_common(args.show_removed):
        console.print(f"  {count:5d}  {line[:100]}", markup=False, highlight=False)
    for name, ok in verdicts:
        console.print(f"{name}: livedesk F1 {'≥' if ok else '<'} trafilatura F1 — {'PASS' if ok else 'FAIL'}")
    return 0 if verdicts and all(ok for _, ok in verdicts) else 1


if __name__ == "__main__":
    raise SystemExit(main())
