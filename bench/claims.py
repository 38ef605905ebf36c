"""Claim extraction: precision/recall of (attributed_to, cue) pairs, status accuracy, and sentences/s.

Sentences go through `claims_in_texts`, as in the enrich stage: only those holding a cue word are parsed.

    python bench/claims.py [--data bench/data/claims.jsonl] [--repeat 5]

The labelled set (bench/data/claims.jsonl, written for livedesk, one sentence a line) covers every cue type,
sentences with no claim, and sentences whose status the text states. Each line:
`{"text", "claims": [{"attributed_to", "cue", "status", "stated"}]}`; `stated` is true where the text itself
says how solid the claim is (a denial, a hedge, "has not independently confirmed", …).

A predicted claim matches a labelled one of the same sentence when the cue is exactly the same canonical cue
and the sources name the same thing: after lower-casing and dropping leading articles, one contains the other
or their last words (the head nouns) are equal. Each labelled claim matches at most one prediction.
Status accuracy is over the matched pairs whose status is stated (and, for reference, over all matched pairs).
Bars: recall ≥ 0.85, precision ≥ 0.85.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from livedesk.pipeline.enrich.claims import Claim, claims_in_texts, extract_claims  # noqa: E402
from livedesk.pipeline.enrich.nlp import load_pipeline  # noqa: E402

_ARTICLES = re.compile(r"^(the|a|an)\s+")


@dataclass(frozen=True)
class Labelled:
    attributed_to: str
    cue: str
    status: str
    stated: bool


def normalise_source(source: str) -> str:
    text = re.sub(r"[^\w\s]", " ", source.lower())
    return _ARTICLES.sub("", re.sub(r"\s+", " ", text).strip())


def same_source(predicted: str, labelled: str) -> bool:
    p, g = normalise_source(predicted), normalise_source(labelled)
    if not p or not g:
        return False
    return p in g or g in p or p.split()[-1] == g.split()[-1]


def match(predicted: list[Claim], labelled: list[Labelled]) -> list[tuple[Claim, Labelled]]:
    pairs: list[tuple[Claim, Labelled]] = []
    free = list(predicted)
    for gold in labelled:
        hit = next((p for p in free if p.cue == gold.cue and same_source(p.attributed_to, gold.attributed_to)), None)
        if hit is not None:
            free.remove(hit)
            pairs.append((hit, gold))
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("bench/data/claims.jsonl"), help="labelled sentences")
    parser.add_argument("--repeat", type=int, default=5, help="passes over the set for the speed figure")
    parser.add_argument("--verbose", action="store_true", help="print every miss and false alarm")
    args = parser.parse_args()
    path = args.data if args.data.is_absolute() else REPO / args.data
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts = [row["text"] for row in rows]
    gold = [[Labelled(**c) for c in row["claims"]] for row in rows]

    nlp = load_pipeline(parser=True)
    predicted = claims_in_texts(nlp, texts)

    n_pred = sum(map(len, predicted))
    n_gold = sum(map(len, gold))
    matched = 0
    status_ok = status_all_ok = stated = 0
    for text, pred, labels in zip(texts, predicted, gold, strict=True):
        pairs = match(pred, labels)
        matched += len(pairs)
        for p, g in pairs:
            status_all_ok += p.status == g.status
            if g.stated:
                stated += 1
                status_ok += p.status == g.status
        if args.verbose and (len(pairs) != len(labels) or len(pairs) != len(pred)):
            print(f"- {text}\n    labelled: {[(g.attributed_to, g.cue, g.status) for g in labels]}")
            print(f"    found:    {[(p.attributed_to, p.cue, p.status) for p in pred]}")

    start = time.perf_counter()
    for _ in range(args.repeat):
        claims_in_texts(nlp, texts)
    elapsed = time.perf_counter() - start
    docs = list(nlp.pipe(texts))
    rules_start = time.perf_counter()
    for _ in range(args.repeat):
        for doc in docs:
            extract_claims(doc)
    rules_elapsed = time.perf_counter() - rules_start

    precision = matched / n_pred if n_pred else 1.0
    recall = matched / n_gold if n_gold else 1.0
    print(f"sentences: {len(texts)} ({sum(1 for g in gold if not g)} with no claim); labelled claims: {n_gold}")
    print(f"(attributed_to, cue): precision {precision:.3f}  recall {recall:.3f}  ({matched} matched, {n_pred} found)")
    print(f"status accuracy where the text states it: {status_ok}/{stated} = {status_ok / max(stated, 1):.3f}")
    print(f"status accuracy over all matched claims: {status_all_ok}/{matched} = {status_all_ok / max(matched, 1):.3f}")
    print(
        f"speed: {len(texts) * args.repeat / elapsed:.0f} sentences/s cue filter + parse + rules; "
        f"{len(texts) * args.repeat / rules_elapsed:.0f} sentences/s rules alone"
    )
    bars = recall >= 0.85 and precision >= 0.85
    print("bars (recall ≥ 0.85, precision ≥ 0.85):", "met" if bars else "NOT met")


if __name__ == "__main__":
    main()
